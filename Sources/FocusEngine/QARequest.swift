import FocusDecoding

/// One question about one document.
public struct QARequest: Sendable {
    public var document: String
    public var question: String
    /// How to decode: checked when the engine takes the request, unless the request was made
    /// from `JobSettings` (checked when they were built) and not changed since.
    public var parameters: DecodingParameters { didSet { checked = nil } }
    /// How the document is prefilled and stored: checked with `parameters`.
    public var prefill: PrefillOptions { didSet { checked = nil } }
    /// Vanilla decoding on block-causal models: compute the document's KV once (same result).
    public var reuseExactDocumentKV = false
    /// Vanilla decoding: stop after this many steps (timing runs that are extrapolated).
    public var vanillaStepLimit: Int?
    /// Called at every prefill layer and decoding step: a worker extends its lease here, a
    /// terminal draws progress, and a throw (lease lost, stop requested) abandons the question.
    public var heartbeat: (@Sendable (EngineProgress) throws -> Void)?
    /// `parameters` and `prefill` as checked when the request was made from checked settings.
    var checked: CheckedSettings?

    public init(document: String, question: String, parameters: DecodingParameters, prefill: PrefillOptions = PrefillOptions()) {
        self.document = document
        self.question = question
        self.parameters = parameters
        self.prefill = prefill
    }

    /// The request's settings checked: as made from `JobSettings`, or checked now (their one
    /// check, for a request built from bare parameters).
    /// - Throws: `DecodingError.invalidParameter` or `EngineError.store` naming the field.
    func checkedSettings() throws -> CheckedSettings {
        if let checked { return checked }
        return try CheckedSettings(parameters: parameters, prefill: prefill)
    }
}

/// A request's decoding parameters and prefill options after their one check: made only by
/// checking them, or from `JobSettings`, which were checked when built.
struct CheckedSettings: Sendable {
    let decoding: ValidDecodingParameters
    let prefill: PrefillOptions

    /// Checks the parameters, then the prefill options.
    init(parameters: DecodingParameters, prefill: PrefillOptions) throws {
        decoding = try ValidDecodingParameters(parameters)
        try prefill.validate()
        self.prefill = prefill
    }

    /// The settings of a job: valid by construction.
    init(_ settings: JobSettings) {
        decoding = settings.validDecoding
        prefill = settings.prefillOptions
    }

    /// The decoding parameters of the question's prompt: the store's block size for modes whose
    /// document comes from it.
    var promptParameters: ValidDecodingParameters {
        decoding.parameters.mode.traits.documentFromStore ? decoding.with(blockSize: prefill.blockSize) : decoding
    }
}
