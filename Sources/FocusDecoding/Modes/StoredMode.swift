extension DecodingMode {
    /// Focus decoding against the document's KV read from the document store and never
    /// recomputed (`BlockDecoder` with a document source); questions about one document decode
    /// together.
    public static let stored = DecodingMode(
        name: "stored", summary: "Focus against the document's KV from the store, never recomputed.",
        traits: DecodingModeTraits(stepRows: .focusedRows, documentFromStore: true, decodesTogether: true),
        decode: BlockDecoder.decodeBlockWise)
}
