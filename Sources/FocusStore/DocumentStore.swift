import Foundation
import Glibc

/// A directory of prefilled documents' KV, one entry directory per key, shared safely between
/// threads and processes.
///
/// Layout: `<directory>/<key hex>/` holds `manifest.json`, `layer-NNN.kv`, `keys-NNN.f32`, `pin`
/// and `last-used`; `<directory>/locks/<key hex>.lock` serializes prefills of one key; writers
/// work in `tmp-<random>/` and publish by rename; evicted entries pass through `trash-<random>/`.
///
/// Typical use, prefilling each document once across threads and processes:
/// ```swift
/// let document = try store.withPrefillLock(key) {
///     if let cached = try store.open(key) { return cached }
///     return try store.write(key, header: header) { writer in
///         for layer in 0..<header.layers { try writer.appendLayer(layer, keys: k, values: v) }
///         try writer.setSinks([sinks])
///     }
/// }
/// ```
/// Lock files in `locks/` are empty and never deleted (deleting them would break the exclusion).
public final class DocumentStore: @unchecked Sendable {
    /// The store directory.
    public let directory: URL
    /// Evict least-recently-used entries while the store holds more than this many bytes (nil: never).
    public var budgetBytes: Int64? {
        get { counterLock.withLock { budget } }
        set { counterLock.withLock { budget = newValue } }
    }
    /// Seconds after which an unlocked temporary directory counts as left behind by a crashed writer.
    var staleTemporaryAge: Double = 60
    /// Test hook: writes fail with ENOSPC after this many bytes of one entry.
    var failWritesAfterBytes: Int?
    /// Mode of the folders the store creates (0755 at most); its files get the same bits without
    /// execute (0644, or 0600 for a private store).
    public let directoryMode: mode_t
    var fileMode: mode_t { directoryMode & 0o666 }
    private let counterLock = NSLock()
    private var corruptions = 0
    private var budget: Int64?

    /// Opens (creating if needed) a store at `directory` and removes what crashed writers left.
    /// Folders it creates get `directoryMode` narrowed to at most 0755 (pass 0700 for a store only
    /// its owner may read), whatever the process umask.
    public init(directory: URL, budgetBytes: Int64? = nil, directoryMode: mode_t = 0o755) throws {
        self.directory = directory
        self.budget = budgetBytes
        self.directoryMode = directoryMode & 0o755
        try FileSystem.makeDirectories(directory.path, mode: self.directoryMode)
        try FileSystem.makeDirectories(directory.appendingPathComponent("locks").path, mode: self.directoryMode)
        _ = try removeLeftovers()
    }

    /// Number of torn or corrupt entries found (and discarded) by this instance.
    public var corruptionsDetected: Int {
        counterLock.lock()
        defer { counterLock.unlock() }
        return corruptions
    }

    var root: String { directory.path }

    func entryPath(_ key: StoreKey) -> String { Self.entryPath(in: directory, keyHex: key.hex) }

    /// The folder of the entry whose key is `keyHex` in the store at `directory`.
    public static func entryPath(in directory: URL, keyHex: String) -> String { directory.path + "/" + keyHex }

    /// Whether the store at `directory` holds an entry for the key `keyHex`, without opening the
    /// store (for a process that only watches which entries remain, e.g. after eviction).
    public static func holdsEntry(in directory: URL, keyHex: String) -> Bool {
        FileManager.default.fileExists(atPath: entryPath(in: directory, keyHex: keyHex))
    }

    // MARK: - Opening

    /// Opens the entry for `key`, pinned until the returned document is closed.
    /// Returns nil on a miss; a torn or corrupt entry is removed, counted, and reported as a miss.
    /// With `expected`, an entry whose manifest disagrees with that header in any field (token
    /// count, shapes, model, prefill) counts as corrupt too.
    public func open(_ key: StoreKey, expecting expected: DocumentHeader? = nil) throws -> StoredDocument? {
        try openEntry(key, markUsed: true, expecting: expected)
    }

