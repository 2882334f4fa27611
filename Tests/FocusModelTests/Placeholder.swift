import Testing
@testable import FocusModel

@Test func FocusModelBuilds() {
    #expect(Bool(true))
}
