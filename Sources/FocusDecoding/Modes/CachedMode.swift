extension DecodingMode {
    /// Fast-dLLM: KV cached between block starts, the current block recomputed at each step,
    /// threshold parallel decoding (`BlockDecoder`).
    public static let cached = DecodingMode(
        name: "cached", summary: "Fast-dLLM: KV refreshed at block starts, threshold parallel decoding.",
        traits: DecodingModeTraits(stepRows: .wholeBlock, documentFromStore: false, decodesTogether: true),
        decode: BlockDecoder.decodeBlockWise)
}
