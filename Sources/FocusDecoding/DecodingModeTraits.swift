/// What a decoding mode needs and does, read by every part that behaves differently by mode: the per-request
/// state (which rows a step recomputes), the batch decoder (which modes it accepts), the engine
/// (where the document's KV comes from, and which questions it decodes together) and the worker
/// (which jobs it claims together). Each mode's descriptor (`DecodingMode`) holds its traits.
public struct DecodingModeTraits: Sendable, Equatable {
    /// The rows a denoising step inside a block recomputes.
    public enum StepRows: Sendable, Equatable {
        /// The whole sequence, document included, at every step (LLaDA's sampler).
        case wholeSequence
        /// The current block and the rows after it (Fast-dLLM's cache).
        case wholeBlock
        /// The predicted rows and their neighbours, with block-sparse attention in the layers
        /// after the dense ones (Focus-dLLM).
        case focusedRows
    }

    /// The rows a step recomputes.
    public let stepRows: StepRows
    /// The document's KV is read from the document store (prefilled once per document) instead
    /// of being computed with the question.
    public let documentFromStore: Bool
    /// Questions about one document can be decoded as one batch against shared document KV
    /// (`BatchDecoder`).
    public let decodesTogether: Bool

    /// Traits of a mode.
    public init(stepRows: StepRows, documentFromStore: Bool, decodesTogether: Bool) {
        self.stepRows = stepRows
        self.documentFromStore = documentFromStore
        self.decodesTogether = decodesTogether
    }

    /// Questions about one document are answered together: their document KV is shared (from
    /// the store) and their steps can run as one forward.
    public var answersTogether: Bool { documentFromStore && decodesTogether }
}
