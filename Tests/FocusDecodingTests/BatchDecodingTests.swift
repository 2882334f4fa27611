import Testing
import FocusDecoding
import FocusModel

/// Questions of different lengths about one document, with that document's KV.
private func sharedDocument(_ model: TransformerModel, questions: [Int]) -> ([DecodingPrompt], InMemoryDocumentKV) {
    let document = Checkpoints.prompt(document: 140, question: 0, seed: 11).tokens
    let prompts = questions.enumerated().map { i, length in
        let question = Checkpoints.prompt(document: 0, question: length, seed: UInt64(20 + i)).tokens
        return DecodingPrompt(tokens: document + question, documentLength: document.count)
    }
    let cache = DenseKVCache(configuration: model.configuration)
    _ = model.prefill(tokens: document, into: cache)
    return (prompts, InMemoryDocumentKV(cache: cache))
}

private func parameters(_ mode: DecodingMode) -> DecodingParameters {
    var p = DecodingParameters(mode: mode)
    p.generationLength = 16
    p.blockLength = 8
    p.steps = 16
    p.threshold = nil
    p.focus.blockSize = 16
    p.focus.keptBlocks = 3
    p.focus.sinkCount = 4
    return p
}

@Suite("Batched (FOCUS) decoding")
struct BatchDecodingTests {
    @Test("requests decoded together get the tokens each gets alone, with and without eviction",
          arguments: [
            ("llada-bf16-sharded", DecodingMode.stored, false), ("llada-f32", .cached, false), ("dream-f32-sharded", .focus, false),
            ("llada-bf16-sharded", .cached, true), ("dream-f32-sharded", .focus, true), ("dream-f32-sharded", .cached, true),
          ])
    func togetherEqualsAlone(checkpoint: String, mode: DecodingMode, evicting: Bool) throws {
        let model = try Checkpoints.model(checkpoint)
        let (prompts, source) = sharedDocument(model, questions: [9, 14, 5])
        var p = parameters(mode)
        if evicting { p.eviction = EvictionParameters(keepRatio: 1.5) }
        let alone = try prompts.map { try BlockDecoder(model: model, documentSource: source).decode($0, parameters: p) }
        let together = try BatchDecoder(model: model, documentSource: source).decode(prompts, parameters: p)
        try #require(together.count == prompts.count)
        for (a, b) in zip(alone, together) {
            #expect(a.generatedTokens.count == 16)
            #expect(b.generatedTokens == a.generatedTokens)
            #expect(b.steps == a.steps)
            #expect(b.forwardPasses == a.forwardPasses)
            #expect(b.attendedRows == a.attendedRows)
            #expect(b.blocksSelected == a.blocksSelected)
            #expect(b.evictedRows == a.evictedRows)
            #expect(b.computedRows == a.computedRows)
        }
        if evicting { #expect(together.contains { $0.evictedRows > 0 }) }
    }

    @Test("eviction keeps ratio × expected rows per step, completes every answer, and computes fewer rows")
    func evictionShrinksSteps() throws {
        let model = try Checkpoints.model("llada-bf16-sharded")
        let (prompts, source) = sharedDocument(model, questions: [9, 12])
        var p = parameters(.cached)
        let full = try BatchDecoder(model: model, documentSource: source).decode(prompts, parameters: p)
        p.eviction = EvictionParameters(keepRatio: 1.5, scoringLayer: 1)
        let evicted = try BatchDecoder(model: model, documentSource: source).decode(prompts, parameters: p)
        for (f, e) in zip(full, evicted) {
            #expect(f.evictedRows == 0)
            #expect(e.evictedRows > 0)
            #expect(e.generatedTokens.count == 16)
            #expect(!e.generatedTokens.contains(model.configuration.maskTokenID))
            #expect(e.computedRows == f.computedRows - e.evictedRows * (model.configuration.layerCount - 2))
        }
        p.eviction = EvictionParameters(keepRatio: 100, scoringLayer: 1)
        let generous = try BatchDecoder(model: model, documentSource: source).decode(prompts, parameters: p)
        #expect(generous.map(\.generatedTokens) == full.map(\.generatedTokens))
        #expect(generous.allSatisfy { $0.evictedRows == 0 })
    }

    @Test("vanilla cannot be batched, and eviction parameters are checked")
    func rejectedInput() throws {
        let model = try Checkpoints.model("llada-f32")
        let (prompts, source) = sharedDocument(model, questions: [6])
        let decoder = BatchDecoder(model: model, documentSource: source)
        #expect(throws: DecodingError.self) { try decoder.decode(prompts, parameters: parameters(.vanilla)) }
        var p = parameters(.stored)
        p.eviction = EvictionParameters(keepRatio: 0.5)
        let error = #expect(throws: DecodingError.self) { try decoder.decode(prompts, parameters: p) }
        #expect(String(describing: error).contains("evict"))
        p.eviction = EvictionParameters(keepRatio: 1.5, scoringLayer: 0)
        #expect(throws: DecodingError.self) { try decoder.decode(prompts, parameters: p) }
    }
}
