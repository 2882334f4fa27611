import Testing
@testable import FocusStore

@Test func FocusStoreBuilds() {
    #expect(Bool(true))
}
