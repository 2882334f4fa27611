import FocusQueue
@testable import FocusQueuePostgres
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The queue commands against a PostgreSQL server (`--db postgres://…`), on a server the tests
/// start in a temporary folder, and the errors of a location that cannot be used.
@Suite("Queue commands on PostgreSQL")
struct PostgresCommandTests {
    /// A workspace whose queue is a new database on the test server.
    static func workspace(_ label: String = #function) throws -> (Workspace, PostgresLocation) {
        let server = try TemporaryPostgresServer.shared.get()
        let database = try server.createDatabase()
        let space = try Workspace(label, createSchema: false)
        space.queueLocation = database.description
        return (space, database)
    }

    @Test("submit, status, cancel, retry, run --drain, results, show and metrics work against postgres://")
    func everyCommandWorks() throws {
        let (space, database) = try Self.workspace()
        defer { try? TemporaryPostgresServer.shared.get().dropDatabase(database) }
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let first = try space.submit(document: document, question: "Where did the market move?", model: model)
        let second = try space.submit(document: document, question: "How long was the bridge closed?", model: model,
                                      extra: ["--key", "bridge"])
        #expect(try space.submit(document: document, question: "How long was the bridge closed?", model: model,
                                 extra: ["--key", "bridge"]) == second, "an idempotency key returns the same job")
        #expect(try space.status()["queued"] == 2)
        #expect(try space.run(["cancel"] + space.dbArguments + ["\(second)"]).status == 0)
        #expect(try space.status()["cancelled"] == 1)
        #expect(try space.run(["retry"] + space.dbArguments + ["\(second)"]).status == 0)

        let run = try space.drain()
        #expect(run.status == 0, "\(run)")
        #expect(try space.status()["done"] == 2)
        let results = try space.run(["results"] + space.dbArguments + ["--format", "json"])
        #expect(results.status == 0 && results.lines.count == 2, "\(results)")
        let shown = try space.show(first)
        #expect(shown["state"] as? String == "done" && shown["answer"] is String, "\(shown)")
        let metrics = try space.run(["metrics"] + space.dbArguments)
        #expect(metrics.status == 0 && metrics.lines.count == 2, "\(metrics)")
        #expect(!FileManager.default.fileExists(atPath: space.db), "no SQLite file is made for a PostgreSQL queue")
        let queue = try PostgresJobQueue(location: database)
        #expect(try queue.workers().isEmpty, "the drain removed its worker row")
    }

    @Test("a daemon on postgres:// answers a job submitted while it waits and exits 0 on SIGTERM")
    func daemonAnswersSubmission() throws {
        let (space, database) = try Self.workspace()
        defer { try? TemporaryPostgresServer.shared.get().dropDatabase(database) }
        let model = try space.model()
        let daemon = try space.start(["daemon"] + space.dbArguments + ["--store", space.store])
        defer { daemon.stop() }
        let document = try space.write("doc.txt", Workspace.document)
        let id = try space.submit(document: document, question: "Where did the market move?", model: model)
        let done = try WorkerProcessTests.waitUntil(timeout: 20) { try space.show(id)["state"] as? String == "done" }
        #expect(done, "daemon answered job \(id): \(daemon.stderr)")
        #expect(daemon.signalAndWait(SIGTERM, timeout: 5) == 0, "\(daemon.stderr)")
        #expect(try PostgresJobQueue(location: database).workers().isEmpty, "the daemon unregistered itself")
    }

    @Test("a URL of an unknown scheme or with a password is a usage error (64) and creates nothing")
    func badURLsAreUsageErrors() throws {
        let space = try Workspace(createSchema: false)
        for url in ["mysql://focus@db/queue", "postgres://focus:s3cret@127.0.0.1/queue"] {
            let result = try space.run(["status", "--db", url])
            #expect(result.status == 64, "\(result)")
            #expect(!result.stderr.isEmpty && !result.stderr.contains("s3cret"), "\(result)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: space.root.path) == ["runs"])
    }

    @Test("an unreachable server or a wrong password: exit 74 with a clear message, the password never shown")
    func unusableServersAreIOErrors() throws {
        let space = try Workspace(createSchema: false)
        let port = TemporaryPostgresServer.freePort()
        let unreachable = try space.run(["status", "--db", "postgres://focus@127.0.0.1:\(port)/queue"])
        #expect(unreachable.status == 74, "\(unreachable)")
        #expect(unreachable.stderr.contains("cannot reach the PostgreSQL server"), "\(unreachable)")
        let server = try TemporaryPostgresServer.shared.get()
        let url = "postgres://focus@127.0.0.1:\(server.port)/postgres"
        let refused = try space.run(["status", "--db", url], environment: ["PGPASSWORD": "not-the-password"])
        #expect(refused.status == 74, "\(refused)")
        #expect(refused.stderr.contains("refused the credentials"), "\(refused)")
        #expect(!refused.stderr.contains("not-the-password"), "\(refused)")
    }

    @Test("a database of a newer schema is refused with exit 74 and left as it was")
    func newerSchemaIsRefused() throws {
        let (space, database) = try Self.workspace()
        defer { try? TemporaryPostgresServer.shared.get().dropDatabase(database) }
        #expect(try space.status()["queued"] == 0)
        let queue = try PostgresJobQueue(location: database)
        _ = try queue.registerDocument(NewDocument(sha256: String(repeating: "d", count: 64), path: "d", byteSize: 1))
        try queue.session.query("INSERT INTO focus_migrations (version, file_name) VALUES (99, '099_future.sql')")
        let result = try space.run(["status"] + space.dbArguments)
        #expect(result.status == 74, "\(result)")
        #expect(result.stderr.contains("schema version 99 is newer"), "\(result)")
        #expect(try queue.schemaVersion() == 99)
    }
}
