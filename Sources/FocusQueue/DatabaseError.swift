import CSQLite

// MARK: - SQLite errors

/// An error reported by SQLite, with everything needed to understand it: the result
/// code, SQLite's own message, the SQL that failed and the database file.
public struct DatabaseError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The primary result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT`, ...).
    public let resultCode: Int32
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`, ...), equal to
    /// `resultCode` when SQLite gave no extended code.
    public let extendedResultCode: Int32
    /// SQLite's message (`sqlite3_errmsg`) at the time of the failure.
    public let message: String
    /// The SQL statement that failed, when the failure came from one.
    public let sql: String?
    /// The database file the connection was opened on.
    public let path: String?

    /// Creates an error from its parts.
    public init(resultCode: Int32, extendedResultCode: Int32? = nil, message: String,
                sql: String? = nil, path: String? = nil) {
        self.resultCode = resultCode & 0xff
        self.extendedResultCode = extendedResultCode ?? resultCode
        self.message = message
        self.sql = sql
        self.path = path
    }

    /// Captures the current error of `connection` for the failed call that returned `code`.
    init(code: Int32, connection: OpaquePointer?, sql: String?, path: String?) {
        let message: String
        if let connection, let text = sqlite3_errmsg(connection) {
            message = String(cString: text)
        } else {
            message = String(cString: sqlite3_errstr(code))
        }
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        self.init(resultCode: code, extendedResultCode: extended, message: message,
                  sql: sql, path: path)
    }

    /// True for `SQLITE_CONSTRAINT` and all its extended codes.
    public var isConstraintViolation: Bool { resultCode == SQLITE_CONSTRAINT }

    /// True when another connection held a lock past the busy timeout.
    public var isBusy: Bool { resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED }

    /// `SQLite error 19 (SQLITE_CONSTRAINT_UNIQUE): UNIQUE constraint failed: ... in "SQL" (path)`.
    public var description: String {
        var text = "SQLite error \(resultCode)"
        if let name = Self.codeName(extendedResultCode) { text += " (\(name))" }
        text += ": \(message)"
        if let sql { text += " in \"\(sql.trimmingWhitespace())\"" }
        if let path { text += " [\(path)]" }
        return text
    }

    static func codeName(_ code: Int32) -> String? {
        switch code {
        case SQLITE_BUSY: return "SQLITE_BUSY"
        case SQLITE_LOCKED: return "SQLITE_LOCKED"
        case SQLITE_READONLY: return "SQLITE_READONLY"
        case SQLITE_IOERR: return "SQLITE_IOERR"
        case SQLITE_CORRUPT: return "SQLITE_CORRUPT"
        case SQLITE_FULL: return "SQLITE_FULL"
        case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN"
        case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT"
        case SQLITE_CONSTRAINT | (1 << 8): return "SQLITE_CONSTRAINT_CHECK"
        case SQLITE_CONSTRAINT | (3 << 8): return "SQLITE_CONSTRAINT_FOREIGNKEY"
        case SQLITE_CONSTRAINT | (5 << 8): return "SQLITE_CONSTRAINT_NOTNULL"
        case SQLITE_CONSTRAINT | (6 << 8): return "SQLITE_CONSTRAINT_PRIMARYKEY"
        case SQLITE_CONSTRAINT | (8 << 8): return "SQLITE_CONSTRAINT_UNIQUE"
        case SQLITE_CONSTRAINT | (11 << 8): return "SQLITE_CONSTRAINT_DATATYPE"
        case SQLITE_MISMATCH: return "SQLITE_MISMATCH"
        case SQLITE_MISUSE: return "SQLITE_MISUSE"
        case SQLITE_RANGE: return "SQLITE_RANGE"
        case SQLITE_NOTADB: return "SQLITE_NOTADB"
        case SQLITE_ERROR: return "SQLITE_ERROR"
        default: return nil
        }
    }
}

// MARK: - Queue errors

/// Errors of the queue that are not a single failed SQLite call.
public enum QueueError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file exists but is not an SQLite database; it was not modified.
    case notADatabase(path: String)
    /// The database was written by a newer version of focus than this one.
    case schemaTooNew(path: String, found: Int, supported: Int)
    /// A migration from schema/ failed to apply; nothing of it was kept.
    case migrationFailed(fileName: String, underlying: DatabaseError)
    /// No job has this id.
    case jobNotFound(id: Int64)
    /// No document has this id.
    case documentNotFound(id: Int64)
    /// The job is in a state that does not allow the action (e.g. retry of a done job).
    case invalidState(id: Int64, state: JobState, action: String)
    /// A field of a submitted job or document is invalid.
    case invalidField(field: String, reason: String)

    public var description: String {
        switch self {
        case .notADatabase(let path):
            return "\(path): file is not a database (it was left untouched)"
        case .schemaTooNew(let path, let found, let supported):
            return "\(path): schema version \(found) is newer than this focus supports "
                + "(\(supported)); use a newer focus binary"
        case .migrationFailed(let fileName, let underlying):
            return "migration \(fileName) failed: \(underlying)"
        case .jobNotFound(let id):
            return "no job with id \(id)"
        case .documentNotFound(let id):
            return "no document with id \(id)"
        case .invalidState(let id, let state, let action):
            return "job \(id) is \(state.rawValue): cannot \(action)"
        case .invalidField(let field, let reason):
            return "invalid \(field): \(reason)"
        }
    }

    /// The process exit code the command line uses for this error.
    public var exitCode: FocusExitCode {
        switch self {
        case .notADatabase, .schemaTooNew, .migrationFailed: return .ioError
        case .jobNotFound, .documentNotFound, .invalidState, .invalidField: return .badInput
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
