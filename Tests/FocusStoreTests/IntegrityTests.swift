import Foundation
import Glibc
import Testing
@testable import FocusStore

@Suite("Integrity and atomic writes")
struct IntegrityTests {
    let tokens = 130
    let kvDim = 32
    let layers = 2

    private func populatedStore(_ directory: URL, keys: [Int]) throws -> (DocumentStore, [LayerKV]) {
        let store = try DocumentStore(directory: directory)
        let data = makeLayers(layers: layers, tokens: tokens, kvDim: kvDim, seed: 11)
        for index in keys {
            try writeDocument(store, key: testKey(index), header: testHeader(tokens: tokens, layers: layers, kvDim: kvDim), data: data)
                .close()
        }
        return (store, data)
    }

    private func layerFile(_ directory: URL, _ key: StoreKey, _ name: String) -> String {
        directory.appendingPathComponent(key.hex).appendingPathComponent(name).path
    }

    @Test("a flipped byte in a block is caught on read and by verify")
    func flippedByte() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try populatedStore(directory, keys: [1, 2])
        let manifest = try #require(try store.open(testKey(1))).manifest
        let target = manifest.layerRecords[1].blocks[1]
        let path = layerFile(directory, testKey(1), "layer-001.kv")
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(target.offset) + UInt64(target.length / 2))
        let original = try #require(try handle.read(upToCount: 1))
        try handle.seek(toOffset: UInt64(target.offset) + UInt64(target.length / 2))
        handle.write(Data([original[0] ^ 0x10]))
        try handle.close()

        let document = try #require(try store.open(testKey(1)))
        var keys = [Float](repeating: 0, count: tokens * kvDim)
        var values = keys
        #expect(throws: StoreError.corruptBlock(file: path, layer: 1, block: 1)) {
            _ = try keys.withUnsafeMutableBufferPointer { k in
                try values.withUnsafeMutableBufferPointer { v in
                    try document.readBlocks(layer: 1, blocks: [0, 1], keys: k.baseAddress!, values: v.baseAddress!)
                }
            }
        }
        let intact = try keys.withUnsafeMutableBufferPointer { k in
            try values.withUnsafeMutableBufferPointer { v in
                try document.readBlocks(layer: 1, blocks: [0, 2], keys: k.baseAddress!, values: v.baseAddress!)
            }
        }
        #expect(intact == 64 + 2)
        document.close()

        let report = try store.verify()
        #expect(report.entriesChecked == 2)
        #expect(report.removed == [testKey(1).hex])
        #expect(report.problems.first?.contains("block 1 of layer 1") == true)
        #expect(try store.open(testKey(1)) == nil)
        #expect(try store.open(testKey(2)) != nil)
    }

    @Test("a truncated layer file is a miss on open and a removal in verify")
    func truncatedFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try populatedStore(directory, keys: [1, 2])
        for index in [1, 2] {
            let path = layerFile(directory, testKey(index), "layer-000.kv")
            let size = try #require(try FileSystem.status(path)).st_size
            #expect(truncate(path, size - 10) == 0)
        }
        #expect(try store.open(testKey(1)) == nil)
        #expect(store.corruptionsDetected == 1)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(testKey(1).hex).path))
        let report = try store.verify()
        #expect(report.removed == [testKey(2).hex])
        #expect(store.corruptionsDetected == 2)
        #expect(try store.list().isEmpty)
    }

    @Test("a corrupt manifest or representative-key file is detected")
    func corruptSideFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try populatedStore(directory, keys: [1, 2])
        try Data("{not json".utf8).write(to: directory.appendingPathComponent(testKey(1).hex).appendingPathComponent("manifest.json"))
        #expect(try store.open(testKey(1)) == nil)
        let keysPath = layerFile(directory, testKey(2), "keys-001.f32")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: keysPath))
        bytes[5] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: keysPath))
        let document = try #require(try store.open(testKey(2)))
        #expect(throws: StoreError.self) { try document.representativeKeys(layer: 1) }
        document.close()
        #expect(try store.verify().removed == [testKey(2).hex])
    }

    @Test("a produce closure that throws midway leaves no entry and no temporary files")
    func abortedWrite() throws {
        struct PrefillInterrupted: Error {}
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let data = makeLayers(layers: layers, tokens: tokens, kvDim: kvDim, seed: 12)
        #expect(throws: PrefillInterrupted.self) {
            _ = try store.write(testKey(1), header: testHeader(tokens: tokens, layers: layers, kvDim: kvDim)) { writer in
                try data[0].keys.withUnsafeBufferPointer { k in
                    try data[0].values.withUnsafeBufferPointer { v in try writer.appendLayer(0, keys: k, values: v) }
                }
                throw PrefillInterrupted()
            }
        }
        #expect(try store.open(testKey(1)) == nil)
        #expect(try strayNames(directory).isEmpty)
        #expect(try store.list().isEmpty)
    }

    @Test("a crashed writer's temporary directory, even a complete one, is never visible and is cleaned; a live one is kept")
    func crashedWriterLeftovers() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let dead = directory.appendingPathComponent("tmp-crashed")
        let live = directory.appendingPathComponent("tmp-live")
        for folder in [dead, live] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
            try Data(repeating: 7, count: 100).write(to: folder.appendingPathComponent("layer-000.kv"))
            try FileSystem.setModificationTime(folder.path, seconds: FileSystem.now() - 3600)
        }
        let liveLock = try FileSystem.openDirectory(live.path)
        defer { close(liveLock) }
        #expect(try FileSystem.lock(liveLock, LOCK_EX, path: live.path))
        #expect(try store.list().isEmpty)

        let report = try store.garbageCollect()
        #expect(report.leftoversRemoved == 1)
        #expect(!FileManager.default.fileExists(atPath: dead.path))
        #expect(FileManager.default.fileExists(atPath: live.path))

        let data = makeLayers(layers: layers, tokens: tokens, kvDim: kvDim, seed: 13)
        try writeDocument(store, key: testKey(9), header: testHeader(tokens: tokens, layers: layers, kvDim: kvDim), data: data)
            .close()
        try FileSystem.rename(directory.appendingPathComponent(testKey(9).hex).path, dead.path)
        try FileSystem.setModificationTime(dead.path, seconds: FileSystem.now() - 3600)
        #expect(try store.open(testKey(9)) == nil)
        #expect(try store.list().isEmpty)
        _ = try DocumentStore(directory: directory)
        #expect(!FileManager.default.fileExists(atPath: dead.path))
    }

    @Test("a full disk during a write leaves the store as it was", arguments: [0, 1500, 9000])
    func diskFull(failAfterBytes: Int) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, data) = try populatedStore(directory, keys: [1])
        store.failWritesAfterBytes = failAfterBytes
        #expect {
            _ = try writeDocument(store, key: testKey(2), header: testHeader(tokens: tokens, layers: layers, kvDim: kvDim), data: data)
        } throws: { error in
            guard case let StoreError.io(operation, _, code) = error else { return false }
            return operation == "write" && code == ENOSPC
        }
        store.failWritesAfterBytes = nil
        #expect(try store.open(testKey(2)) == nil)
        #expect(try strayNames(directory).isEmpty)
        #expect(try store.list().map(\.key) == [testKey(1).hex])
        let survivor = try #require(try store.open(testKey(1)))
        #expect(try readLayer(survivor, 1).keys == data[1].keys.map { Float(Float16($0)) })
        #expect(try store.verify().removed.isEmpty)
    }
}
