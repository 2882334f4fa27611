import FocusDecoding
import FocusModel

/// What a mode's decoder gets from the engine for one question.
struct ModeDecodingInput {
    /// The model answering.
    let loaded: LoadedModel
    /// The prompt to decode: over the stored rows when the document comes from the store.
    let prompt: DecodingPrompt
    /// The request's parameters (with the store's block size when the document comes from it).
    let parameters: DecodingParameters
    /// The document's stored KV, for modes whose traits read it from the store.
    let source: StoredDocumentKV?
    /// The question as asked (vanilla's options, chunk positions).
    let request: QARequest
    /// Reports each step to the request's heartbeat.
    let onStep: ((Int) throws -> Void)?
}

/// How the engine decodes one question in a mode: the mode's traits (`DecodingMode.traits`) say
/// what it needs, this says which decoder runs. `forMode` is the registry: adding a mode is its
/// traits, a decoder here, and a line there.
struct ModeDecoder: Sendable {
    let decode: @Sendable (ModeDecodingInput) throws -> DecodingResult

    /// The decoder of `mode`.
    static func forMode(_ mode: DecodingMode) -> ModeDecoder {
        switch mode {
        case .vanilla: return .vanilla
        case .cached, .focus, .stored: return .blockWise
        case .storedRefresh: return .storedRefresh
        }
    }

    /// LLaDA's sampler: a full forward at every step.
    static let vanilla = ModeDecoder { input in
        var decoder = VanillaDecoder(
            model: input.loaded.model, extraStopTokens: input.loaded.stopTokens,
            reuseExactDocumentKV: input.request.reuseExactDocumentKV)
        decoder.stepLimit = input.request.vanillaStepLimit
        decoder.onStep = input.onStep
        return try decoder.decode(input.prompt, parameters: input.parameters)
    }

    /// Block-wise decoding (`cached`, `focus`), against the stored document KV when there is one
    /// (`stored`).
    static let blockWise = ModeDecoder { input in
        var decoder = BlockDecoder(
            model: input.loaded.model, extraStopTokens: input.loaded.stopTokens, documentSource: input.source)
        decoder.onStep = input.onStep
        return try decoder.decode(input.prompt, parameters: input.parameters)
    }

    /// The stored KV selects the document's rows; they are recomputed with the question and
    /// decoded as `cached` with a full refresh at each block (Prefilling-dLLM).
    static let storedRefresh = ModeDecoder { input in
        guard let source = input.source else { throw EngineError.store("mode stored-refresh needs a document store") }
        let model = input.loaded.model
        let (rows, probe) = try selectDocumentRows(
            model: model, prompt: input.prompt, document: source, parameters: input.parameters)
        var refreshed = input.parameters
        refreshed.mode = .cached
        refreshed.refresh = .full
        var decoder = BlockDecoder(model: model, extraStopTokens: input.loaded.stopTokens)
        decoder.onStep = input.onStep
        let renumber = input.request.prefill.chunkPositions == .local
        var result = try decoder.decode(
            input.prompt.keeping(documentRows: rows, renumber: renumber), parameters: refreshed)
        result.absorb(probe)
        return result
    }
}
