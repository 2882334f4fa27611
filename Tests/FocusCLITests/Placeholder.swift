import Testing

@Test func cliTargetBuilds() {
    #expect(Bool(true))
}
