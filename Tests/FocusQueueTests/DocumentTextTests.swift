import Foundation
import Testing
@testable import FocusQueue
import FocusSQLite

/// Document texts live in the database from submission on, once per SHA-256, and come with every
/// claim; databases created before texts were stored keep working.
@Suite struct DocumentTextTests {
    static let sha = String(repeating: "ab", count: 32)

    @Test("a document's text is stored once per SHA-256 and handed to the worker with the claim",
          arguments: Backend.allCases)
    func textComesWithTheClaim(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let first = try fixture.queue.registerDocument(
            NewDocument(sha256: Self.sha, path: "/home/a/report.txt", byteSize: 11, text: "The report."))
        let second = try fixture.queue.registerDocument(
            NewDocument(sha256: Self.sha, path: "/home/b/copy.txt", byteSize: 11, text: "The report."))
        #expect(first == second)
        #expect(try fixture.queue.documentText(documentID: first) == "The report.")
        try fixture.addJobs(1, documentID: first)
        let job = try #require(try fixture.queue.claim(workerID: "w", leaseSeconds: 60))
        #expect(job.documentText == "The report.")
        #expect(job.documentPath == "/home/b/copy.txt", "the path stays, for people reading results")
    }

    @Test("a document registered without its text gains it when the same text is submitted again",
          arguments: Backend.allCases)
    func legacyDocumentGainsItsText(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let id = try fixture.queue.registerDocument(NewDocument(sha256: Self.sha, path: "old.txt", byteSize: 11))
        #expect(try fixture.queue.documentText(documentID: id) == nil)
        _ = try fixture.queue.registerDocument(
            NewDocument(sha256: Self.sha, path: "new.txt", byteSize: 11, text: "The report."))
        #expect(try fixture.queue.documentText(documentID: id) == "The report.")
    }

    @Test("a database of schema version 1 migrates with its queued jobs still claimable")
    func versionOneDatabaseMigrates() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("old.sqlite")
        do {
            let database = try Database(path: path)
            try Migrations.migrate(database, migrations: [Migrations.all[0]])
            try database.execute("""
                INSERT INTO documents (sha256, path, byte_size, created_at) VALUES ('\(Self.sha)', 'old.txt', 11, 0);
                INSERT INTO jobs (document_id, question, model_dir, mode, next_attempt_at, created_at)
                    VALUES (1, 'Who wrote it?', 'models/small', 'focus', 0, 0);
                INSERT INTO workers (id, pid, host, started_at, heartbeat) VALUES ('old:1:x', 1, 'h', 0, 0);
                """)
        }
        let queue = try JobQueue(path: path)
        #expect(try queue.database.userVersion() == Migrations.latestVersion)
        let job = try #require(try queue.claim(workerID: "w", leaseSeconds: 60))
        #expect(job.question == "Who wrote it?" && job.documentPath == "old.txt" && job.documentText == nil)
        let worker = try #require(try queue.workers().first)
        #expect(worker.identity.startTicks == nil && worker.identity.bootID == nil)
        #expect(try queue.database.integrityCheck() == ["ok"])
    }
}
