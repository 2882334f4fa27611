extension DecodingMode {
    /// Prefilling-dLLM: the stored KV selects the document's rows (`selectDocumentRows`); those
    /// rows are recomputed with the question and decoded as `cached` with a full refresh at each
    /// block.
    public static let storedRefresh = DecodingMode(
        name: "stored-refresh", summary: "The stored KV selects document blocks, recomputed with the question.",
        traits: DecodingModeTraits(stepRows: .wholeBlock, documentFromStore: true, decodesTogether: false)
    ) { input in
        guard let source = input.documentSource else {
            throw DecodingError.invalidParameter(field: "mode", reason: "stored-refresh needs the document's stored KV")
        }
        let (rows, probe) = try selectDocumentRows(model: input.model, request: input.request, document: source)
        // The kept rows and the question are a new prompt: checked against the context as any other.
        let kept = try DecodingRequest(
            prompt: input.request.prompt.keeping(documentRows: rows, renumber: input.documentPositionsRepeat),
            parameters: input.request.parameters.with(mode: .cached, refresh: .full),
            contextLimit: input.model.configuration.maxSequenceLength)
        var decoder = BlockDecoder(model: input.model, extraStopTokens: input.extraStopTokens)
        decoder.onStep = input.onStep
        var result = try decoder.decode(kept)
        result.absorb(probe)
        return result
    }
}
