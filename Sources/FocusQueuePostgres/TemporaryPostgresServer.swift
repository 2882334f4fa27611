import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Why a temporary PostgreSQL server could not start.
public enum TemporaryPostgresServerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No folder with `initdb` and `pg_ctl` was found (`make deps` installs them).
    case binariesNotFound(searched: [String])
    /// A setup command failed; `output` is the end of what it printed.
    case commandFailed(command: String, status: Int32, output: String)

    public var description: String {
        switch self {
        case .binariesNotFound(let searched):
            return "PostgreSQL server programs (initdb, pg_ctl) not found in \(searched.joined(separator: ", ")): "
                + "run `make deps` or set FOCUS_POSTGRES_BIN"
        case .commandFailed(let command, let status, let output):
            return "\(command) exited with \(status): \(output)"
        }
    }
}

/// A PostgreSQL server of its own in a temporary folder, for tests and benchmarks: `initdb`,
/// then `pg_ctl start` with a Unix socket in the folder and a free loopback port; `stop()` ends
/// it and removes the folder. PostgreSQL refuses to run as root, so when this process is root
/// the server runs as the system user `focus-postgres` (created when missing).
///
/// Connections through the socket are trusted; TCP connections need `password`.
public final class TemporaryPostgresServer: @unchecked Sendable {
    /// The temporary folder: data, socket and log.
    public let folder: String
    /// The loopback TCP port (also the number in the socket's name).
    public let port: Int
    /// The superuser role.
    public let user = "focus"
    /// The superuser's password, for TCP connections.
    public let password: String
    private let bin: String
    private let runAs: String?
    private var stopped = false

    /// The system user the server runs as when this process is root.
    public static let systemUser = "focus-postgres"

    /// Starts a new server.
    /// - Throws: `TemporaryPostgresServerError`.
    public init() throws {
        bin = try Self.findBinaries()
        runAs = geteuid() == 0 ? Self.systemUser : nil
        // The server's user must reach its folder: under root, /tmp rather than a private $TMPDIR.
        let parent = runAs == nil ? FileManager.default.temporaryDirectory.path : "/tmp"
        folder = parent + "/focus-pg-\(UUID().uuidString.prefix(8))"
        password = UUID().uuidString
        port = Self.freePort()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        do {
            try start()
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// One server for the whole process, started on first use and stopped when the process
    /// exits (tests share it; each test makes its own database with `createDatabase()`).
    public static let shared: Result<TemporaryPostgresServer, Error> = {
        let result = Result { try TemporaryPostgresServer() }
        if case .success = result {
            atexit {
                if case .success(let server) = TemporaryPostgresServer.shared { server.stop() }
            }
        }
        return result
    }()

    /// A location of `database` through the Unix socket (no password needed).
    public func socketLocation(database: String = "postgres") -> PostgresLocation {
        PostgresLocation(user: user, host: nil, port: port, socketFolder: folder, database: database)
    }

    /// A location of `database` over loopback TCP, with the superuser's password.
    public func tcpLocation(database: String = "postgres") -> PostgresLocation {
        PostgresLocation(user: user, host: "127.0.0.1", port: port, database: database, password: password)
    }

    /// Creates an empty database with a fresh name and returns its socket location.
    public func createDatabase() throws -> PostgresLocation {
        let name = "focus_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try PostgresSession(location: socketLocation()).query("CREATE DATABASE \(name)")
        return socketLocation(database: String(name))
    }

    /// Drops a database made by `createDatabase`, closing its connections.
    public func dropDatabase(_ location: PostgresLocation) {
        _ = try? PostgresSession(location: socketLocation()).query(
            "DROP DATABASE IF EXISTS \(location.database) WITH (FORCE)")
    }

    /// Stops the server at once and removes its folder; later calls do nothing.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        _ = try? run("pg_ctl", ["-D", folder + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: folder)
    }

    // MARK: - Setup

    private func start() throws {
        if let runAs {
            try Self.ensureSystemUser(runAs)
            try Self.command("/bin/chown", [runAs, folder])
        }
        let passwordFile = folder + "/password"
        try password.write(toFile: passwordFile, atomically: false, encoding: .utf8)
        if let runAs { try Self.command("/bin/chown", [runAs, passwordFile]) }
        try run("initdb", ["-D", folder + "/data", "-U", user, "--pwfile", passwordFile, "-E", "UTF8",
                           "--auth-local", "trust", "--auth-host", "scram-sha-256", "--no-sync"])
        try run("pg_ctl", ["-D", folder + "/data", "-l", folder + "/server.log", "-w", "-t", "60", "-o",
                           "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off "
                           + "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                           "start"])
    }

    /// Runs a server program, as `runAs` when set.
    @discardableResult
    private func run(_ program: String, _ arguments: [String]) throws -> String {
        let path = bin + "/" + program
        if let runAs { return try Self.command("/usr/sbin/runuser", ["-u", runAs, "--", path] + arguments) }
        return try Self.command(path, arguments)
    }

    /// Runs a program with `posix_spawn`, waits for it with `waitpid`, and returns its output;
    /// throws when it fails. (The server that `pg_ctl start` leaves running keeps none of our
    /// descriptors open: its output goes to its own log.)
    @discardableResult
    static func command(_ path: String, _ arguments: [String]) throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("focus-pg-\(UUID().uuidString).log").path
        defer { unlink(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw TemporaryPostgresServerError.commandFailed(
                command: path, status: -1, output: String(cString: strerror(spawned)))
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard code == 0 else {
            throw TemporaryPostgresServerError.commandFailed(
                command: ([path] + arguments).joined(separator: " "), status: code, output: String(output.suffix(2000)))
        }
        return output
    }

    private static func ensureSystemUser(_ name: String) throws {
        guard getpwnam(name) == nil else { return }
        do {
            try command("/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
        } catch {
            // Another process may have created it meanwhile.
            if getpwnam(name) == nil { throw error }
        }
    }

    /// `$FOCUS_POSTGRES_BIN`, else the newest `/usr/lib/postgresql/<version>/bin`, else `PATH`.
    static func findBinaries() throws -> String {
        var candidates: [String] = []
        if let folder = ProcessInfo.processInfo.environment["FOCUS_POSTGRES_BIN"] { candidates.append(folder) }
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for folder in candidates where ["initdb", "pg_ctl", "postgres"].allSatisfy({
            FileManager.default.isExecutableFile(atPath: folder + "/" + $0)
        }) {
            return folder
        }
        throw TemporaryPostgresServerError.binariesNotFound(searched: candidates)
    }

    /// A loopback port nothing listens on now (the kernel's pick for port 0).
    static func freePort() -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                bind(socketFD, raw, length) == 0 && getsockname(socketFD, raw, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : 54_329
    }
}
