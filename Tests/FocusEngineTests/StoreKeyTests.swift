import Foundation
import Testing
@testable import FocusEngine
import FocusStore

/// What makes two prefills the same store entry: everything that changes the stored KV is in the
/// key, and nothing else is.
@Suite("Store keys through the engine")
struct StoreKeyTests {
    static let document = EngineFixtures.document(sentences: 5, seed: 31)

    @Test("another prefill mode, chunk size, number format, block size, model or tokenizer file is a new entry, never a hit")
    func keyMismatchesAreMisses() throws {
        let folder = try EngineFixtures.temporaryDirectory("keys")
        defer { EngineFixtures.remove(folder) }
        let blockCausal = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let bidirectional = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        #expect(blockCausal.identity != bidirectional.identity)
        #expect(blockCausal.tokenizerDigest == bidirectional.tokenizerDigest)
        let retokenized = try Self.withReformattedTokenizer(EngineFixtures.blockCausal, in: folder)
        #expect(retokenized.identity == blockCausal.identity)
        #expect(retokenized.tokenizerDigest != blockCausal.tokenizerDigest)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let variants: [(LoadedModel, PrefillOptions)] = [
            (blockCausal, EngineFixtures.prefill(.f16)),
            (blockCausal, EngineFixtures.prefill(.f16, mode: .chunked(size: 64))),
            (blockCausal, EngineFixtures.prefill(.f16, mode: .chunked(size: 96))),
            (blockCausal, EngineFixtures.prefill(.int8)),
            (blockCausal, EngineFixtures.prefill(.f16, blockSize: 32)),
            (bidirectional, EngineFixtures.prefill(.f16)),
            (retokenized, EngineFixtures.prefill(.f16)),
        ]
        var keys: [String] = []
        for (index, (loaded, options)) in variants.enumerated() {
            let answer = try QAEngine(loaded: loaded, store: store).answer(QARequest(
                document: Self.document, question: "Who hid the nets?", parameters: EngineFixtures.parameters(.stored),
                prefill: options))
            let report = try #require(answer.prefill)
            #expect(!report.storeHit, "variant \(index) must not hit an earlier entry")
            let manifest = try EngineFixtures.manifest(store, key: report.key)
            #expect(manifest.modelIdentity == loaded.identity)
            #expect(manifest.tokenizerDigest == loaded.tokenizerDigest)
            #expect(manifest.prefillMode == options.mode.name)
            #expect(manifest.numberFormat == options.numberFormat)
            #expect(manifest.blockSize == options.blockSize)
            keys.append(report.key)
            #expect(try store.list().count == index + 1)
        }
        #expect(Set(keys).count == variants.count)

        for (index, (loaded, options)) in variants.enumerated() {
            let again = try QAEngine(loaded: loaded, store: store).answer(QARequest(
                document: Self.document, question: "What did the mayor sell?", parameters: EngineFixtures.parameters(.stored),
                prefill: options))
            #expect(again.prefill?.storeHit == true)
            #expect(again.prefill?.key == keys[index])
        }
        #expect(try store.list().count == variants.count)
    }

    @Test("the same document with other surrounding whitespace or Unicode normalisation hits the same entry")
    func equivalentDocumentsHit() throws {
        let folder = try EngineFixtures.temporaryDirectory("same")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let composed = "The caf\u{E9} by the bridge sold salt. " + Self.document
        let decomposed = "The cafe\u{301} by the bridge sold salt. " + Self.document
        #expect(Array(composed.unicodeScalars) != Array(decomposed.unicodeScalars))
        let parameters = EngineFixtures.parameters(.stored)
        let first = try QAEngine(loaded: loaded, store: store).answer(
            QARequest(document: composed, question: "Who sold salt?", parameters: parameters))
        #expect(first.prefill?.storeHit == false)
        for variant in ["\n\n  " + composed + " \n", decomposed] {
            let answer = try QAEngine(loaded: loaded, store: store).answer(
                QARequest(document: variant, question: "Who sold salt?", parameters: parameters))
            #expect(answer.prefill?.storeHit == true)
            #expect(answer.prefill?.key == first.prefill?.key)
            #expect(answer.decoding.generatedTokens == first.decoding.generatedTokens)
        }
        let other = try QAEngine(loaded: loaded, store: store).answer(
            QARequest(document: composed + " One more sentence.", question: "Who sold salt?", parameters: parameters))
        #expect(other.prefill?.storeHit == false)
        #expect(try store.list().count == 2)
    }

    @Test("weights changed in the middle of a tensor are another model: a miss, not the old entry",
          )
    func changedWeightsAreAnotherModel() throws {
        let folder = try EngineFixtures.temporaryDirectory("weights")
        defer { EngineFixtures.remove(folder) }
        let original = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        let changedDirectory = folder.appendingPathComponent("changed")
        try FileManager.default.createDirectory(at: changedDirectory, withIntermediateDirectories: true)
        let source = EngineFixtures.checkpoints.appendingPathComponent(EngineFixtures.bidirectional)
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: changedDirectory.appendingPathComponent(name))
        }
        try FileManager.default.createSymbolicLink(
            at: changedDirectory.appendingPathComponent("tokenizer.json"),
            withDestinationURL: EngineFixtures.tokenizerFolder.appendingPathComponent("tokenizer.json"))
        let weights = changedDirectory.appendingPathComponent("model.safetensors")
        let head = try Self.tensorRange("model.transformer.ff_out.weight", in: weights)
        #expect(head.count > 3 * 8192, "the tensor is longer than the bytes the identity samples")
        // The sign and exponent byte of the middle element of the LM head.
        try flipByte(in: weights, at: Int64(head.lowerBound + (head.count / 8) * 4 + 3))
        let changed = try LoadedModel(directory: changedDirectory)
        #expect(changed.identity != original.identity)

        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let request = QARequest(document: Self.document, question: "Who hid the nets?", parameters: EngineFixtures.parameters(.stored))
        #expect(try QAEngine(loaded: original, store: store).answer(request).prefill?.storeHit == false)
        #expect(try QAEngine(loaded: changed, store: store).answer(request).prefill?.storeHit == false)
    }

    /// The byte range of tensor `name`'s data in a safetensors file.
    static func tensorRange(_ name: String, in url: URL) throws -> Range<Int> {
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        let entry = try #require(header[name] as? [String: Any])
        let offsets = try #require(entry["data_offsets"] as? [Int])
        return (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1])
    }

    /// The checkpoint with a byte-wise different but equivalent `tokenizer.json` (one more newline).
    static func withReformattedTokenizer(_ checkpoint: String, in parent: URL) throws -> LoadedModel {
        let folder = parent.appendingPathComponent("reformatted")
        let directory = try EngineFixtures.modelDirectory(checkpoint, in: folder, withTokenizer: false)
        var data = try Data(contentsOf: EngineFixtures.tokenizerFolder.appendingPathComponent("tokenizer.json"))
        data.append(contentsOf: Array("\n".utf8))
        try data.write(to: directory.appendingPathComponent("tokenizer.json"))
        return try LoadedModel(directory: directory)
    }
}
