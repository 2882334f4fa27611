import Foundation
import Testing
import FocusDecoding
import FocusModel

/// Small random checkpoints in the real layouts (see `Tests/ReferenceTools`).
enum Checkpoints {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/checkpoints")

    static func model(_ name: String) throws -> TransformerModel {
        try TransformerModel(directory: root.appendingPathComponent(name))
    }

    /// A deterministic prompt of `document` + `question` tokens below the mask id.
    static func prompt(document: Int, question: Int, vocabulary: Int = 290, seed: UInt64 = 7) -> DecodingPrompt {
        var generator = SplitMix64(seed: seed)
        let tokens = (0..<(document + question)).map { _ in Int32(generator.next() % UInt64(vocabulary)) }
        return DecodingPrompt(tokens: tokens, documentLength: document)
    }
}

@Suite("Decoders agree where they must")
struct DecoderEquivalenceTests {
    @Test("cached decoding refreshed at every step gives vanilla's tokens", arguments: ["llada-f32", "dream-f32-sharded", "llada-bf16-sharded"])
    func cachedRefreshedEqualsVanilla(checkpoint: String) throws {
        let model = try Checkpoints.model(checkpoint)
        let prompt = Checkpoints.prompt(document: 120, question: 12)
        var parameters = DecodingParameters(mode: .vanilla)
        parameters.generationLength = 16
        parameters.blockLength = 8
        parameters.steps = 16
        parameters.threshold = nil
        let vanilla = try VanillaDecoder(model: model).decode(prompt, parameters: parameters)
        parameters.mode = .cached
        parameters.refreshEveryStep = true
        let cached = try BlockDecoder(model: model).decode(prompt, parameters: parameters)
        #expect(vanilla.generatedTokens.count == 16)
        #expect(cached.generatedTokens == vanilla.generatedTokens)
        #expect(cached.forwardPasses == vanilla.forwardPasses)
    }

    @Test("focus keeping every block and every token gives cached (dual cache) decoding's tokens", arguments: ["llada-f32", "dream-f32-sharded"])
    func fullFocusEqualsCached(checkpoint: String) throws {
        let model = try Checkpoints.model(checkpoint)
        let prompt = Checkpoints.prompt(document: 200, question: 10, seed: 11)
        var parameters = DecodingParameters(mode: .cached)
        parameters.dualCache = true
        parameters.threshold = 0.2
        let cached = try BlockDecoder(model: model).decode(prompt, parameters: parameters)
        parameters.mode = .focus
        parameters.focus.predictedCount = parameters.blockLength
        parameters.focus.window = parameters.blockLength
        parameters.focus.keptBlocks = 1000
        let focus = try BlockDecoder(model: model).decode(prompt, parameters: parameters)
        #expect(focus.generatedTokens == cached.generatedTokens)
        #expect(focus.attentionDensity > 0.999)
    }

    @Test("a sparse focus run attends to fewer rows and still completes the canvas")
    func sparseFocusIsSparse() throws {
        let model = try Checkpoints.model("llada-f32")
        let prompt = Checkpoints.prompt(document: 600, question: 10, seed: 3)
        var parameters = DecodingParameters(mode: .focus)
        parameters.focus.blockSize = 32
        parameters.focus.keptBlocks = 2
        parameters.focus.sinkCount = 4
        parameters.focus.denseLayers = 1
        let result = try BlockDecoder(model: model).decode(prompt, parameters: parameters)
        #expect(!result.generatedTokens.contains(model.configuration.maskTokenID))
        #expect(result.attentionDensity < 0.9)
        #expect(result.blocksSelected > 0 && result.blocksSelected < result.blocksTotal)
    }

    @Test("document KV held apart equals the full forward for a block-causal model")
    func storedDocumentExactForBlockCausal() throws {
        let model = try Checkpoints.model("llada-bf16-sharded")
        let prompt = Checkpoints.prompt(document: 150, question: 9, seed: 5)
        var parameters = DecodingParameters(mode: .cached)
        parameters.threshold = nil
        parameters.refresh = .afterDocument
        let computed = try BlockDecoder(model: model).decode(prompt, parameters: parameters)
        let documentCache = DenseKVCache(configuration: model.configuration)
        _ = model.prefill(tokens: Array(prompt.tokens[..<prompt.documentLength]), into: documentCache)
        let source = InMemoryDocumentKV(cache: documentCache)
        parameters.focus.keptBlocks = 1000
        parameters.mode = .stored
        parameters.focus.predictedCount = parameters.blockLength
        parameters.focus.window = parameters.blockLength
        let stored = try BlockDecoder(model: model, documentSource: source).decode(prompt, parameters: parameters)
        parameters.mode = .cached
        parameters.dualCache = true
        let dual = try BlockDecoder(model: model).decode(prompt, parameters: parameters)
        #expect(stored.generatedTokens == dual.generatedTokens)
        #expect(computed.generatedTokens.count == stored.generatedTokens.count)
    }
}
