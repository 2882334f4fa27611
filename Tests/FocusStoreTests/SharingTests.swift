import Dispatch
import Foundation
import Testing
@testable import FocusStore

@Suite("Eviction, pins and the prefill lock")
struct SharingTests {
    let tokens = 128
    let kvDim = 32

    private func write(_ store: DocumentStore, _ index: Int) throws -> StoredDocument {
        let data = makeLayers(layers: 2, tokens: tokens, kvDim: kvDim, seed: UInt64(index))
        return try writeDocument(store, key: testKey(index), header: testHeader(tokens: tokens, layers: 2, kvDim: kvDim), data: data)
    }

    @Test("garbage collection evicts least recently used entries and skips open ones")
    func lruEviction() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        try write(store, 1).close()
        let pinned = try write(store, 2)
        try write(store, 3).close()
        try #require(try store.open(testKey(1))).close()
        let entryBytes = try FileSystem.directorySize(directory.appendingPathComponent(testKey(1).hex).path)
        let total = try store.totalBytes()
        #expect(total >= 3 * entryBytes - 3 * 64)

        store.budgetBytes = total - 1
        let first = try store.garbageCollect()
        #expect(first.skippedPinned == [testKey(2).hex])
        #expect(first.evicted == [testKey(3).hex])
        #expect(first.bytesAfter <= total - 1)
        #expect(try store.open(testKey(3)) == nil)

        pinned.close()
        store.budgetBytes = 1
        let second = try store.garbageCollect()
        #expect(second.evicted == [testKey(2).hex, testKey(1).hex])
        #expect(try store.totalBytes() == 0)
    }

    @Test("writing over budget evicts older unpinned entries but never the new one")
    func evictionOnWrite() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        try write(store, 1).close()
        let open = try write(store, 2)
        store.budgetBytes = 1
        let newest = try write(store, 3)
        #expect(try store.list().map(\.key).sorted() == [testKey(2).hex, testKey(3).hex].sorted())
        #expect(try readLayer(newest, 0).keys.count == tokens * kvDim)
        open.close()
        newest.close()
    }

    @Test("an entry pinned by another store instance is not evicted")
    func pinAcrossInstances() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reader = try DocumentStore(directory: directory)
        let evictor = try DocumentStore(directory: directory, budgetBytes: 1)
        try write(reader, 1).close()
        let held = try #require(try reader.open(testKey(1)))
        #expect(try evictor.garbageCollect().skippedPinned == [testKey(1).hex])
        held.close()
        #expect(try collectOnceUnpinned(evictor).evicted == [testKey(1).hex])
    }

    /// Garbage-collects, retrying for up to a second while an entry is reported pinned: other
    /// tests in this process spawn child processes, and a child holds copies of our descriptors
    /// (the pin's lock included) for the instant between its fork and its exec.
    func collectOnceUnpinned(_ store: DocumentStore) throws -> GCReport {
        var report = try store.garbageCollect()
        for _ in 0..<20 where !report.skippedPinned.isEmpty {
            usleep(50_000)
            report = try store.garbageCollect()
        }
        return report
    }

    @Test(
        "an entry held open by another process is not evicted",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
    func pinAcrossProcesses() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory, budgetBytes: 1)
        try write(store, 1).close()
        let pinPath = directory.appendingPathComponent(testKey(1).hex).appendingPathComponent("pin").path
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "exec 9<\"$0\"; /usr/bin/flock -s 9 && echo locked && exec sleep 30", pinPath]
        let output = Pipe()
        holder.standardOutput = output
        try holder.run()
        defer {
            if holder.isRunning { holder.terminate() }
            holder.waitUntilExit()
        }
        let announced = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        try #require(announced.hasPrefix("locked"))
        #expect(try store.garbageCollect().skippedPinned == [testKey(1).hex])
        holder.terminate()
        holder.waitUntilExit()
        #expect(try store.garbageCollect().evicted == [testKey(1).hex])
    }

    @Test("two threads needing the same document prefill it once under the prefill lock")
    func prefillOnce() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let key = testKey(42)
        let prefills = Counter()
        let results = Counter()
        let arrived = Counter()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            arrived.increment()
            let document = try? store.withPrefillLock(key) { () throws -> StoredDocument in
                // Both threads have asked for the lock before the holder looks at the store, so
                // without the lock both would miss and prefill.
                arrived.wait(until: 2)
                if let cached = try store.open(key) { return cached }
                prefills.increment()
                return try write(store, 42)
            }
            if let document, document.manifest.key == key.hex { results.increment() }
        }
        #expect(prefills.value == 1)
        #expect(results.value == 2)
    }
}

/// A thread-safe counter for the concurrency test.
final class Counter: @unchecked Sendable {
    private let condition = NSCondition()
    private var count = 0

    func increment() {
        condition.lock()
        count += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the count reaches `target` (at most 10 seconds, so a bug cannot hang the suite).
    func wait(until target: Int) {
        let deadline = Date().addingTimeInterval(10)
        condition.lock()
        while count < target && condition.wait(until: deadline) {}
        condition.unlock()
    }

    var value: Int {
        condition.lock()
        defer { condition.unlock() }
        return count
    }
}
