import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Run lock

/// Why the run lock could not be taken.
public enum RunLockError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Another process (or another `RunLock` of this one) holds the lock.
    case alreadyHeld(path: String, holder: String?)
    /// The lock file could not be opened or locked.
    case cannotLock(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .alreadyHeld(let path, let holder):
            return "\(path): another focus instance holds the lock"
                + (holder.map { " (pid \($0))" } ?? "")
        case .cannotLock(let path, let code):
            return "\(path): cannot lock: \(String(cString: strerror(code)))"
        }
    }
}

/// An exclusive, non-blocking `flock(2)` on `<database>.lock`, so that only one
/// daemon or drain runs per database. The kernel drops the lock when the process
/// exits, however it exits, so a crash never leaves a stale lock; the file itself
/// stays and holds the pid of the last holder, for diagnosis only.
public final class RunLock {
    /// The lock file path.
    public let path: String
    private var descriptor: Int32

    /// Takes the lock for the database at `databasePath`, or throws at once. The lock file sits
    /// next to the database's resolved path (symbolic links followed, `..` removed), so every
    /// spelling of one database takes one lock. The database's folder must exist.
    /// - Throws: `RunLockError.alreadyHeld` when another holder has it.
    public init(databasePath: String) throws {
        let path = Self.resolvedPath(databasePath) + ".lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw RunLockError.cannotLock(path: path, errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                    .trimmingWhitespace()
                throw RunLockError.alreadyHeld(path: path, holder: holder?.isEmpty == false ? holder : nil)
            }
            throw RunLockError.cannotLock(path: path, errno: code)
        }
        self.path = path
        self.descriptor = descriptor
        let pid = "\(getpid())\n"
        if ftruncate(descriptor, 0) == 0 {
            _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        }
    }

    /// The canonical path of a database that may not exist yet: the file itself resolved when it
    /// exists (it may be a link), else its folder resolved with the file name appended.
    static func resolvedPath(_ path: String) -> String {
        if let resolved = canonical(path) { return resolved }
        let url = URL(fileURLWithPath: path)
        guard let folder = canonical(url.deletingLastPathComponent().path) else { return url.standardizedFileURL.path }
        return (folder == "/" ? "" : folder) + "/" + url.lastPathComponent
    }

    private static func canonical(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Releases the lock (also done on deinit and by the kernel at exit).
    public func unlock() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { unlock() }
}
