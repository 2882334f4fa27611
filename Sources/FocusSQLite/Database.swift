import CSQLite

/// One connection to an SQLite database file, configured for a queue of many writers.
///
/// This is a small wrapper over the SQLite C API written by hand in the style of GRDB
/// (typed errors with code, message and SQL; prepared statements with typed bindings;
/// `BEGIN IMMEDIATE` for every write transaction). GRDB itself is not used because the
/// package links the system libsqlite3 through its own system-library target, and the
/// queue needs only a few dozen statements.
///
/// Configuration, applied on open:
/// - `journal_mode=WAL`: readers never block the writer, and a crash leaves the
///   database consistent.
/// - `busy_timeout` (5000 ms by default): a connection waits for another's write lock
///   instead of failing at once with `SQLITE_BUSY`.
/// - `foreign_keys=ON`: jobs, results and metrics cannot point at missing rows.
/// - `synchronous=NORMAL`: in WAL mode a commit is written to the WAL before it
///   returns, so it survives a crash or kill of the process; only a power loss or OS
///   crash can lose the last commits (never corrupt the file), as the WAL is synced at
///   checkpoints rather than at each commit. The queue is built to tolerate that: a
///   lost completion leaves the job running with a lease that expires and the job runs
///   again; a lost submission is re-submitted under its idempotency key. In exchange
///   each commit costs no fsync.
///
/// A connection belongs to one thread at a time; open one connection per thread or
/// process. Connections of several processes share the file safely.
public final class Database {
    /// The database file path as given to `init`.
    public let path: String
    let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]
    private var savepointDepth = 0

    /// Opens (creating when missing) the database at `path` and configures it.
    /// - Throws: `DatabaseError`; `isNotADatabase` when the file is not SQLite (the file is
    ///   not modified).
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000) throws {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let error = DatabaseError(code: code, connection: handle, sql: nil, path: path)
            sqlite3_close_v2(handle)
            throw error
        }
        self.path = path
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        try checkIsDatabase()
        try configure()
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    // MARK: - Configuration

    /// Reads the header before anything can write, so a foreign file is refused untouched.
    private func checkIsDatabase() throws {
        _ = try prepare("PRAGMA schema_version").fetchAll()
    }

    private func configure() throws {
        let mode = try prepare("PRAGMA journal_mode = WAL").fetchOne()?.string("journal_mode")
        guard mode?.lowercased() == "wal" else {
            throw DatabaseError(resultCode: SQLITE_ERROR,
                                message: "could not enable WAL mode (journal_mode is \(mode ?? "?"))",
                                sql: "PRAGMA journal_mode = WAL", path: path)
        }
        try execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
    }

    // MARK: - Statements

    /// Prepares `sql` (one statement). The caller owns the statement.
    public func prepare(_ sql: String) throws -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// A prepared statement for `sql`, kept for the life of the connection and reused.
    public func cachedStatement(_ sql: String) throws -> Statement {
        if let statement = statementCache[sql] { return statement }
        let statement = try prepare(sql)
        statementCache[sql] = statement
        return statement
    }

    /// Runs one or more `;`-separated statements without parameters.
    public func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        guard code == SQLITE_OK else {
            var error = self.error(code: code, sql: sql)
            if let message {
                error = DatabaseError(resultCode: error.resultCode,
                                      extendedResultCode: error.extendedResultCode,
                                      message: String(cString: message), sql: sql, path: path)
                sqlite3_free(message)
            }
            throw error
        }
    }

    /// Runs one statement with parameters through the statement cache.
    public func execute(_ sql: String, _ values: [DatabaseValueConvertible]) throws {
        try cachedStatement(sql).execute(values)
    }

    /// All rows of one statement with parameters, through the statement cache.
    public func fetchAll(_ sql: String, _ values: [DatabaseValueConvertible] = []) throws -> [Row] {
        try cachedStatement(sql).fetchAll(values)
    }

    /// The first row of one statement with parameters, through the statement cache.
    public func fetchOne(_ sql: String, _ values: [DatabaseValueConvertible] = []) throws -> Row? {
        try cachedStatement(sql).fetchOne(values)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE of this connection.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last INSERT of this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// True while a transaction is open on this connection.
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    // MARK: - Transactions

    /// Runs `body` in a write transaction started with `BEGIN IMMEDIATE`, which takes
    /// the write lock up front (waiting up to the busy timeout), so two writers never
    /// deadlock upgrading read locks. Commits when `body` returns, rolls back everything
    /// when it throws. Nested calls become savepoints of the outer transaction.
    public func write<T>(_ body: () throws -> T) throws -> T {
        if isInTransaction { return try savepoint(body) }
        return try transaction(beginning: "BEGIN IMMEDIATE", body)
    }

    /// Runs `body` in a read transaction (`BEGIN DEFERRED`) so that its reads see one
    /// consistent snapshot. Inside a transaction, runs `body` directly.
    public func read<T>(_ body: () throws -> T) throws -> T {
        if isInTransaction { return try body() }
        return try transaction(beginning: "BEGIN DEFERRED", body)
    }

    /// Runs `body` between `begin` and `COMMIT`, rolling back when it throws.
    private func transaction<T>(beginning begin: String, _ body: () throws -> T) throws -> T {
        try cachedStatement(begin).execute()
        do {
            let value = try body()
            try cachedStatement("COMMIT").execute()
            return value
        } catch {
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    private func savepoint<T>(_ body: () throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "focus_sp\(savepointDepth)"
        try execute("SAVEPOINT \(name)")
        do {
            let value = try body()
            try execute("RELEASE \(name)")
            return value
        } catch {
            try? execute("ROLLBACK TO \(name); RELEASE \(name)")
            throw error
        }
    }

    // MARK: - Pragmas

    /// `PRAGMA user_version`: the schema version the migrations have reached.
    public func userVersion() throws -> Int {
        try fetchOne("PRAGMA user_version")?.int("user_version") ?? 0
    }

    /// `PRAGMA data_version`: changes whenever another connection commits to the file.
    public func dataVersion() throws -> Int64 {
        try cachedStatement("PRAGMA data_version").fetchOne()?.int64("data_version") ?? 0
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a sound database, else the problems found.
    public func integrityCheck() throws -> [String] {
        try prepare("PRAGMA integrity_check").fetchAll().compactMap { $0.values.first }.map {
            if case .text(let text) = $0 { return text }
            return "\($0)"
        }
    }

    // MARK: - Errors

    func error(code: Int32, sql: String?) -> DatabaseError {
        DatabaseError(code: code, connection: handle, sql: sql, path: path)
    }
}
