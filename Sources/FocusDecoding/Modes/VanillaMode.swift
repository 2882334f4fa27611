extension DecodingMode {
    /// LLaDA's reference sampler: a full forward over the whole sequence at every step
    /// (`VanillaDecoder`).
    public static let vanilla = DecodingMode(
        name: "vanilla", summary: "LLaDA's sampler: a full forward over the whole sequence at every step.",
        traits: DecodingModeTraits(stepRows: .wholeSequence, documentFromStore: false, decodesTogether: false)
    ) { input in
        var decoder = VanillaDecoder(
            model: input.model, extraStopTokens: input.extraStopTokens, reuseExactDocumentKV: input.reuseExactDocumentKV)
        decoder.stepLimit = input.vanillaStepLimit
        decoder.onStep = input.onStep
        return try decoder.decode(input.request)
    }
}
