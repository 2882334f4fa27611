import CSQLite

// MARK: - Values

/// One SQLite value, as bound to a parameter or read from a column.
public enum DatabaseValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A Swift type that binds to an SQL parameter.
public protocol DatabaseValueConvertible {
    /// The SQLite value this Swift value binds as.
    var databaseValue: DatabaseValue { get }
}

extension DatabaseValue: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { self }
}

extension Int: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(Int64(self)) }
}

extension Int64: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(self) }
}

extension Int32: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(Int64(self)) }
}

extension Bool: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(self ? 1 : 0) }
}

extension Double: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .real(self) }
}

extension String: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .text(self) }
}

extension Array: DatabaseValueConvertible where Element == UInt8 {
    public var databaseValue: DatabaseValue { .blob(self) }
}

extension Optional: DatabaseValueConvertible where Wrapped: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { self?.databaseValue ?? .null }
}

// MARK: - Statement

/// A prepared statement of one connection. Bind with `bind(_:)`, read with `step()`
/// and `row()`, or use the `execute` / `fetchAll` conveniences, which reset it first.
/// A statement belongs to the thread of its `Database`. It does not keep the
/// `Database` alive (the connection caches statements), and it may outlive it:
/// `sqlite3_close_v2` closes the connection once its last statement is finalized.
public final class Statement {
    /// The SQL text the statement was prepared from.
    public let sql: String
    private let handle: OpaquePointer
    private let connection: OpaquePointer
    private let path: String

    init(database: Database, sql: String) throws {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(database.handle, sql, -1, 0, &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw database.error(code: code, sql: sql)
        }
        self.sql = sql
        self.handle = handle
        self.connection = database.handle
        self.path = database.path
    }

    deinit { sqlite3_finalize(handle) }

    /// Resets the statement and binds `values` to its parameters `?1 ... ?n`.
    public func bind(_ values: [DatabaseValueConvertible]) throws {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            throw DatabaseError(resultCode: SQLITE_RANGE, message:
                "statement has \(expected) parameters but \(values.count) values were bound",
                sql: sql, path: path)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value.databaseValue {
            case .null: code = sqlite3_bind_null(handle, index)
            case .integer(let int): code = sqlite3_bind_int64(handle, index, int)
            case .real(let double): code = sqlite3_bind_double(handle, index, double)
            case .text(let text):
                code = sqlite3_bind_text(handle, index, text, -1, sqliteTransient)
            case .blob(let bytes):
                code = bytes.withUnsafeBytes {
                    sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), sqliteTransient)
                }
            }
            guard code == SQLITE_OK else { throw error(code: code) }
        }
    }

    /// Advances to the next row; false once the statement is done.
    public func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let failure = error(code: code)
            sqlite3_reset(handle)
            throw failure
        }
    }

    /// The current row, after `step()` returned true.
    public func row() -> Row {
        let count = sqlite3_column_count(handle)
        var columns: [String] = []
        var values: [DatabaseValue] = []
        columns.reserveCapacity(Int(count))
        values.reserveCapacity(Int(count))
        for index in 0..<count {
            columns.append(String(cString: sqlite3_column_name(handle, index)))
            values.append(value(at: index))
        }
        return Row(columns: columns, values: values)
    }

    /// Binds `values`, runs the statement to completion and discards any rows.
    public func execute(_ values: [DatabaseValueConvertible] = []) throws {
        try bind(values)
        while try step() {}
        sqlite3_reset(handle)
    }

    /// Binds `values` and returns every row.
    public func fetchAll(_ values: [DatabaseValueConvertible] = []) throws -> [Row] {
        try bind(values)
        var rows: [Row] = []
        while try step() { rows.append(row()) }
        sqlite3_reset(handle)
        return rows
    }

    /// Binds `values` and returns the first row, or nil when there is none.
    /// The statement still runs to completion (an `UPDATE ... RETURNING` applies fully).
    public func fetchOne(_ values: [DatabaseValueConvertible] = []) throws -> Row? {
        try fetchAll(values).first
    }

    private func error(code: Int32) -> DatabaseError {
        DatabaseError(code: code, connection: connection, sql: sql, path: path)
    }

    private func value(at index: Int32) -> DatabaseValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(handle, index) else { return .text("") }
            return .text(String(cString: text))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard count > 0, let bytes = sqlite3_column_blob(handle, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }
}

/// `SQLITE_TRANSIENT`: SQLite copies the bound text or blob before the call returns.
let sqliteTransient = unsafeBitCast(Int(-1), to: sqlite3_destructor_type.self)
