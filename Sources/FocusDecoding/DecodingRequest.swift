/// Decoding parameters that passed `DecodingParameters.validate()`. A value is made only by the
/// validating initialiser (or derived from a valid one by a change that keeps it valid), so what
/// takes one checks nothing again.
public struct ValidDecodingParameters: Sendable, Equatable {
    /// The checked parameters.
    public let parameters: DecodingParameters

    /// Checks `parameters`.
    /// - Throws: `DecodingError.invalidParameter` naming the field at fault.
    public init(_ parameters: DecodingParameters) throws {
        try parameters.validate()
        self.parameters = parameters
    }

    private init(checked parameters: DecodingParameters) { self.parameters = parameters }

    /// The same parameters in another mode and cache refresh: neither bears on validity.
    public func with(mode: DecodingMode, refresh: CacheRefresh? = nil) -> ValidDecodingParameters {
        var changed = parameters
        changed.mode = mode
        if let refresh { changed.refresh = refresh }
        return ValidDecodingParameters(checked: changed)
    }

    /// The same parameters with Focus's block size set to a stored document's, which is positive
    /// (the store refuses entries with blocks below one row).
    public func with(blockSize: Int) -> ValidDecodingParameters {
        precondition(blockSize > 0, "a block size is positive")
        var changed = parameters
        changed.focus.blockSize = blockSize
        return ValidDecodingParameters(checked: changed)
    }
}

/// One question ready to decode: valid parameters, a prompt with a question, and the prompt's
/// positions plus the answer canvas within the model's context. Made only by the checking
/// initialiser: decoders take one and check none of this again, and the engine makes it before
/// it prefills anything.
public struct DecodingRequest {
    /// The prompt: document rows, then the question.
    public let prompt: DecodingPrompt
    /// The checked parameters.
    public let parameters: ValidDecodingParameters

    /// Checks that `prompt` has a question and that it and the answer fit `contextLimit`
    /// positions (the model's `max_sequence_length`).
    /// - Throws: `DecodingError.emptyQuestion`, `questionTooLong` or `promptTooLong`.
    public init(prompt: DecodingPrompt, parameters: ValidDecodingParameters, contextLimit: Int) throws {
        guard prompt.tokens.count > prompt.documentLength else { throw DecodingError.emptyQuestion }
        try prompt.checkLength(generationLength: parameters.parameters.generationLength, limit: contextLimit)
        self.prompt = prompt
        self.parameters = parameters
    }
}
