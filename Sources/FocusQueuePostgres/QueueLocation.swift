import FocusQueue
import Foundation
import Logging

/// What `--db` or `FOCUS_DB` names: a file path is an SQLite database on this host, a
/// `postgres://user@host:port/database` URL a PostgreSQL server that workers on several hosts share.
public enum QueueLocation: Equatable, Sendable, CustomStringConvertible {
    /// An SQLite database file.
    case sqlite(path: String)
    /// A PostgreSQL database.
    case postgres(PostgresLocation)

    /// Reads a `--db` value; the password of a PostgreSQL location comes from `environment`
    /// (`PGPASSWORD`) or the password file, never from the text.
    /// - Throws: `PostgresQueueError.unknownScheme` for `scheme://` other than postgres or
    ///   postgresql, `PostgresQueueError.invalidURL` for a PostgreSQL URL that cannot be used.
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let separator = text.range(of: "://") else {
            self = .sqlite(path: text)
            return
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard PostgresLocation.schemes.contains(scheme) else {
            throw PostgresQueueError.unknownScheme(PostgresLocation.redacted(text))
        }
        self = .postgres(try PostgresLocation(url: text, environment: environment))
    }

    /// The path, or the URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let location): return location.description
        }
    }

    /// Whether workers on several hosts can share it.
    public var isShared: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// Opens the queue (creating an SQLite file when missing) and brings its schema up to date.
    /// - Throws: `QueueError`, `DatabaseError` (SQLite) or `PostgresQueueError`; a database of a
    ///   newer schema is refused before anything is written.
    public func open(retryPolicy: RetryPolicy = RetryPolicy(),
                     logger: Logger = Logger(label: "focus.queue")) throws -> any QueueBackend {
        switch self {
        case .sqlite(let path):
            return try JobQueue(path: path, retryPolicy: retryPolicy)
        case .postgres(let location):
            return try PostgresJobQueue(location: location, retryPolicy: retryPolicy, logger: logger)
        }
    }
}
