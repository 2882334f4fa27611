import Foundation
import PostgresNIO

/// Why the PostgreSQL queue could not do what was asked, each case naming the problem.
public enum PostgresQueueError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The `--db` text is not a usable `postgres://` URL (the password, if any, is hidden).
    case invalidURL(String, reason: String)
    /// The `--db` text names a scheme no queue backend knows.
    case unknownScheme(String)
    /// No server answered at the location (refused, unknown host, timeout).
    case unreachable(location: String, reason: String)
    /// The server refused the user name or password.
    case authenticationFailed(location: String, reason: String)
    /// The server answered with an error (SQLSTATE, message and the statement that failed).
    case server(sqlState: String, message: String, sql: String)
    /// The connection broke in the middle of a call.
    case connectionLost(location: String, reason: String)
    /// A migration of schema/postgres/ failed to apply; nothing of it was kept.
    case migrationFailed(fileName: String, reason: String)

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            return "\(url): not a PostgreSQL location: \(reason)"
        case .unknownScheme(let text):
            return "\(text): unknown database scheme (use a file path for SQLite or postgres://user@host:port/database)"
        case .unreachable(let location, let reason):
            return "\(location): cannot reach the PostgreSQL server: \(reason)"
        case .authenticationFailed(let location, let reason):
            return "\(location): the server refused the credentials: \(reason) "
                + "(the password comes from PGPASSWORD or ~/.pgpass)"
        case .server(let sqlState, let message, let sql):
            return "PostgreSQL error \(sqlState): \(message) in \"\(sql.trimmingCharacters(in: .whitespacesAndNewlines))\""
        case .connectionLost(let location, let reason):
            return "\(location): connection to the PostgreSQL server lost: \(reason)"
        case .migrationFailed(let fileName, let reason):
            return "migration postgres/\(fileName) failed: \(reason)"
        }
    }

    /// True for a location that cannot be parsed (a usage error: exit 64 on the command line);
    /// false for a server that cannot be used or failed (an I/O error: 74).
    public var isUsageError: Bool {
        switch self {
        case .invalidURL, .unknownScheme: return true
        case .unreachable, .authenticationFailed, .server, .connectionLost, .migrationFailed: return false
        }
    }

    /// SQLSTATEs of serialization failures and deadlocks: the transaction may be run again.
    var isRetryable: Bool {
        if case .server(let state, _, _) = self { return state == "40001" || state == "40P01" }
        return false
    }

    /// The error PostgresNIO reported, classified.
    static func from(_ error: Error, location: String, sql: String? = nil) -> PostgresQueueError {
        if let error = error as? PostgresQueueError { return error }
        guard let error = error as? PSQLError else {
            return .connectionLost(location: location, reason: "\(error)")
        }
        if error.code == .server, let info = error.serverInfo {
            let state = info[.sqlState] ?? "?"
            let message = info[.message] ?? "(no message)"
            // Class 28: invalid authorization; 3D000: no such database.
            if state.hasPrefix("28") { return .authenticationFailed(location: location, reason: message) }
            if state == "3D000" { return .unreachable(location: location, reason: message) }
            return .server(sqlState: state, message: message, sql: sql ?? error.query?.sql ?? "")
        }
        switch error.code {
        case .connectionError:
            return .unreachable(location: location, reason: error.underlying.map { "\($0)" } ?? "\(error.code)")
        case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
            return .authenticationFailed(location: location, reason: "\(error.code)")
        default:
            return .connectionLost(location: location, reason: error.underlying.map { "\($0)" } ?? "\(error.code)")
        }
    }
}
