import Testing
@testable import FocusQueue

@Test func FocusQueueBuilds() {
    #expect(Bool(true))
}
