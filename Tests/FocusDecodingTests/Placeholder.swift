import Testing
@testable import FocusDecoding

@Test func FocusDecodingBuilds() {
    #expect(Bool(true))
}
