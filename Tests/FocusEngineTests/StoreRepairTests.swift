import FocusDecoding
import Foundation
import Testing
@testable import FocusEngine
import FocusStore

/// Damaged store entries are detected, rebuilt and never served. Each test corrupts an entry on
/// disk and asks again with a new `QAEngine` (an engine keeps its last document in memory).
@Suite("Store repair through the engine")
struct StoreRepairTests {
    static let document = EngineFixtures.document(sentences: 6, seed: 21)
    static let question = "Who hid the nets?"

    /// Parameters reading every stored block (`stored`) or probing before a refresh (`stored-refresh`).
    static func parameters(_ mode: DecodingMode) -> DecodingParameters {
        var parameters = EngineFixtures.parameters(mode)
        if mode == .storedRefresh {
            parameters.focus.denseLayers = 1
            parameters.focus.keptBlocks = 2
        }
        return parameters
    }

    @Test("a corrupt KV block is detected, its entry rebuilt, and the answer still returned",
          arguments: [DecodingMode.stored, .storedRefresh])
    func corruptBlockIsRepaired(mode: DecodingMode) throws {
        let folder = try EngineFixtures.temporaryDirectory("corrupt")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let request = QARequest(
            document: Self.document, question: Self.question, parameters: Self.parameters(mode),
            prefill: EngineFixtures.prefill(.f32, blockSize: 32))
        let original = try QAEngine(loaded: loaded, store: store).answer(request)
        let key = try #require(original.prefill?.key)
        let manifest = try EngineFixtures.manifest(store, key: key)
        // Layer 0 is dense in both modes, so every one of its blocks is read.
        let record = manifest.layerRecords[0]
        let block = record.blocks[record.blocks.count / 2]
        try flipByte(in: store.directory.appendingPathComponent(key).appendingPathComponent(record.dataFile),
                     at: block.offset + Int64(block.length / 2))

        let repaired = try QAEngine(loaded: loaded, store: store).answer(request)
        #expect(repaired.corruptionsRepaired == 1)
        #expect(repaired.prefill?.storeHit == false, "the entry was computed again")
        #expect(repaired.decoding.generatedTokens == original.decoding.generatedTokens)
        #expect(try store.list().map(\.key) == [key])
        let check = try store.verify()
        #expect(check.removed.isEmpty && check.entriesChecked == 1)

        let again = try QAEngine(loaded: loaded, store: store).answer(request)
        #expect(again.corruptionsRepaired == 0 && again.prefill?.storeHit == true)
    }

    @Test("corrupt representative keys are repaired like corrupt blocks",
          )
    func corruptRepresentativeKeysAreRepaired() throws {
        let folder = try EngineFixtures.temporaryDirectory("corrupt-keys")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        var parameters = Self.parameters(.stored)
        parameters.focus.denseLayers = 1
        parameters.focus.keptBlocks = 2
        parameters.focus.scoring = .quest
        let request = QARequest(
            document: Self.document, question: Self.question, parameters: parameters,
            prefill: EngineFixtures.prefill(.f32, blockSize: 32))
        let original = try QAEngine(loaded: loaded, store: store).answer(request)
        let key = try #require(original.prefill?.key)
        let keysFile = try EngineFixtures.manifest(store, key: key).layerRecords[0].keysFile
        try flipByte(in: store.directory.appendingPathComponent(key).appendingPathComponent(keysFile), at: 20)

        let repaired = try QAEngine(loaded: loaded, store: store).answer(request)
        #expect(repaired.corruptionsRepaired == 1)
        #expect(repaired.decoding.generatedTokens == original.decoding.generatedTokens)
        #expect(try store.verify().removed.isEmpty)
    }

    @Test("a torn entry (short layer file or missing manifest) is a miss that rebuilds it",
          arguments: ["truncate", "manifest"])
    func tornEntryIsRebuilt(damage: String) throws {
        let folder = try EngineFixtures.temporaryDirectory("torn")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let request = QARequest(
            document: Self.document, question: Self.question, parameters: Self.parameters(.stored),
            prefill: EngineFixtures.prefill(.f32))
        let original = try QAEngine(loaded: loaded, store: store).answer(request)
        let key = try #require(original.prefill?.key)
        let entry = store.directory.appendingPathComponent(key)
        if damage == "truncate" {
            let file = entry.appendingPathComponent(try EngineFixtures.manifest(store, key: key).layerRecords[1].dataFile)
            let handle = try FileHandle(forUpdating: file)
            try handle.truncate(atOffset: try handle.seekToEnd() - 7)
            try handle.close()
        } else {
            try FileManager.default.removeItem(at: entry.appendingPathComponent("manifest.json"))
        }

        let rebuilt = try QAEngine(loaded: loaded, store: store).answer(request)
        #expect(rebuilt.prefill?.storeHit == false)
        #expect(store.corruptionsDetected == 1)
        #expect(rebuilt.decoding.generatedTokens == original.decoding.generatedTokens)
        #expect(try store.list().map(\.key) == [key])
        #expect(try store.verify().removed.isEmpty)
    }
}

/// Inverts every bit of the byte at `offset` of the file at `url`.
func flipByte(in url: URL, at offset: Int64) throws {
    let handle = try FileHandle(forUpdating: url)
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    let byte = try #require(try handle.read(upToCount: 1)?.first)
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data([~byte]))
}
