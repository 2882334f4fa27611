import Testing
@testable import FocusEngine

@Test func FocusEngineBuilds() {
    #expect(Bool(true))
}
