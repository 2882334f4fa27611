import FocusModel

/// Cached (Fast-dLLM) and Focus (Focus-dLLM) decoding, and their stored-document variants, one
/// request at a time. `DecodingState` holds the block-wise schedule and describes each mode.
public struct BlockDecoder: DiffusionDecoder {
    public let model: TransformerModel
    public let extraStopTokens: [Int32]
    /// Document KV to decode against instead of computing it (stored modes); its rows must be
    /// the prompt's first `documentLength` rows.
    public var documentSource: DocumentKVSource?
    /// Called before every step with the number of steps taken so far; throwing stops decoding
    /// (a lost lease, a stop request).
    public var onStep: ((Int) throws -> Void)?

    public init(model: TransformerModel, extraStopTokens: [Int32] = [], documentSource: DocumentKVSource? = nil) {
        self.model = model
        self.extraStopTokens = extraStopTokens
        self.documentSource = documentSource
    }

    public func decode(_ prompt: DecodingPrompt, parameters: DecodingParameters) throws -> DecodingResult {
        try decode(checked(prompt, parameters, model: model))
    }

    /// Decodes a checked request.
    public func decode(_ request: DecodingRequest) throws -> DecodingResult {
        try checkDocument(documentSource, prompt: request.prompt)
        let state = DecodingState(
            model: model, prompt: request.prompt, parameters: request.parameters.parameters,
            stopTokens: model.stopTokens(extra: extraStopTokens),
            documentSource: documentSource)
        while true {
            let request = state.nextRequest()
            if case .finished = request { break }
            try onStep?(state.steps)
            if let outcome = try state.runAlone(request) { state.accept(outcome) }
        }
        return state.finish()
    }

    /// Decodes a question of a block-wise mode (`cached`, `focus`, and `stored` with the
    /// input's document source): the decoder of those modes' descriptors.
    static func decodeBlockWise(_ input: ModeDecodingInput) throws -> DecodingResult {
        var decoder = BlockDecoder(
            model: input.model, extraStopTokens: input.extraStopTokens, documentSource: input.documentSource)
        decoder.onStep = input.onStep
        return try decoder.decode(input.request)
    }
}

extension DiffusionDecoder {
    /// Checks that stored document KV covers exactly the prompt's document.
    func checkDocument(_ source: DocumentKVSource?, prompt: DecodingPrompt) throws {
        if let source, source.rowCount != prompt.documentLength {
            throw DecodingError.invalidParameter(
                field: "document", reason: "stored KV holds \(source.rowCount) rows, the prompt's document \(prompt.documentLength)")
        }
    }
}
