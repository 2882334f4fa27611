import Foundation
import Testing
@testable import FocusQueue
import FocusSQLite

@Suite struct SchemaTests {
    /// The package root, from this file's location (Tests/FocusQueueTests/SchemaTests.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func embeddedMigrationsMatchSchemaFiles() throws {
        let schema = Self.packageRoot.appendingPathComponent("schema")
        let files = try FileManager.default.contentsOfDirectory(atPath: schema.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(!files.isEmpty)
        #expect(files == Migrations.all.map(\.fileName),
                "schema/*.sql and Migrations+Generated.swift differ: run schema/embed.sh")
        for (file, migration) in zip(files, Migrations.all) {
            let text = try String(contentsOf: schema.appendingPathComponent(file), encoding: .utf8)
            #expect(text == migration.sql, "\(file) differs from its embedded copy: run schema/embed.sh")
            #expect(Int(file.prefix(3)) == migration.version)
        }
        #expect(Migrations.all.map(\.version) == Array(1...Migrations.all.count))
    }

    @Test func migrationsApplyOnceAndRecordTheVersion() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database(path: directory.path("q.sqlite"))
        let applied = try Migrations.migrate(database)
        #expect(applied.count == Migrations.all.count)
        #expect(try database.userVersion() == Migrations.latestVersion)
        #expect(try Migrations.migrate(database).isEmpty)
        let tables = try database.fetchAll(
            "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name")
            .compactMap { $0.string("name") }
        #expect(tables == ["document_holders", "document_texts", "documents", "job_metrics", "job_summary", "jobs",
                           "queue_depth", "results", "throughput_by_day_mode", "worker_documents", "workers"])
        let strict = try database.fetchAll("SELECT name, strict FROM pragma_table_list "
            + "WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        #expect(strict.count == 7)
        #expect(strict.allSatisfy { $0.int("strict") == 1 })
    }

    @Test func connectionIsConfigured() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let database = fixture.queue.database
        #expect(try database.fetchOne("PRAGMA journal_mode")?.string("journal_mode") == "wal")
        #expect(try database.fetchOne("PRAGMA foreign_keys")?.int("foreign_keys") == 1)
        #expect(try database.fetchOne("PRAGMA synchronous")?.int("synchronous") == 1)
        #expect(try database.fetchOne("PRAGMA busy_timeout")?.int("timeout") == 5000)
    }

    @Test func newerSchemaIsRefusedUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("q.sqlite")
        do {
            let database = try Database(path: path)
            try Migrations.migrate(database)
            try database.execute("PRAGMA user_version = \(Migrations.latestVersion + 1)")
        }
        #expect(throws: QueueError.schemaTooNew(path: path, found: Migrations.latestVersion + 1,
                                                supported: Migrations.latestVersion)) {
            _ = try JobQueue(path: path)
        }
        let reopened = try Database(path: path)
        #expect(try reopened.userVersion() == Migrations.latestVersion + 1)
        let message = "\(QueueError.schemaTooNew(path: path, found: 2, supported: 1))"
        #expect(message.contains(path) && message.contains("newer"))
    }

    @Test func notADatabaseIsRefusedAndLeftUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("notes.sqlite")
        let bytes = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7 + 13) })
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: QueueError.notADatabase(path: path)) { _ = try JobQueue(path: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect("\(QueueError.notADatabase(path: path))".contains("\(path): file is not a database"))
    }

    @Test func claimWalksThePartialIndexWithoutSorting() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let general = JobQueue.claimSQL(
            where: "SELECT id FROM jobs WHERE state = 'queued' AND next_attempt_at <= ?3 "
                + "ORDER BY priority DESC, next_attempt_at, id LIMIT 1", comparison: "=")
        let byDocument = JobQueue.claimSQL(
            where: "SELECT id FROM jobs WHERE state = 'queued' AND document_id = ?4 "
                + "AND next_attempt_at <= ?3 ORDER BY priority DESC, next_attempt_at, id LIMIT ?5",
            comparison: "IN")
        let cases: [(sql: String, values: [DatabaseValueConvertible])] = [
            (general, ["w", 1.0, 1.0]),
            (byDocument, ["w", 1.0, 1.0, 1, 1]),
        ]
        for (sql, values) in cases {
            let rows = try fixture.queue.database.fetchAll("EXPLAIN QUERY PLAN " + sql, values)
            let plan = rows.compactMap { $0.string("detail") }.joined(separator: "\n")
            #expect(plan.contains("jobs_claim"), "\(plan)")
            #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
        }
    }

    @Test func integrityCheckAndViewsAfterWork() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let document = try fixture.addDocument()
        try fixture.addJobs(3, documentID: document)
        let job = try #require(try fixture.queue.claim(workerID: "w", leaseSeconds: 60))
        #expect(try fixture.queue.complete(jobID: job.id, owner: "w", attempt: 1,
                                           outcome: outcome("yes")))
        let database = fixture.queue.database
        #expect(try database.integrityCheck() == ["ok"])
        #expect(try database.fetchAll("PRAGMA foreign_key_check").isEmpty)
        let depth = try database.fetchAll("SELECT state, jobs FROM queue_depth")
            .map { "\($0.string("state") ?? ""):\($0.int("jobs") ?? -1)" }
        #expect(depth == ["queued:2", "running:0", "done:1", "failed:0", "dead:0", "cancelled:0"])
        let summary = try #require(try database.fetchOne(
            "SELECT * FROM job_summary WHERE job_id = ?", [job.id]))
        #expect(summary.string("answer") == "yes")
        #expect(summary.double("attention_density") == 0.25)
        let day = try #require(try database.fetchOne("SELECT * FROM throughput_by_day_mode"))
        #expect(day.int("jobs") == 1)
        #expect(day.string("mode") == "focus")
        #expect(day.string("day") == "2027-01-15")
    }
}
