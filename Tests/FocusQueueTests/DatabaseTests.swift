import CSQLite
import Foundation
import Testing
@testable import FocusQueue
import FocusSQLite

@Suite struct DatabaseTests {
    @Test func typedBindingsRoundTrip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database(path: directory.path("t.sqlite"))
        try database.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n ANY) STRICT")
        let text = "naïve \u{1F600} ' \" ;"
        try database.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                             [Int64.max, 0.1, text, [UInt8]([0, 255, 7]), String?.none])
        let row = try #require(try database.fetchOne("SELECT * FROM t"))
        #expect(row["i"] == .integer(Int64.max))
        #expect(row["r"] == .real(0.1))
        #expect(row["s"] == .text(text))
        #expect(row["b"] == .blob([0, 255, 7]))
        #expect(row["n"] == .null)
        #expect(row["missing"] == .null)
        #expect(row.bool("i") == true && row.string("n") == nil)
    }

    @Test func errorsCarryCodeMessageSQLAndPath() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("t.sqlite")
        let database = try Database(path: path)
        try database.execute("CREATE TABLE t (k TEXT UNIQUE, n INTEGER) STRICT")
        let insert = "INSERT INTO t (k, n) VALUES (?, ?)"
        try database.execute(insert, ["a", 1])
        let unique = try #require(throws: DatabaseError.self) {
            try database.execute(insert, ["a", 2])
        }
        #expect(unique.resultCode == SQLITE_CONSTRAINT)
        #expect(unique.extendedResultCode == SQLITE_CONSTRAINT | (8 << 8))
        #expect(unique.isConstraintViolation)
        #expect(unique.message.contains("UNIQUE constraint failed: t.k"))
        #expect(unique.sql == insert && unique.path == path)
        #expect(unique.description.contains("SQLITE_CONSTRAINT_UNIQUE"))
        let strict = try #require(throws: DatabaseError.self) {
            try database.execute(insert, ["b", "not a number"])
        }
        #expect(strict.resultCode == SQLITE_CONSTRAINT)
        let arity = try #require(throws: DatabaseError.self) { try database.execute(insert, ["c"]) }
        #expect(arity.resultCode == SQLITE_RANGE)
        let syntax = try #require(throws: DatabaseError.self) { try database.prepare("SELEC 1") }
        #expect(syntax.resultCode == SQLITE_ERROR && syntax.sql == "SELEC 1")
    }

    @Test func writeRollsBackEverythingOnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database(path: directory.path("t.sqlite"))
        try database.execute("CREATE TABLE t (n INTEGER NOT NULL) STRICT")
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try database.write {
                try database.execute("INSERT INTO t VALUES (?)", [1])
                try database.write { try database.execute("INSERT INTO t VALUES (?)", [2]) }
                throw Abort()
            }
        }
        #expect(!database.isInTransaction)
        try database.write {
            try database.execute("INSERT INTO t VALUES (?)", [3])
            _ = try? database.write {
                try database.execute("INSERT INTO t VALUES (?)", [4])
                throw Abort()
            }
        }
        let values = try database.fetchAll("SELECT n FROM t ORDER BY n").compactMap { $0.int("n") }
        #expect(values == [3])
    }

    @Test func writeTransactionsTakeTheLockUpFront() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("t.sqlite")
        let holder = try Database(path: path)
        try holder.execute("CREATE TABLE t (n INTEGER) STRICT")
        let other = try Database(path: path, busyTimeoutMilliseconds: 20)
        try holder.write {
            let busy = try #require(throws: DatabaseError.self) {
                try other.write { try other.execute("INSERT INTO t VALUES (?)", [1]) }
            }
            #expect(busy.isBusy)
            #expect(busy.sql == "BEGIN IMMEDIATE")
            #expect(try other.fetchAll("SELECT n FROM t").isEmpty)
        }
        try other.write { try other.execute("INSERT INTO t VALUES (?)", [1]) }
    }

    @Test func failedMigrationKeepsNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database(path: directory.path("t.sqlite"))
        let good = Migration(version: 1, fileName: "001_a.sql", sql: "CREATE TABLE a (x INTEGER) STRICT;")
        let bad = Migration(version: 2, fileName: "002_b.sql",
                            sql: "CREATE TABLE b (x INTEGER) STRICT; INSERT INTO missing VALUES (1);")
        let error = try #require(throws: QueueError.self) {
            try Migrations.migrate(database, migrations: [good, bad])
        }
        guard case .migrationFailed(let fileName, let underlying) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(fileName == "002_b.sql" && underlying.message.contains("no such table: missing"))
        #expect(try database.userVersion() == 1)
        let tables = try database.fetchAll("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .compactMap { $0.string("name") }
        #expect(tables == ["a"])
    }

    /// Cached statements must not keep the connection open: closing the last
    /// connection checkpoints the WAL and removes it.
    @Test func connectionClosesWhenReleased() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("q.sqlite")
        do {
            let queue = try JobQueue(path: path)
            let document = try queue.registerDocument(NewDocument(
                sha256: String(repeating: "d", count: 64), path: "doc", byteSize: 1))
            try queue.submit(NewJob(documentID: document, question: "q?", modelDir: "m", mode: "focus"))
            #expect(try queue.claim(workerID: "w", leaseSeconds: 60) != nil)
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(try JobQueue(path: path).statusCounts()[.running] == 1)
    }
}