    /// Opens an entry; `markUsed` records the use for LRU eviction (verification does not).
    func openEntry(_ key: StoreKey, markUsed: Bool, expecting expected: DocumentHeader? = nil) throws -> StoredDocument? {
        let path = entryPath(key)
        guard try FileSystem.status(path) != nil else { return nil }
        let pinPath = path + "/" + EntryFiles.pin
        guard let pin = try openPin(pinPath) else {
            try discardCorrupt(path)
            return nil
        }
        guard try pinStillCurrent(pin, path: pinPath) else {
            Glibc.close(pin)
            return nil
        }
        do {
            let manifest = try readManifest(entry: path, expectedKey: key)
            if let expected, let difference = manifest.header.firstDifference(from: expected) {
                throw StoreError.corruptEntry(path: path + "/" + EntryFiles.manifest, reason: difference)
            }
            let document = try StoredDocument(manifest: manifest, path: path, pinDescriptor: pin)
            if markUsed {
                try? FileSystem.setModificationTime(path + "/" + EntryFiles.lastUsed, seconds: FileSystem.now())
            }
            return document
        } catch {
            Glibc.close(pin)
            guard case StoreError.corruptEntry = error else { throw error }
            try discardCorrupt(path)
            return nil
        }
    }

    /// Opens a pin file and takes a shared lock on it; nil when the file is missing.
    private func openPin(_ pinPath: String) throws -> Int32? {
        let descriptor = Glibc.open(pinPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw StoreError.io(operation: "open", path: pinPath, errno: errno)
        }
        do {
            _ = try FileSystem.lock(descriptor, LOCK_SH, path: pinPath)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        return descriptor
    }

    /// After waiting for the lock: true when the pin file at `pinPath` is still the one locked
    /// (an evictor may have moved the entry away meanwhile).
    private func pinStillCurrent(_ descriptor: Int32, path pinPath: String) throws -> Bool {
        var opened = stat()
        guard fstat(descriptor, &opened) == 0 else { throw StoreError.io(operation: "fstat", path: pinPath, errno: errno) }
        guard let current = try FileSystem.status(pinPath) else { return false }
        return current.st_ino == opened.st_ino && current.st_dev == opened.st_dev
    }

    func readManifest(entry path: String, expectedKey: StoreKey?) throws -> DocumentManifest {
        let manifestPath = path + "/" + EntryFiles.manifest
        let data: Data
        do {
            data = try FileSystem.readFile(manifestPath)
        } catch StoreError.io(_, _, ENOENT) {
            throw StoreError.corruptEntry(path: manifestPath, reason: "manifest is missing")
        }
        let manifest: DocumentManifest
        do {
            manifest = try JSONDecoder().decode(DocumentManifest.self, from: data)
        } catch {
            throw StoreError.corruptEntry(path: manifestPath, reason: "manifest does not decode: \(error)")
        }
        try manifest.validate(path: manifestPath)
        if let expectedKey, manifest.key != expectedKey.hex {
            throw StoreError.corruptEntry(path: manifestPath, reason: "manifest key \(manifest.key) differs from \(expectedKey.hex)")
        }
        return manifest
    }

    // MARK: - Writing

    /// Writes a document atomically. `produce` appends every layer (and optionally the sinks);
    /// the entry appears only after all its files and the store directory are fsynced. On any
    /// error (including `produce` throwing or a full disk) the temporary files are removed, the
    /// store is unchanged, and the error is rethrown. Returns the new entry, opened and pinned.
    /// If another writer published the same key first, its entry is returned instead.
    public func write(_ key: StoreKey, header: DocumentHeader, produce: (DocumentWriter) throws -> Void) throws -> StoredDocument {
        guard header.tokenCount > 0, header.layers > 0, header.kvDim > 0, header.blockSize > 0 else {
            throw StoreError.invalidArgument("tokenCount, layers, kvDim and blockSize must be positive: \(header)")
        }
        let temporary = root + "/tmp-" + FileSystem.randomSuffix()
        try FileSystem.makeDirectory(temporary, mode: directoryMode)
        var directoryLock: Int32 = -1
        var pin: Int32 = -1
        do {
            directoryLock = try FileSystem.openDirectory(temporary)
            _ = try FileSystem.lock(directoryLock, LOCK_EX, path: temporary)
            let budget = failWritesAfterBytes.map { WriteBudget(remaining: $0) }
            let writer = DocumentWriter(
                key: key, header: header, directory: temporary, fileMode: fileMode, budget: budget)
            let manifest: DocumentManifest
            do {
                try produce(writer)
                manifest = try writer.finish()
            } catch {
                writer.abandon()
                throw error
            }
            guard let pinned = try openPin(temporary + "/" + EntryFiles.pin) else {
                throw StoreError.corruptEntry(path: temporary, reason: "pin file vanished before publishing")
            }
            pin = pinned
            let published = try publish(temporary, as: key)
            Glibc.close(directoryLock)
            directoryLock = -1
            guard published else {
                Glibc.close(pin)
                pin = -1
                try? FileSystem.removeTree(temporary)
                if let existing = try open(key) { return existing }
                throw StoreError.corruptEntry(path: entryPath(key), reason: "entry vanished while being replaced")
            }
            let document = try StoredDocument(manifest: manifest, path: entryPath(key), pinDescriptor: pin)
            pin = -1
            if budgetBytes != nil { _ = try? evictLeastRecentlyUsed() }
            return document
        } catch {
            if pin >= 0 { Glibc.close(pin) }
            if directoryLock >= 0 { Glibc.close(directoryLock) }
            try? FileSystem.removeTree(temporary)
            throw error
        }
    }

    /// Renames the finished temporary directory to the key's name and fsyncs the store directory.
    /// Returns false when a complete entry already holds the name.
    private func publish(_ temporary: String, as key: StoreKey) throws -> Bool {
        let final = entryPath(key)
        for _ in 0..<2 {
            if Glibc.rename(temporary, final) == 0 {
                try FileSystem.syncDirectory(root)
                return true
            }
            let code = errno
            guard code == EEXIST || code == ENOTEMPTY else {
                throw StoreError.io(operation: "rename to \(final)", path: temporary, errno: code)
            }
            if let existing = try open(key) {
                existing.close()
                return false
            }
        }
        throw StoreError.io(operation: "rename to \(final)", path: temporary, errno: EEXIST)
    }

    // MARK: - Prefill lock

    /// Runs `body` holding an exclusive flock on the key's lock file, so that threads and processes
    /// needing the same uncached document prefill it once: inside `body`, call `open` first and
    /// prefill only on a miss.
    public func withPrefillLock<T>(_ key: StoreKey, _ body: () throws -> T) throws -> T {
        let lockPath = root + "/locks/" + key.hex + ".lock"
        let descriptor = try FileSystem.open(lockPath, O_RDWR | O_CREAT, mode: fileMode)
        defer { Glibc.close(descriptor) }
        _ = try FileSystem.lock(descriptor, LOCK_EX, path: lockPath)
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    // MARK: - Removal

    /// Removes the entry for `key` even if it is open elsewhere (for entries found corrupt by a
    /// reader). Returns false when there was none.
    @discardableResult
    public func remove(_ key: StoreKey) throws -> Bool {
        try moveToTrashAndDelete(entryPath(key))
    }

    func discardCorrupt(_ path: String) throws {
        counterLock.lock()
        corruptions += 1
        counterLock.unlock()
        _ = try moveToTrashAndDelete(path)
    }

    /// Renames an entry away (so it vanishes atomically) and deletes it; false if it was gone.
    func moveToTrashAndDelete(_ path: String) throws -> Bool {
        let trash = root + "/trash-" + FileSystem.randomSuffix()
        guard Glibc.rename(path, trash) == 0 else {
            if errno == ENOENT { return false }
            throw StoreError.io(operation: "rename to \(trash)", path: path, errno: errno)
        }
        try FileSystem.removeTree(trash)
        return true
    }
}
