import FocusDecoding
import Foundation
import Testing
@testable import FocusEngine
import FocusStore

/// Model directories assembled from the tiny random checkpoints and the tiny tokenizer, and
/// temporary document stores, for engine tests.
enum EngineFixtures {
    /// The repository's `Tests` folder.
    static let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let checkpoints = testsRoot.appendingPathComponent("Fixtures/checkpoints")
    static let tokenizerFolder = testsRoot.appendingPathComponent("Fixtures/tiny-tokenizer")

    /// LLaDA layout, bf16, two shards, `prompt_attention: block_causal` (stored KV is exact).
    static let blockCausal = "llada-bf16-sharded"
    /// LLaDA layout, f32, one file, bidirectional prompt attention.
    static let bidirectional = "llada-f32"

    // MARK: - Temporary directories

    /// A fresh empty directory under the system's temporary folder.
    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("focus-engine-tests-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Removes a directory made by `temporaryDirectory`.
    static func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }

    // MARK: - Model directories

    /// A model directory in `parent` linking the checkpoint's config and weight files, and the tiny
    /// tokenizer unless `withTokenizer` is false.
    static func modelDirectory(_ checkpoint: String, in parent: URL, withTokenizer: Bool = true) throws -> URL {
        let source = checkpoints.appendingPathComponent(checkpoint)
        let directory = parent.appendingPathComponent("model-\(checkpoint)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: source.path).filter {
            $0 == "config.json" || $0.hasSuffix(".safetensors") && !$0.hasPrefix("reference")
                || $0 == "model.safetensors.index.json"
        }
        for name in names {
            try FileManager.default.createSymbolicLink(
                at: directory.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
        }
        if withTokenizer {
            try FileManager.default.createSymbolicLink(
                at: directory.appendingPathComponent("tokenizer.json"),
                withDestinationURL: tokenizerFolder.appendingPathComponent("tokenizer.json"))
        }
        return directory
    }

    /// The checkpoint opened for question answering (tiny tokenizer added).
    static func loadedModel(_ checkpoint: String, in parent: URL) throws -> LoadedModel {
        try LoadedModel(directory: modelDirectory(checkpoint, in: parent))
    }

    // MARK: - Requests

    /// A deterministic English-like document of `sentences` sentences (about 60 tokens each
    /// with the tiny tokenizer).
    static func document(sentences: Int, seed: UInt64 = 1) -> String {
        let subjects = ["The harbour master", "A clerk", "The mayor", "Every fisherman", "The old miller", "Her brother"]
        let verbs = ["counted", "carried", "sold", "wrote down", "repaired", "hid"]
        let objects = ["the boats", "forty ledgers", "the salt", "a stone wall", "the grain", "seven nets"]
        let places = ["by the bridge", "near the church", "on the hill", "in the meadow", "behind the market"]
        var state = seed
        func pick(_ list: [String]) -> String {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return list[Int((state >> 33) % UInt64(list.count))]
        }
        return (0..<sentences).map { index in
            "\(pick(subjects)) \(pick(verbs)) \(pick(objects)) \(pick(places)) in the year \(1700 + index * 7)."
        }.joined(separator: " ")
    }

    /// Decoding parameters small enough for the tiny models: 16 answer tokens in 2 blocks.
    static func parameters(_ mode: DecodingMode) -> DecodingParameters {
        var parameters = DecodingParameters(mode: mode)
        parameters.generationLength = 16
        parameters.blockLength = 8
        parameters.steps = 16
        return parameters
    }

    /// Prefill options with `format` and `mode` (blocks of 64 rows).
    static func prefill(_ format: KVNumberFormat = .f16, mode: PrefillMode = .whole, blockSize: Int = 64) -> PrefillOptions {
        var options = PrefillOptions()
        options.numberFormat = format
        options.mode = mode
        options.blockSize = blockSize
        return options
    }

    // MARK: - Store inspection

    /// The stored KV of `key` for `layer`: keys and values, `tokenCount × kvDim` each.
    static func storedLayer(_ store: DocumentStore, key: String, layer: Int) throws -> (keys: [Float], values: [Float]) {
        let document = try #require(try store.open(StoreKey(hex: key)))
        defer { document.close() }
        let count = document.manifest.tokenCount * document.manifest.kvDim
        var keys = [Float](repeating: .nan, count: count)
        var values = [Float](repeating: .nan, count: count)
        let rows = try keys.withUnsafeMutableBufferPointer { k in
            try values.withUnsafeMutableBufferPointer { v in
                try document.readLayer(layer: layer, keys: k.baseAddress!, values: v.baseAddress!)
            }
        }
        #expect(rows == document.manifest.tokenCount)
        return (keys, values)
    }

    /// The manifest of the entry `key`.
    static func manifest(_ store: DocumentStore, key: String) throws -> DocumentManifest {
        try #require(try store.list().first { $0.key == key })
    }
}

/// Expects `answer` to be a complete canvas of `length` tokens, none of them a mask, and its
/// answer to be the canvas up to the first stop token (`<|eot_id|>` 297, `<|endoftext|>` 298).
func expectComplete(_ answer: QAAnswer, length: Int = 16, sourceLocation: SourceLocation = #_sourceLocation) {
    let generated = answer.decoding.generatedTokens
    #expect(generated.count == length, sourceLocation: sourceLocation)
    #expect(!generated.contains(299), sourceLocation: sourceLocation)
    let stop = generated.firstIndex { $0 == 297 || $0 == 298 } ?? generated.count
    #expect(answer.tokens == Array(generated[..<stop]), sourceLocation: sourceLocation)
    #expect(answer.decoding.answerTokens == answer.tokens, sourceLocation: sourceLocation)
}
