import Testing
@testable import FocusTokenizer

@Test func FocusTokenizerBuilds() {
    #expect(Bool(true))
}
