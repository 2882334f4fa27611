import FocusModel

/// LLaDA's reference sampler: canvas `[prompt | mask × gen_length]`, semi-autoregressive blocks,
/// steps split evenly over the blocks, and at every step a full forward over the whole canvas
/// followed by unmasking the most confident masked positions of the current block.
public struct VanillaDecoder: DiffusionDecoder {
    public let model: TransformerModel
    /// Tokens besides the model's EOS that end an answer (e.g. end of turn).
    public let extraStopTokens: [Int32]
    /// For block-causal models, compute the document's KV once and recompute only the rows after
    /// it at each step. Document rows see only the document, so this is the same computation as
    /// the full forward (up to float summation order); it is off by default so that `vanilla`
    /// measures the reference sampler's cost.
    public var reuseExactDocumentKV = false
    /// Stop after this many steps (for timing a few steps of a run too long to finish, then
    /// extrapolating); the canvas is left partly masked.
    public var stepLimit: Int?
    /// Called before every step with the number of steps taken so far; throwing stops decoding
    /// (a lost lease, a stop request).
    public var onStep: ((Int) throws -> Void)?

    public init(model: TransformerModel, extraStopTokens: [Int32] = [], reuseExactDocumentKV: Bool = false) {
        self.model = model
        self.extraStopTokens = extraStopTokens
        self.reuseExactDocumentKV = reuseExactDocumentKV
    }

    public func decode(_ prompt: DecodingPrompt, parameters: DecodingParameters) throws -> DecodingResult {
        try decode(checked(prompt, parameters, model: model))
    }

    /// Decodes a checked request.
    public func decode(_ request: DecodingRequest) throws -> DecodingResult {
        let prompt = request.prompt
        let p = request.parameters.parameters
        let start = monotonicSeconds()
        var canvas = Canvas(
            prompt: prompt, generationLength: p.generationLength, maskID: model.configuration.maskTokenID,
            stopIDs: model.stopTokens(extra: extraStopTokens))
        var sampler = TokenSampler(temperature: p.temperature, seed: p.seed)
        var result = DecodingResult()
        let visibility = model.promptVisibility(documentRows: prompt.documentLength, totalRows: canvas.count)
        let positions = canvas.positions
        let d = prompt.documentLength
        var documentKV: DenseKVCache?
        if reuseExactDocumentKV && visibility != nil {
            let cache = DenseKVCache(configuration: model.configuration, capacity: d)
            _ = model.forward(
                tokens: Array(prompt.tokens[..<d]), positions: Array(positions[..<d]), logitRows: [],
                onLayerKV: { cache.append(layer: $0, keys: $1, values: $2) })
            documentKV = cache
            result.forwardPasses += 1
            result.computedRows += d * model.configuration.layerCount
            result.prefillSeconds = monotonicSeconds() - start
        }

        blocks: for block in 0..<p.blockCount {
            let rows = canvas.blockRows(block, blockLength: p.blockLength)
            let schedule = transferSchedule(masked: rows.count, steps: p.stepsPerBlock)
            for count in schedule {
                if let stepLimit, result.steps >= stepLimit { break blocks }
                try onStep?(result.steps)
                let masked = canvas.maskedRows(in: rows)
                if masked.isEmpty { break }
                let logits: Matrix
                if let documentKV {
                    logits = model.forward(
                        tokens: Array(canvas.tokens[d...]), positions: Array(positions[d...]),
                        context: { [documentKV.segment(layer: $0)] },
                        logitRows: masked.map { model.logitRow(for: $0) - d })
                } else {
                    logits = model.forward(
                        tokens: canvas.tokens, positions: positions, visibleKeys: visibility,
                        logitRows: masked.map(model.logitRow(for:)))
                }
                result.forwardPasses += 1
                result.steps += 1
                result.attendedRows += canvas.count * model.configuration.layerCount
                result.computedRows += (documentKV == nil ? canvas.count : canvas.count - d) * model.configuration.layerCount
                result.availableRows += canvas.count * model.configuration.layerCount
                let proposals = sampler.propose(rows: masked, logits: logits)
                for accepted in UnmaskingRule.topK(count).select(proposals) {
                    canvas.set(accepted.row, to: accepted.token)
                }
            }
            if canvas.blockEndsAnswer(rows) {
                canvas.fill(from: rows.upperBound, with: model.configuration.eosTokenID ?? canvas.tokens[rows.last!])
                break blocks
            }
        }
        result.answerTokens = canvas.answerTokens
        result.generatedTokens = canvas.generatedTokens
        result.decodeSeconds = monotonicSeconds() - start - result.prefillSeconds
        return result
    }
}
