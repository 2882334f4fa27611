import Testing
@testable import FocusDecoding

/// Decoding parameters and prompt lengths are checked before decoding, naming what is wrong.
@Suite("Parameter validation")
struct ParameterValidationTests {
    @Test("a temperature that is infinite, NaN or negative is refused", arguments: [Float.infinity, .nan, -1])
    func nonFiniteTemperature(_ temperature: Float) {
        var parameters = DecodingParameters()
        parameters.temperature = temperature
        #expect(throws: DecodingError.self) { try parameters.validate() }
    }

    @Test("an infinite or NaN eviction ratio is refused", arguments: [Double.infinity, .nan])
    func nonFiniteEviction(_ ratio: Double) throws {
        var parameters = DecodingParameters()
        parameters.eviction = EvictionParameters(keepRatio: ratio)
        let error = try #require(throws: DecodingError.self) { try parameters.validate() }
        #expect("\(error)".contains("invalid evict"))
    }

    @Test("a question that alone passes the context is named; a long document is named otherwise")
    func lengthNamesTheCulprit() throws {
        let longQuestion = DecodingPrompt(tokens: Array(repeating: 5, count: 110), documentLength: 10)
        #expect(throws: DecodingError.questionTooLong(tokens: 100 + 16, limit: 100)) {
            try longQuestion.checkLength(generationLength: 16, limit: 100)
        }
        let longDocument = DecodingPrompt(tokens: Array(repeating: 5, count: 110), documentLength: 100)
        #expect(throws: DecodingError.promptTooLong(tokens: 110 + 16, limit: 100)) {
            try longDocument.checkLength(generationLength: 16, limit: 100)
        }
        #expect("\(DecodingError.questionTooLong(tokens: 116, limit: 100))".contains("shorten the question"))
        try DecodingPrompt(tokens: Array(repeating: 5, count: 80), documentLength: 70).checkLength(generationLength: 16, limit: 100)
    }
}
