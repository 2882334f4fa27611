import Foundation
import Testing
@testable import FocusQueue
@testable import FocusQueuePostgres

/// `postgres://` locations, where their passwords come from, and the errors of a server that
/// cannot be used: each names the problem, and only a bad location is a usage error.
@Suite struct PostgresLocationTests {
    @Test func urlPartsAreParsed() throws {
        let tcp = try PostgresLocation(url: "postgres://focus@db.example:6543/queue", environment: [:])
        #expect(tcp == PostgresLocation(user: "focus", host: "db.example", port: 6543, database: "queue"))
        #expect(tcp.description == "postgres://focus@db.example:6543/queue")
        let socket = try PostgresLocation(url: "postgresql://me@/jobs?host=/run/postgresql", environment: [:])
        #expect(socket.socketFolder == "/run/postgresql" && socket.host == nil && socket.port == 5432)
    }

    @Test("a bad or password-bearing URL is a usage error that never repeats the password")
    func badURLsAreUsageErrors() throws {
        for text in ["postgres://db.example/queue", "postgres://focus@db.example", "postgres://focus@/queue"] {
            #expect(throws: PostgresQueueError.self) { try PostgresLocation(url: text, environment: [:]) }
        }
        do {
            _ = try PostgresLocation(url: "postgres://focus:s3cret@db.example/queue", environment: [:])
            Issue.record("a password in the URL was accepted")
        } catch let error as PostgresQueueError {
            #expect(error.isUsageError)
            #expect(!error.description.contains("s3cret"))
        }
        #expect(PostgresQueueError.unknownScheme("mysql://x/y").isUsageError)
    }

    @Test("the password comes from PGPASSWORD, else from a private ~/.pgpass")
    func passwordSources() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path("pgpass")
        try "# comment\nother:5432:*:focus:wrong\ndb.example:*:queue:focus:pa\\:ss\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        let url = "postgres://focus@db.example:6543/queue"
        #expect(try PostgresLocation(url: url, environment: ["PGPASSFILE": file]).password == "pa:ss")
        #expect(try PostgresLocation(url: url, environment: ["PGPASSFILE": file, "PGPASSWORD": "env"]).password == "env")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        #expect(try PostgresLocation(url: url, environment: ["PGPASSFILE": file]).password == nil,
                "a password file others can read is ignored")
    }

    @Test("no server at the address: unreachable, an I/O error")
    func unreachableServer() throws {
        let location = PostgresLocation(user: "focus", host: "127.0.0.1", port: TemporaryPostgresServer.freePort(),
                                        database: "queue")
        do {
            _ = try PostgresJobQueue(location: location)
            Issue.record("connected to nothing")
        } catch let error as PostgresQueueError {
            guard case .unreachable = error else { Issue.record("\(error)"); return }
            #expect(!error.isUsageError)
            #expect(error.description.contains("cannot reach"))
        }
    }

    @Test("a wrong password is refused with a clear message, the right one connects")
    func credentialsAreChecked() throws {
        let server = try TestPostgres.server.get()
        var wrong = server.tcpLocation()
        wrong.password = "not-the-password"
        do {
            _ = try PostgresJobQueue(location: wrong)
            Issue.record("a wrong password was accepted")
        } catch let error as PostgresQueueError {
            guard case .authenticationFailed = error else { Issue.record("\(error)"); return }
            #expect(!error.isUsageError)
            #expect(!error.description.contains("not-the-password"))
        }
        let database = try TestPostgres.database()
        defer { server.dropDatabase(database) }
        let queue = try PostgresJobQueue(location: server.tcpLocation(database: database.database))
        #expect(try queue.statusCounts().values.reduce(0, +) == 0)
    }

    @Test func scriptsSplitIntoStatements() {
        let script = "-- a; comment\nCREATE TABLE a (x text DEFAULT ';');\n\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n-- end\n"
        let statements = PostgresSession.statements(of: script)
        #expect(statements.count == 2)
        #expect(statements.first?.contains("DEFAULT ';'") == true)
        #expect(statements.last?.contains("SELECT 1; $$") == true)
    }
}

/// `--db` values: a path is SQLite, a postgres URL PostgreSQL, any other scheme an error.
@Suite struct QueueLocationTests {
    @Test func pathsAndURLsSelectTheBackend() throws {
        #expect(try QueueLocation(".focus/focus.sqlite", environment: [:]) == .sqlite(path: ".focus/focus.sqlite"))
        let location = try QueueLocation("postgres://focus@db:5432/queue", environment: ["PGPASSWORD": "pw"])
        #expect(location == .postgres(PostgresLocation(user: "focus", host: "db", database: "queue", password: "pw")))
        #expect(location.description == "postgres://focus@db:5432/queue" && location.isShared)
        #expect(throws: PostgresQueueError.unknownScheme("mysql://focus@db/queue")) {
            try QueueLocation("mysql://focus@db/queue", environment: [:])
        }
    }

    @Test("both backends open through the same call and answer the same protocol")
    func bothBackendsOpen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sqlite = try QueueLocation(directory.path("q.sqlite"), environment: [:]).open()
        let database = try TestPostgres.database()
        defer { try? TestPostgres.server.get().dropDatabase(database) }
        let postgres = try QueueLocation.postgres(database).open()
        for queue in [sqlite, postgres] {
            let document = try queue.addTestDocument()
            try queue.addTestJobs(2, documentID: document)
            #expect(try queue.statusCounts()[.queued] == 2)
        }
        #expect(sqlite is JobQueue && postgres is PostgresJobQueue)
    }
}
