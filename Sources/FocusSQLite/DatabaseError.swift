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

    /// True when the file is not an SQLite database (`SQLITE_NOTADB`).
    public var isNotADatabase: Bool { resultCode == SQLITE_NOTADB }

    /// True when another connection held a lock past the busy timeout.
    public var isBusy: Bool { resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED }

    /// `SQLite error 19 (SQLITE_CONSTRAINT_UNIQUE): UNIQUE constraint failed: ... in "SQL" (path)`.
    public var description: String {
        var text = "SQLite error \(resultCode)"
        if let name = Self.codeName(extendedResultCode) { text += " (\(name))" }
        text += ": \(message)"
        if let sql { text += " in \"\(Self.trimmed(sql))\"" }
        if let path { text += " [\(path)]" }
        return text
    }

    /// `sql` without the whitespace around it.
    private static func trimmed(_ sql: String) -> Substring {
        guard let start = sql.firstIndex(where: { !$0.isWhitespace }),
            let end = sql.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return sql[start...end]
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
