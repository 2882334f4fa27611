import ArgumentParser
import FocusQueue
import FocusQueuePostgres
import Foundation

/// `--db PATH|URL` (or `FOCUS_DB`) and the log format.
struct QueueOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The queue: an SQLite file, or postgres://user@host:port/database shared by workers on several hosts "
            + "(password from PGPASSWORD or ~/.pgpass). Default: $FOCUS_DB or .focus/focus.sqlite.",
        valueName: "path|url"))
    var db: String?

    @Option(name: .long, help: "Logs on stderr: text or json (JSON lines).")
    var logFormat: LogFormat = .text

    /// The `--db` text, or its default.
    var text: String { db ?? Self.defaultPath }

    /// The SQLite file, or nil when `--db` names a PostgreSQL server (or cannot be read).
    var path: String? {
        if case .sqlite(let path) = try? QueueLocation(text) { return path }
        return nil
    }

    /// `$FOCUS_DB`, or `.focus/focus.sqlite`.
    static var defaultPath: String { ProcessInfo.processInfo.environment["FOCUS_DB"] ?? ".focus/focus.sqlite" }

    /// Where the queue is.
    /// - Throws: `QueueFailure` (exit 64) for a URL of an unknown scheme or one that cannot be used.
    func location() throws -> QueueLocation {
        do {
            return try QueueLocation(text)
        } catch {
            throw QueueFailure(error)
        }
    }

    /// Creates the SQLite database's folder when missing (mode 0755 at most, whatever the umask);
    /// nothing for a PostgreSQL queue.
    func createFolder() throws {
        guard case .sqlite(let path) = try location() else { return }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try createDirectories(directory, mode: 0o755)
        } catch {
            throw CLIError.io("\(directory): cannot create the database folder (\(error))")
        }
    }

    /// Opens (creating an SQLite file when needed) and migrates the queue. Nothing is written
    /// before the location is checked, or to a database of a newer schema.
    func open() throws -> any QueueBackend {
        let location = try location()
        try createFolder()
        do {
            return try location.open()
        } catch {
            throw QueueFailure(error)
        }
    }
}

enum LogFormat: String, ExpressibleByArgument {
    case text, json
}

/// A queue or database error carried to the exit code the queue module chose for it.
struct QueueFailure: Error, CustomStringConvertible {
    let underlying: Error
    init(_ underlying: Error) { self.underlying = underlying }
    var description: String { "\(underlying)" }
    var exitCode: Int32 { FocusExitCode.forError(underlying).rawValue }
}

/// Runs a queue command body, mapping queue errors to their exit codes.
func withQueueExitCodes(_ body: () throws -> Void) throws {
    try withExitCodes {
        do {
            try body()
        } catch let failure as QueueFailure {
            printError("focus: \(failure.description)")
            throw ExitCode(failure.exitCode)
        } catch let error as CLIError {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            printError("focus: \(error)")
            throw ExitCode(FocusExitCode.forError(error).rawValue)
        }
    }
}

/// Creates `path` and its missing parents with `mode` (the umask can only narrow it), like
/// `mkdir -p -m`. An existing folder is left as it is.
func createDirectories(_ path: String, mode: mode_t) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw CLIError.io("\(path): exists and is not a folder") }
        return
    }
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    if parent != path && !parent.isEmpty { try createDirectories(parent, mode: mode) }
    guard mkdir(path, mode) == 0 || errno == EEXIST else {
        throw CLIError.io("\(path): mkdir failed: \(String(cString: strerror(errno)))")
    }
}
