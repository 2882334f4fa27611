extension DecodingMode {
    /// Focus-dLLM on top of `cached`: each step recomputes predicted rows only, with attention
    /// sinks and block-sparse attention after the dense layers (`BlockDecoder`).
    public static let focus = DecodingMode(
        name: "focus", summary: "Focus-dLLM: cached, recomputing predicted rows with block-sparse attention.",
        traits: DecodingModeTraits(stepRows: .focusedRows, documentFromStore: false, decodesTogether: true),
        decode: BlockDecoder.decodeBlockWise)
}
