import FocusQueue
import FocusSQLite
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// A value bound to a statement parameter (`Int`, `Int64`, `Double`, `String`, `Bool`).
typealias PostgresBindable = PostgresDynamicTypeEncodable

/// One connection to a PostgreSQL server, used synchronously: every call waits for the
/// server's answer on the calling thread (never an event-loop thread). Statements are sent
/// with the extended protocol, their values bound, never spliced into the SQL.
final class PostgresSession {
    /// Where the connection goes (its description never shows the password).
    let location: PostgresLocation
    let connection: PostgresConnection
    private let logger: Logger
    /// Whether a transaction of `transaction(_:)` is open.
    private var inTransaction = false

    /// Connects and authenticates.
    /// - Throws: `PostgresQueueError.unreachable` or `.authenticationFailed`.
    init(location: PostgresLocation, logger: Logger = Logger(label: "focus.postgres")) throws {
        self.location = location
        self.logger = logger
        var configuration: PostgresConnection.Configuration
        if let folder = location.socketFolder {
            configuration = .init(unixSocketPath: "\(folder)/.s.PGSQL.\(location.port)", username: location.user,
                                  password: location.password, database: location.database)
        } else {
            configuration = .init(host: location.host ?? "localhost", port: location.port, username: location.user,
                                  password: location.password, database: location.database, tls: .disable)
        }
        configuration.options.connectTimeout = .seconds(10)
        do {
            connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                id: 1, logger: logger).wait()
        } catch {
            throw PostgresQueueError.from(error, location: location.description)
        }
    }

    deinit {
        try? connection.close().wait()
    }

    // MARK: - Statements

    /// Runs one statement with `values` bound to `$1`, `$2`, ... and returns its rows.
    @discardableResult
    func query(_ sql: String, _ values: [(any PostgresBindable)?] = []) throws -> [PostgresQueueRow] {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            if let value { bindings.append(value) } else { bindings.appendNull() }
        }
        do {
            let result = try connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).wait()
            return result.rows.map { PostgresQueueRow(row: PostgresRandomAccessRow($0)) }
        } catch {
            throw PostgresQueueError.from(error, location: location.description, sql: sql)
        }
    }

    /// The first row of `query`, or nil.
    func fetchOne(_ sql: String, _ values: [(any PostgresBindable)?] = []) throws -> PostgresQueueRow? {
        try query(sql, values).first
    }

    /// Runs a script of statements without parameters, one statement at a time.
    func executeScript(_ sql: String) throws {
        for statement in Self.statements(of: sql) { try query(statement) }
    }

    /// The statements of a script: split at each `;` outside quotes, `$$` bodies and `--` comments.
    static func statements(of script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var characters = Array(script)[...]
        var inQuote = false, inDollar = false, inComment = false
        while let character = characters.popFirst() {
            let next = characters.first
            current.append(character)
            if inComment {
                if character == "\n" { inComment = false }
            } else if inQuote {
                if character == "'" { inQuote = false }
            } else if inDollar {
                if character == "$" && next == "$" { current.append(characters.removeFirst()); inDollar = false }
            } else if character == "-" && next == "-" {
                inComment = true
            } else if character == "'" {
                inQuote = true
            } else if character == "$" && next == "$" {
                current.append(characters.removeFirst())
                inDollar = true
            } else if character == ";" {
                statements.append(current)
                current = ""
            }
        }
        statements.append(current)
        return statements.filter { statement in
            statement.split(separator: "\n").contains { line in
                let text = line.trimmingCharacters(in: .whitespaces)
                return !text.isEmpty && !text.hasPrefix("--") && text != ";"
            }
        }
    }

    // MARK: - Transactions

    /// Runs `body` in one transaction (`READ COMMITTED`): committed when it returns, rolled back
    /// when it throws. A deadlock or serialization failure runs it again, up to three times.
    /// Nested calls join the outer transaction.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        if inTransaction { return try body() }
        var tries = 0
        while true {
            tries += 1
            try query("BEGIN")
            inTransaction = true
            do {
                let value = try body()
                inTransaction = false
                try query("COMMIT")
                return value
            } catch {
                inTransaction = false
                _ = try? query("ROLLBACK")
                if let error = error as? PostgresQueueError, error.isRetryable, tries < 3 { continue }
                throw error
            }
        }
    }
}

// MARK: - Rows

/// A row of a PostgreSQL result, read by column name like the SQLite queue's rows.
struct PostgresQueueRow: QueueRow {
    let row: PostgresRandomAccessRow

    private func cell(_ column: String) -> PostgresCell? {
        guard row.contains(column) else { return nil }
        let cell = row[column]
        return cell.bytes == nil ? nil : cell
    }

    func int64(_ column: String) -> Int64? {
        guard let cell = cell(column) else { return nil }
        if let value = try? cell.decode(Int64.self) { return value }
        return (try? cell.decode(Double.self)).map { Int64($0) }
    }

    func double(_ column: String) -> Double? {
        guard let cell = cell(column) else { return nil }
        if let value = try? cell.decode(Double.self) { return value }
        return (try? cell.decode(Int64.self)).map(Double.init)
    }

    func string(_ column: String) -> String? {
        guard let cell = cell(column) else { return nil }
        return try? cell.decode(String.self)
    }

    func bool(_ column: String) -> Bool? {
        guard let cell = cell(column) else { return nil }
        if let value = try? cell.decode(Bool.self) { return value }
        return int64(column).map { $0 != 0 }
    }

    func int(_ column: String) -> Int? { int64(column).map(Int.init) }

    func requiredInt64(_ column: String) throws -> Int64 { try required(column, "integer", int64) }

    func requiredInt(_ column: String) throws -> Int { try required(column, "integer", int) }

    func requiredDouble(_ column: String) throws -> Double { try required(column, "number", double) }

    func requiredString(_ column: String) throws -> String { try required(column, "text", string) }

    /// The named column read by `read`. - Throws: `RowDecodingError` naming the column.
    private func required<Value>(_ column: String, _ type: String, _ read: (String) -> Value?) throws -> Value {
        guard row.contains(column) else { throw RowDecodingError.missingColumn(column, columns: row.map(\.columnName)) }
        guard let value = read(column) else { throw RowDecodingError.missingValue(column: column, type: type) }
        return value
    }
}
