import Foundation

/// Where a PostgreSQL queue lives: `postgres://user@host:port/database` (or `postgresql://`).
/// A Unix socket folder is given libpq's way, `postgres://user@/database?host=/run/postgresql&port=5432`.
///
/// A password in the URL is refused: it would show in process lists and logs. It comes from
/// `PGPASSWORD` or from `~/.pgpass` (`$PGPASSFILE`), and `description` never shows it.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// The role to connect as.
    public var user: String
    /// Host name or address; nil with a socket folder.
    public var host: String?
    /// TCP port, or the number in the socket's name (`.s.PGSQL.<port>`).
    public var port: Int
    /// Folder of the server's Unix socket, when connecting through one.
    public var socketFolder: String?
    /// The database name.
    public var database: String
    /// The password found for this location (not part of the URL).
    public var password: String?

    /// A location with the given parts.
    public init(user: String, host: String?, port: Int = 5432, socketFolder: String? = nil,
                database: String, password: String? = nil) {
        self.user = user
        self.host = host
        self.port = port
        self.socketFolder = socketFolder
        self.database = database
        self.password = password
    }

    /// The URL schemes that name a PostgreSQL server.
    public static let schemes: Set<String> = ["postgres", "postgresql"]

    /// Parses a `postgres://` URL, then looks the password up in `environment` (`PGPASSWORD`,
    /// `PGPASSFILE`, `HOME`) and the password file.
    /// - Throws: `PostgresQueueError.invalidURL` naming what is wrong.
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              Self.schemes.contains(scheme) else {
            throw PostgresQueueError.invalidURL(Self.redacted(text), reason: "expected postgres://user@host:port/database")
        }
        if components.password != nil {
            throw PostgresQueueError.invalidURL(Self.redacted(text),
                                                reason: "a password in the URL is not accepted: use PGPASSWORD or ~/.pgpass")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresQueueError.invalidURL(Self.redacted(text), reason: "no user name (postgres://user@host/database)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresQueueError.invalidURL(Self.redacted(text), reason: "no database name (postgres://user@host/database)")
        }
        let query = Dictionary(components.queryItems?.map { ($0.name, $0.value ?? "") } ?? [], uniquingKeysWith: { $1 })
        let host = components.host.flatMap { $0.isEmpty ? nil : $0 }
        guard host != nil || query["host"] != nil else {
            throw PostgresQueueError.invalidURL(Self.redacted(text), reason: "no host (postgres://user@host/database)")
        }
        guard let port = components.port ?? Int(query["port"] ?? "5432"), (1...65_535).contains(port) else {
            throw PostgresQueueError.invalidURL(Self.redacted(text), reason: "the port must be a number from 1 to 65535")
        }
        self.init(user: user, host: host, port: port, socketFolder: host == nil ? query["host"] : nil,
                  database: database)
        password = environment["PGPASSWORD"] ?? Self.passwordFromFile(for: self, environment: environment)
    }

    /// `postgres://user@host:port/database`, without any password.
    public var description: String {
        if let socketFolder { return "postgres://\(user)@/\(database)?host=\(socketFolder)&port=\(port)" }
        return "postgres://\(user)@\(host ?? "localhost"):\(port)/\(database)"
    }

    /// The same server and user, another database.
    public func with(database: String) -> PostgresLocation {
        var copy = self
        copy.database = database
        return copy
    }

    /// A URL text with any password replaced by `***`, for messages.
    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "(URL)"
    }

    // MARK: - Password file

    /// The password of the first matching line of `$PGPASSFILE` or `~/.pgpass`
    /// (`host:port:database:user:password`, `*` matching anything, `\` escaping `:` and `\`).
    /// libpq ignores a file readable by others; so does this.
    static func passwordFromFile(for location: PostgresLocation, environment: [String: String]) -> String? {
        guard let path = environment["PGPASSFILE"] ?? environment["HOME"].map({ $0 + "/.pgpass" }),
              let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = attributes[.posixPermissions] as? Int, mode & 0o077 == 0,
              let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let host = location.host ?? "localhost"
        let wanted = [host, String(location.port), location.database, location.user]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = splitPasswordLine(String(line))
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    private static func splitPasswordLine(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
