import Foundation
import Testing
@testable import FocusQueue
@testable import FocusQueuePostgres

/// What only the PostgreSQL queue has: its migrations, its claim plan, claims that skip locked
/// rows, LISTEN/NOTIFY wake-ups, and clear errors for a server that cannot be used.
@Suite struct PostgresQueueTests {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func embeddedMigrationsMatchSchemaFiles() throws {
        let folder = Self.packageRoot.appendingPathComponent("schema/postgres")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(!files.isEmpty)
        #expect(files == PostgresMigrations.all.map(\.fileName),
                "schema/postgres/*.sql and PostgresMigrations+Generated.swift differ: run schema/embed.sh")
        for (file, migration) in zip(files, PostgresMigrations.all) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(text == migration.sql, "\(file) differs from its embedded copy: run schema/embed.sh")
        }
        #expect(PostgresMigrations.all.map(\.version) == Array(1...PostgresMigrations.all.count))
    }

    @Test("migrations apply once, create the tables and the psql views, and record the version")
    func migrationsApplyOnce() throws {
        let location = try TestPostgres.database()
        defer { try? TestPostgres.server.get().dropDatabase(location) }
        let queue = try PostgresJobQueue(location: location)
        #expect(try queue.schemaVersion() == PostgresMigrations.latestVersion)
        #expect(try PostgresMigrations.migrate(queue.session).isEmpty)
        let names = try queue.session.query("""
            SELECT table_name::text AS name FROM information_schema.tables
            WHERE table_schema = 'public' ORDER BY table_name
            """).compactMap { $0.string("name") }
        #expect(names == ["document_holders", "document_texts", "documents", "focus_migrations", "job_metrics",
                          "job_summary", "jobs", "queue_depth", "results", "throughput_by_day_mode", "worker_documents",
                          "workers"])
    }

    @Test("a database of a newer schema is refused, and left as it was")
    func newerSchemaIsRefused() throws {
        let location = try TestPostgres.database()
        defer { try? TestPostgres.server.get().dropDatabase(location) }
        let queue = try PostgresJobQueue(location: location)
        try queue.session.query("INSERT INTO focus_migrations (version, file_name) VALUES (99, '099_future.sql')")
        #expect(throws: QueueError.schemaTooNew(path: location.description, found: 99,
                                                supported: PostgresMigrations.latestVersion)) {
            try PostgresJobQueue(location: location)
        }
        #expect(try queue.schemaVersion() == 99)
        #expect(try queue.session.query("SELECT version FROM focus_migrations").count == PostgresMigrations.all.count + 1)
    }

    @Test("the mode column follows the settings' decoding mode, on insert and on change, as in SQLite")
    func modeFollowsSettings() throws {
        let fixture = try BackendFixture(.postgres)
        defer { fixture.remove() }
        let queue = try #require(fixture.queue as? PostgresJobQueue)
        let document = try fixture.addDocument()
        let id = try queue.submit(NewJob(documentID: document, question: "q?", modelDir: "m", mode: "focus",
                                         modeParams: #"{"decoding":{"mode":"stored"}}"#)).jobID
        #expect(try queue.show(jobID: id).job.mode == "stored")
        try queue.session.query("UPDATE jobs SET mode = 'vanilla' WHERE id = $1", [id])
        #expect(try queue.show(jobID: id).job.mode == "stored")
        try queue.session.query(#"UPDATE jobs SET mode_params = '{"decoding":{"mode":"cached"}}' WHERE id = $1"#, [id])
        #expect(try queue.show(jobID: id).job.mode == "cached")
        let opaque = try fixture.addJobs(1, documentID: document)
        #expect(try queue.show(jobID: opaque[0]).job.mode == "focus", "settings without a decoding mode keep theirs")
    }

    @Test("the claim walks the partial index jobs_claim and locks with SKIP LOCKED")
    func claimIsServedByTheIndex() throws {
        let fixture = try BackendFixture(.postgres)
        defer { fixture.remove() }
        let queue = try #require(fixture.queue as? PostgresJobQueue)
        let document = try fixture.addDocument()
        try queue.session.query("""
            INSERT INTO jobs (document_id, question, model_dir, mode, state, next_attempt_at, created_at)
            SELECT $1, 'q' || n, 'm', 'focus', CASE WHEN n % 10 = 0 THEN 'queued' ELSE 'done' END, n, n
            FROM generate_series(1, 20000) AS n
            """, [document])
        try queue.session.query("ANALYZE jobs")
        let plan = try queue.session.query("EXPLAIN " + PostgresJobQueue.claimSQL(
            where: "state = 'queued' AND next_attempt_at <= $3", comparison: "=", limit: "1")
            .replacingOccurrences(of: "$1", with: "'w'").replacingOccurrences(of: "$2", with: "1e12::float8")
            .replacingOccurrences(of: "$3", with: "1e12::float8"))
            .compactMap { $0.string("QUERY PLAN") }.joined(separator: "\n")
        #expect(plan.contains("jobs_claim"), "\(plan)")
        #expect(plan.contains("LockRows"), "\(plan)")
        #expect(!plan.contains("Sort"), "\(plan)")
    }

    @Test("an idle worker sleeps on LISTEN and wakes on the NOTIFY of another connection's submit")
    func waitWakesOnSubmit() throws {
        let fixture = try BackendFixture(.postgres)
        defer { fixture.remove() }
        let document = try fixture.addDocument()
        let worker = fixture.queue
        let submitter = try fixture.openQueue()
        #expect(try worker.waitForChange(timeout: 5, pollInterval: 0.05, stopFlag: nil),
                "the first wait starts listening and returns at once")
        #expect(try !worker.waitForChange(timeout: 0.3, pollInterval: 0.05, stopFlag: nil))
        try fixture.addJobs(1, documentID: document)
        #expect(try !worker.waitForChange(timeout: 0.3, pollInterval: 0.05, stopFlag: nil),
                "its own submission does not wake it")
        let start = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            _ = try? submitter.addTestJobs(1, documentID: document, prefix: "later")
        }
        #expect(try worker.waitForChange(timeout: 10, pollInterval: 0.05, stopFlag: nil))
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test("the claim, complete and fail queries leave a stale worker fenced after a takeover")
    func lateCompletionAfterTakeoverIsRefused() throws {
        let fixture = try BackendFixture(.postgres)
        defer { fixture.remove() }
        try fixture.addJobs(1, documentID: try fixture.addDocument())
        let partitioned = try fixture.openQueue()
        let first = try #require(try partitioned.claim(workerID: "host-a:1:1", leaseSeconds: 30))
        fixture.clock.advance(by: 31)
        let second = try #require(try fixture.queue.claim(workerID: "host-b:2:2", leaseSeconds: 30))
        #expect(second.id == first.id && second.attempt == 2)
        #expect(try !partitioned.extendLease(jobID: first.id, owner: "host-a:1:1", attempt: 1, leaseSeconds: 30))
        #expect(try !partitioned.complete(jobID: first.id, owner: "host-a:1:1", attempt: 1, outcome: outcome("late")))
        #expect(try partitioned.fail(jobID: first.id, owner: "host-a:1:1", attempt: 1, error: "x") == .fenced)
        #expect(try fixture.queue.complete(jobID: second.id, owner: "host-b:2:2", attempt: 2, outcome: outcome("on time")))
        let details = try fixture.queue.show(jobID: first.id)
        #expect(details.result?.answer == "on time" && details.job.state == .done)
    }
}

/// Workers starting at once on a new database apply each migration once.
@Suite struct PostgresMigrationRaceTests {
    @Test("connections opening a new database at once all succeed, and the schema is applied once")
    func concurrentOpensMigrateOnce() throws {
        let location = try TestPostgres.database()
        defer { try? TestPostgres.server.get().dropDatabase(location) }
        let failures = MigrationFailures()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let queue = try PostgresJobQueue(location: location)
                _ = try queue.statusCounts()
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let queue = try PostgresJobQueue(location: location)
        #expect(try queue.session.query("SELECT version FROM focus_migrations").count == PostgresMigrations.all.count)
    }
}

/// Errors of the connections of one test, collected from several threads.
final class MigrationFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [String] = []

    func add(_ error: String) {
        lock.lock()
        errors.append(error)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return errors
    }
}
