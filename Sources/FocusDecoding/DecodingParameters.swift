/// How a cached decoder refreshes its KV at the start of each block.
public enum CacheRefresh: String, Sendable, Codable {
    /// Fast-dLLM: the whole sequence, prompt included, is recomputed at each block start.
    case full
    /// The document's KV is computed once; question and answer rows are recomputed at each
    /// block start (exact for block-causal models, an approximation for bidirectional ones).
    case afterDocument = "after-document"
}

/// How Focus scores prompt blocks for the sparse layers.
public enum BlockScoring: String, CaseIterable, Sendable, Codable {
    /// Attention mass the active queries give each block at the last dense layer (exact).
    case attentionMass = "mass"
    /// Active queries against the mean key of each block, at the last dense layer.
    case meanKey = "mean-key"
    /// Quest's upper bound: per channel, the larger of q·min and q·max over the block.
    case quest
}

/// Parameters of Focus sparse attention (every one is a knob; defaults chosen on the dev sets).
public struct FocusParameters: Sendable, Codable, Equatable {
    /// Masked positions predicted (from the previous step's confidences) to unmask next.
    public var predictedCount = 2
    /// Each predicted position is widened by this many neighbours on each side.
    public var window = 1
    /// Layers 0…denseLayers−1 attend densely; sinks and blocks are chosen at the last of them.
    /// 0 chooses blocks before layer 0 from the layer-0 queries and the blocks' representative
    /// keys, with the sinks recorded at prefill, so that no layer reads the whole document
    /// (needs `meanKey` or `quest` scoring and a document source that records sinks).
    public var denseLayers = 2
    /// Prompt tokens receiving the most attention mass, kept in every sparse layer.
    public var sinkCount = 16
    /// Prompt tokens per block.
    public var blockSize = 64
    /// Prompt blocks kept in the sparse layers.
    public var keptBlocks = 8
    public var scoring = BlockScoring.attentionMass

    public init() {}
}

/// Everything that shapes one decoding run.
public struct DecodingParameters: Sendable, Codable, Equatable {
    public var mode = DecodingMode.focus
    /// Tokens of the answer canvas.
    public var generationLength = 16
    /// Semi-autoregressive block length (divides `generationLength`).
    public var blockLength = 8
    /// Denoising steps over the whole canvas (a multiple of the number of blocks).
    public var steps = 16
    /// 0 decodes greedily; above 0, Gumbel-max sampling at this temperature.
    public var temperature: Float = 0
    public var seed: UInt64 = 0
    /// Cached and Focus modes unmask every position whose confidence reaches this (at least one
    /// a step); `nil` keeps LLaDA's fixed number of tokens per step.
    public var threshold: Float? = 0.9
    public var refresh = CacheRefresh.full
    /// Cached mode keeps the KV of the blocks after the current one too (Fast-dLLM dual cache).
    public var dualCache = false
    /// Recompute the whole sequence at every step (makes cached decoding equal vanilla; a check).
    public var refreshEveryStep = false
    public var focus = FocusParameters()
    /// FOCUS eviction of the rows unlikely to be decoded this step (`nil`: off).
    public var eviction: EvictionParameters?

    public init(mode: DecodingMode = .focus) { self.mode = mode }

    /// Blocks in the canvas.
    public var blockCount: Int { generationLength / blockLength }
    /// Steps spent on each block.
    public var stepsPerBlock: Int { steps / blockCount }

    /// Checks the parameters, naming the one at fault.
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> DecodingError {
            .invalidParameter(field: field, reason: reason)
        }
        guard generationLength > 0 else { throw fail("gen_length", "must be positive") }
        guard blockLength > 0 else { throw fail("block_length", "must be positive") }
        guard generationLength % blockLength == 0 else {
            throw fail("gen_length", "\(generationLength) is not divisible by block_length \(blockLength)")
        }
        guard steps > 0, steps % blockCount == 0 else {
            throw fail("steps", "\(steps) is not a positive multiple of the \(blockCount) blocks")
        }
        guard temperature.isFinite, temperature >= 0 else {
            throw fail("temperature", "must be a finite number, not negative, got \(temperature)")
        }
        if let threshold, !(threshold > 0 && threshold <= 1) {
            throw fail("threshold", "must lie in (0, 1], got \(threshold)")
        }
        let f = focus
        guard f.predictedCount > 0 else { throw fail("predicted", "must be positive") }
        guard f.window >= 0 else { throw fail("window", "must not be negative") }
        guard f.denseLayers >= 0 else { throw fail("dense_layers", "must not be negative") }
        if f.denseLayers == 0 && f.scoring == .attentionMass {
            throw fail("dense_layers", "0 dense layers need key-based scoring (mean-key or quest): no attention mass exists yet")
        }
        guard f.sinkCount >= 0 else { throw fail("sinks", "must not be negative") }
        guard f.blockSize > 0 else { throw fail("block_size", "must be positive") }
        guard f.keptBlocks > 0 else { throw fail("kept_blocks", "must be positive") }
        if let e = eviction {
            guard e.keepRatio.isFinite, e.keepRatio >= 1 else {
                throw fail("evict", "keep ratio must be a finite number of at least 1, got \(e.keepRatio)")
            }
            guard e.scoringLayer >= 1 else { throw fail("evict_layer", "must be at least 1: scores compare a layer with the one before") }
        }
    }
}

/// FOCUS (arXiv 2601.23278): inside a step, the rows whose logits are wanted are scored for
/// decodability by how much more attention they receive at `scoringLayer` than at the layer before
/// it; only the best `keepRatio ×` (tokens expected to be decoded this step) continue through the
/// later layers, the others keep last step's KV there and get no logits this step.
public struct EvictionParameters: Sendable, Codable, Equatable {
    /// Rows kept per token expected to be decoded (the paper keeps about 1.5×).
    public var keepRatio = 1.5
    /// The layer whose attention, compared with the layer before, scores the rows.
    public var scoringLayer = 1

    public init(keepRatio: Double = 1.5, scoringLayer: Int = 1) {
        self.keepRatio = keepRatio
        self.scoringLayer = scoringLayer
    }
}

/// Errors raised before or while decoding.
public enum DecodingError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(field: String, reason: String)
    case emptyQuestion
    case promptTooLong(tokens: Int, limit: Int)
    /// The question (with its template tokens) and the answer alone pass the model's context.
    case questionTooLong(tokens: Int, limit: Int)

    public var description: String {
        switch self {
        case .invalidParameter(let field, let reason): return "invalid \(field): \(reason)"
        case .emptyQuestion: return "the question is empty"
        case .promptTooLong(let tokens, let limit):
            return "the prompt and answer need \(tokens) positions, more than the model's maximum of \(limit) (max_sequence_length): shorten the document"
        case .questionTooLong(let tokens, let limit):
            return "the question and answer alone need \(tokens) positions, more than the model's maximum of \(limit) (max_sequence_length): shorten the question"
        }
    }
}
