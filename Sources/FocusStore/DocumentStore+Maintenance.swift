import Foundation
import Glibc

/// What `DocumentStore.verify()` found.
public struct VerifyReport: Sendable, Equatable {
    /// Entries examined.
    public var entriesChecked = 0
    /// KV blocks whose checksum was recomputed.
    public var blocksChecked = 0
    /// Keys (hex) of entries found torn or corrupt, and removed.
    public var removed: [String] = []
    /// One line per removed entry saying what was wrong.
    public var problems: [String] = []
}

/// What `DocumentStore.garbageCollect()` did.
public struct GCReport: Sendable, Equatable {
    /// Temporary and trash directories left by crashed writers or evictors, removed.
    public var leftoversRemoved = 0
    /// Keys (hex) of entries evicted, least recently used first.
    public var evicted: [String] = []
    /// Keys (hex) of entries that would have been evicted but were open (pinned).
    public var skippedPinned: [String] = []
    /// Store size in bytes before and after.
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0
}

extension DocumentStore {
    // MARK: - Listing

    /// Names of the entry directories (64 hex digits).
    func entryNames() throws -> [String] {
        try FileSystem.list(root).filter { (try? StoreKey(hex: $0)) != nil }
    }

    /// Manifests of all entries whose manifest reads back; entries that do not are skipped
    /// (`verify` removes them).
    public func list() throws -> [DocumentManifest] {
        try entryNames().compactMap { name in
            try? readManifest(entry: root + "/" + name, expectedKey: StoreKey(hex: name))
        }
    }

    /// Total bytes of all entries.
    public func totalBytes() throws -> Int64 {
        try entryNames().reduce(0) { $0 + (try FileSystem.directorySize(root + "/" + $1)) }
    }

    // MARK: - Integrity

    /// Checks every entry: its manifest as a whole and field by field, then every block (bound
    /// checksum and decompressed size) and the representative keys; torn or corrupt entries are
    /// removed and reported, so the engine rebuilds them on next use.
    public func verify() throws -> VerifyReport {
        var report = VerifyReport()
        for name in try entryNames() {
            let key = try StoreKey(hex: name)
            report.entriesChecked += 1
            let before = corruptionsDetected
            var reason = "manifest or file sizes invalid"
            do {
                _ = try readManifest(entry: entryPath(key), expectedKey: key)
            } catch let error as StoreError {
                if case .corruptEntry(_, let why) = error { reason = why }
            }
            guard let document = try openEntry(key, markUsed: false) else {
                if corruptionsDetected > before {
                    report.removed.append(name)
                    report.problems.append("\(name): \(reason)")
                }
                continue
            }
            var problem: String?
            for layer in 0..<document.manifest.layers where problem == nil {
                report.blocksChecked += document.manifest.layerRecords[layer].blocks.count
                if let block = try document.firstCorruptBlock(layer: layer) {
                    problem = "\(name): block \(block) of layer \(layer) fails its checksum or size"
                } else if (try? document.representativeKeys(layer: layer)) == nil {
                    problem = "\(name): representative keys of layer \(layer) fail their checksum"
                }
            }
            document.close()
            if let problem {
                try discardCorrupt(entryPath(key))
                report.removed.append(name)
                report.problems.append(problem)
            }
        }
        return report
    }

    // MARK: - Garbage collection

    /// Removes leftovers of crashed writers, then evicts least-recently-used entries while the
    /// store exceeds `budgetBytes`, skipping open entries.
    public func garbageCollect() throws -> GCReport {
        let leftovers = try removeLeftovers()
        var report = try evictLeastRecentlyUsed()
        report.leftoversRemoved = leftovers
        return report
    }

    /// Removes `trash-*` directories, and `tmp-*` directories whose writer is gone: not locked and
    /// not modified for `staleTemporaryAge` seconds.
    func removeLeftovers() throws -> Int {
        var removed = 0
        let now = FileSystem.now()
        for name in try FileSystem.list(root) {
            let path = root + "/" + name
            if name.hasPrefix("trash-") {
                try FileSystem.removeTree(path)
                removed += 1
            } else if name.hasPrefix("tmp-") {
                guard let modified = try FileSystem.modificationTime(path), now - modified >= staleTemporaryAge,
                      let descriptor = try? FileSystem.openDirectory(path)
                else { continue }
                defer { Glibc.close(descriptor) }
                guard try FileSystem.lock(descriptor, LOCK_EX | LOCK_NB, path: path) else { continue }
                try FileSystem.removeTree(path)
                removed += 1
            }
        }
        return removed
    }

    /// Evicts least-recently-used unpinned entries until the store fits `budgetBytes`.
    func evictLeastRecentlyUsed() throws -> GCReport {
        var candidates: [(name: String, bytes: Int64, lastUsed: Double)] = []
        for name in try entryNames() {
            let path = root + "/" + name
            let lastUsed = try FileSystem.modificationTime(path + "/" + EntryFiles.lastUsed)
                ?? FileSystem.modificationTime(path) ?? 0
            candidates.append((name, try FileSystem.directorySize(path), lastUsed))
        }
        var report = GCReport()
        report.bytesBefore = candidates.reduce(0) { $0 + $1.bytes }
        var total = report.bytesBefore
        if let budget = budgetBytes {
            candidates.sort { ($0.lastUsed, $0.name) < ($1.lastUsed, $1.name) }
            for candidate in candidates where total > budget {
                if try evictIfUnpinned(root + "/" + candidate.name) {
                    report.evicted.append(candidate.name)
                    total -= candidate.bytes
                } else {
                    report.skippedPinned.append(candidate.name)
                }
            }
        }
        report.bytesAfter = total
        return report
    }

    /// Takes the entry's pin exclusively without waiting; on success moves it away and deletes it.
    private func evictIfUnpinned(_ path: String) throws -> Bool {
        let pinPath = path + "/" + EntryFiles.pin
        let descriptor = Glibc.open(pinPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return errno == ENOENT ? try moveToTrashAndDelete(path) : false
        }
        defer { Glibc.close(descriptor) }
        guard try FileSystem.lock(descriptor, LOCK_EX | LOCK_NB, path: pinPath) else { return false }
        return try moveToTrashAndDelete(path)
    }
}
