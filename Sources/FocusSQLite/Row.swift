/// One result row, copied out of the statement so it outlives the next step.
public struct Row: Sendable {
    /// Column names in result order.
    public let columns: [String]
    /// Values in result order.
    public let values: [DatabaseValue]

    /// A row of `values` under `columns`, in the same order.
    public init(columns: [String], values: [DatabaseValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of the named column, `.null` when there is no such column.
    public subscript(_ column: String) -> DatabaseValue {
        guard let index = columns.firstIndex(of: column) else { return .null }
        return values[index]
    }

    /// The named column as an integer (reals are truncated); nil for NULL or text.
    public func int64(_ column: String) -> Int64? {
        switch self[column] {
        case .integer(let value): return value
        case .real(let value): return Int64(value)
        default: return nil
        }
    }

    /// The named column as an `Int`; nil for NULL or text.
    public func int(_ column: String) -> Int? { int64(column).map(Int.init) }

    /// The named column as a double; nil for NULL or text.
    public func double(_ column: String) -> Double? {
        switch self[column] {
        case .integer(let value): return Double(value)
        case .real(let value): return value
        default: return nil
        }
    }

    /// The named column as text; nil for NULL or a blob.
    public func string(_ column: String) -> String? {
        switch self[column] {
        case .text(let value): return value
        case .integer(let value): return String(value)
        case .real(let value): return String(value)
        default: return nil
        }
    }

    /// The named column as a boolean (non-zero integer); nil for NULL.
    public func bool(_ column: String) -> Bool? { int64(column).map { $0 != 0 } }
}

// MARK: - Required columns

/// A row lacks a value its reader needs.
public enum RowDecodingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The query returned no column of this name.
    case missingColumn(String, columns: [String])
    /// The column holds NULL, or a value of another type, where the reader needs one of `type`.
    case missingValue(column: String, type: String)

    public var description: String {
        switch self {
        case .missingColumn(let column, let columns):
            return "row has no column \"\(column)\" (columns: \(columns.joined(separator: ", ")))"
        case .missingValue(let column, let type):
            return "column \"\(column)\" holds no \(type)"
        }
    }
}

extension Row {
    /// The named column read by `read`, which must find a value in it.
    /// - Throws: `RowDecodingError` naming the column when the row has no such column, or
    ///   `read` finds no value of `type` in it.
    private func required<Value>(_ column: String, _ type: String, _ read: (String) -> Value?) throws -> Value {
        guard columns.contains(column) else { throw RowDecodingError.missingColumn(column, columns: columns) }
        guard let value = read(column) else { throw RowDecodingError.missingValue(column: column, type: type) }
        return value
    }

    /// The named column as an integer. - Throws: `RowDecodingError` naming the column.
    public func requiredInt64(_ column: String) throws -> Int64 { try required(column, "integer", int64) }

    /// The named column as an `Int`. - Throws: `RowDecodingError` naming the column.
    public func requiredInt(_ column: String) throws -> Int { try required(column, "integer", int) }

    /// The named column as a double. - Throws: `RowDecodingError` naming the column.
    public func requiredDouble(_ column: String) throws -> Double { try required(column, "number", double) }

    /// The named column as text. - Throws: `RowDecodingError` naming the column.
    public func requiredString(_ column: String) throws -> String { try required(column, "text", string) }
}
