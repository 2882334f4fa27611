import FocusModel

/// What one decoding run produced, and what it cost.
public struct DecodingResult: Sendable {
    /// The answer: generated tokens up to the first end-of-text or end-of-turn.
    public var answerTokens: [Int32] = []
    /// The whole answer canvas.
    public var generatedTokens: [Int32] = []
    /// Forward evaluations (full or partial) of the model.
    public var forwardPasses = 0
    /// Denoising steps taken.
    public var steps = 0
    /// Seconds spent computing prompt KV before the first step (0 when it came from a store).
    public var prefillSeconds = 0.0
    /// Seconds spent denoising.
    public var decodeSeconds = 0.0
    /// KV rows attended, summed over layers and forward passes.
    public var attendedRows = 0
    /// KV rows that existed, summed over the same layers and passes.
    public var availableRows = 0
    /// Prompt blocks kept by the sparse layers, summed over sparse passes.
    public var blocksSelected = 0
    /// Prompt blocks available to those passes.
    public var blocksTotal = 0
    /// Bytes of stored KV read (stored modes).
    public var kvBytesRead = 0
    /// Seconds spent reading stored KV.
    public var kvLoadSeconds = 0.0
    /// Query rows computed, summed over layers and forward passes (the work of the projections
    /// and MLP).
    public var computedRows = 0
    /// Rows FOCUS eviction dropped from the later layers of a step, summed over steps.
    public var evictedRows = 0

    public init() {}

    /// Adds another result's cost counters (passes, rows, blocks, bytes, read time) to this one.
    public mutating func absorb(_ other: DecodingResult) {
        forwardPasses += other.forwardPasses
        attendedRows += other.attendedRows
        availableRows += other.availableRows
        blocksSelected += other.blocksSelected
        blocksTotal += other.blocksTotal
        kvBytesRead += other.kvBytesRead
        kvLoadSeconds += other.kvLoadSeconds
        evictedRows += other.evictedRows
        computedRows += other.computedRows
    }

    /// Attended rows over available rows (1 for dense attention).
    public var attentionDensity: Double {
        availableRows == 0 ? 1 : Double(attendedRows) / Double(availableRows)
    }
}

/// A diffusion decoder: turns a prompt into an answer by iterative unmasking.
public protocol DiffusionDecoder {
    /// Decodes an answer to `prompt`.
    func decode(_ prompt: DecodingPrompt, parameters: DecodingParameters) throws -> DecodingResult
}

extension DiffusionDecoder {
    /// The checked request of a direct call: what every decoder needs before it starts.
    func checked(_ prompt: DecodingPrompt, _ parameters: DecodingParameters, model: TransformerModel) throws -> DecodingRequest {
        try DecodingRequest(
            prompt: prompt, parameters: ValidDecodingParameters(parameters), contextLimit: model.configuration.maxSequenceLength)
    }
}

extension DecodingPrompt {
    /// Throws when the prompt's last position plus the answer canvas passes `limit` (checked when
    /// a `DecodingRequest` is made): naming the
    /// question when it and the answer alone pass it (`questionTooLong`), the document otherwise
    /// (`promptTooLong`).
    public func checkLength(generationLength: Int, limit: Int) throws {
        let needed = Int(positions.last ?? -1) + 1 + generationLength
        guard needed > limit else { return }
        let question = tokens.count - documentLength + generationLength
        if question > limit { throw DecodingError.questionTooLong(tokens: question, limit: limit) }
        throw DecodingError.promptTooLong(tokens: needed, limit: limit)
    }
}

extension TransformerModel {
    /// Tokens that end an answer: end of text, end of turn (when the caller knows it).
    func stopTokens(extra: [Int32]) -> Set<Int32> {
        var stops = Set(extra)
        if let eos = configuration.eosTokenID { stops.insert(eos) }
        return stops
    }

    /// The row whose logits predict row `row` (Dream reads them one row earlier).
    func logitRow(for row: Int) -> Int { configuration.shiftsLogits ? row - 1 : row }
}
