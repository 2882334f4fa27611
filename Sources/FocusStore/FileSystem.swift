import FocusHashing
import Foundation
import Glibc

/// Thin wrappers over the POSIX calls the store needs, throwing `StoreError.io` on failure.
enum FileSystem {
    // MARK: - Opening and closing

    /// Opens `path` with `flags` (O_CLOEXEC is added); creates with `mode` (narrowed by the umask)
    /// when O_CREAT is set.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        let descriptor = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw StoreError.io(operation: "open", path: path, errno: errno) }
        return descriptor
    }

    /// Opens a directory for fsync or flock.
    static func openDirectory(_ path: String) throws -> Int32 {
        try open(path, O_RDONLY | O_DIRECTORY)
    }

    /// Creates one directory with `mode` (narrowed by the umask, never widened by it).
    static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws {
        guard mkdir(path, mode) == 0 else { throw StoreError.io(operation: "mkdir", path: path, errno: errno) }
    }

    /// Creates `path` and its missing parents with `mode`, like `mkdir -p -m`; existing ones stay as they are.
    static func makeDirectories(_ path: String, mode: mode_t) throws {
        if let info = try status(path) {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw StoreError.io(operation: "mkdir", path: path, errno: ENOTDIR) }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectories(parent, mode: mode) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else {
            throw StoreError.io(operation: "mkdir", path: path, errno: errno)
        }
    }

    // MARK: - Reading and writing

    /// Writes all `count` bytes or throws. `budget` (a test hook) makes the write fail with ENOSPC
    /// once the given number of bytes has been written through it.
    static func writeAll(
        _ descriptor: Int32, _ bytes: UnsafeRawPointer, count: Int, path: String, budget: WriteBudget?
    ) throws {
        var allowed = count
        if let budget {
            allowed = min(count, budget.remaining)
            budget.remaining -= allowed
        }
        var written = 0
        while written < allowed {
            let result = Glibc.write(descriptor, bytes + written, allowed - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(operation: "write", path: path, errno: errno)
            }
            written += result
        }
        if allowed < count { throw StoreError.io(operation: "write", path: path, errno: ENOSPC) }
    }

    /// Reads up to `count` bytes at `offset`; returns the number read (short only at end of file).
    static func readFully(
        _ descriptor: Int32, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int64, path: String
    ) throws -> Int {
        var done = 0
        while done < count {
            let result = pread(descriptor, buffer + done, count - done, off_t(offset) + off_t(done))
            if result < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(operation: "pread", path: path, errno: errno)
            }
            if result == 0 { break }
            done += result
        }
        return done
    }

    /// The whole content of a small file.
    static func readFile(_ path: String) throws -> Data {
        let descriptor = try open(path, O_RDONLY)
        defer { close(descriptor) }
        let size = Int(try fileSize(descriptor, path: path))
        var data = Data(count: size)
        let read = try data.withUnsafeMutableBytes { buffer in
            try readFully(descriptor, into: buffer.baseAddress!, count: size, offset: 0, path: path)
        }
        guard read == size else { throw StoreError.corruptEntry(path: path, reason: "file shrank while read") }
        return data
    }

    static func sync(_ descriptor: Int32, path: String) throws {
        guard fsync(descriptor) == 0 else { throw StoreError.io(operation: "fsync", path: path, errno: errno) }
    }

    /// fsyncs a directory so that renames and creations inside it are durable.
    static func syncDirectory(_ path: String) throws {
        let descriptor = try openDirectory(path)
        defer { close(descriptor) }
        try sync(descriptor, path: path)
    }

    // MARK: - Metadata

    static func fileSize(_ descriptor: Int32, path: String) throws -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw StoreError.io(operation: "fstat", path: path, errno: errno) }
        return Int64(info.st_size)
    }

    /// `stat` of a path, or nil when it does not exist.
    static func status(_ path: String) throws -> stat? {
        var info = stat()
        if stat(path, &info) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw StoreError.io(operation: "stat", path: path, errno: errno)
    }

    /// Modification time in seconds since 1970, or nil when the path does not exist.
    static func modificationTime(_ path: String) throws -> Double? {
        guard let info = try status(path) else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) * 1e-9
    }

    /// Sets access and modification time of `path` to `seconds` since 1970 (fine-grained clock).
    static func setModificationTime(_ path: String, seconds: Double) throws {
        let whole = seconds.rounded(.down)
        let stamp = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
        var times = [stamp, stamp]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else {
            throw StoreError.io(operation: "utimensat", path: path, errno: errno)
        }
    }

    /// Current wall-clock time in seconds since 1970, with nanosecond resolution.
    static func now() -> Double {
        var stamp = timespec()
        clock_gettime(CLOCK_REALTIME, &stamp)
        return Double(stamp.tv_sec) + Double(stamp.tv_nsec) * 1e-9
    }

    // MARK: - Directories

    /// Names in a directory (without "." and ".."), or [] when it does not exist.
    static func list(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw StoreError.io(operation: "opendir", path: path, errno: errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes a directory tree; tolerates parts that vanish concurrently.
    static func removeTree(_ path: String) throws {
        guard let info = try status(path) else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT {
                throw StoreError.io(operation: "rmdir", path: path, errno: errno)
            }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw StoreError.io(operation: "unlink", path: path, errno: errno)
        }
    }

    /// Total size of the regular files directly inside a directory.
    static func directorySize(_ path: String) throws -> Int64 {
        var total: Int64 = 0
        for name in try list(path) {
            if let info = try status(path + "/" + name) { total += Int64(info.st_size) }
        }
        return total
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw StoreError.io(operation: "rename to \(to)", path: from, errno: errno)
        }
    }

    // MARK: - Locks and names

    /// flock with EINTR retry; returns false when a non-blocking lock is held elsewhere.
    static func lock(_ descriptor: Int32, _ operation: Int32, path: String) throws -> Bool {
        while flock(descriptor, operation) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK { return false }
            throw StoreError.io(operation: "flock", path: path, errno: errno)
        }
        return true
    }

    /// 16 random hex digits for temporary names.
    static func randomSuffix() -> String {
        XXH64.hexString(UInt64.random(in: 0...UInt64.max))
    }
}

/// Test hook: the number of bytes an entry writer may still write before failing with ENOSPC.
final class WriteBudget {
    var remaining: Int
    init(remaining: Int) { self.remaining = remaining }
}
