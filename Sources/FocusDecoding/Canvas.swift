import FocusModel

/// A prompt split where the document ends: block-causal models keep document rows inside it,
/// and the document store holds exactly the first `documentLength` rows.
public struct DecodingPrompt: Sendable, Equatable {
    public var tokens: [Int32]
    public var documentLength: Int
    /// Explicit position of each token; `0..<tokens.count` unless a prompt was assembled from
    /// pieces of a longer one (selected document blocks keep their original positions).
    public var positions: [Int32]

    public init(tokens: [Int32], documentLength: Int, positions: [Int32]? = nil) {
        self.tokens = tokens
        self.documentLength = min(max(documentLength, 0), tokens.count)
        self.positions = positions ?? (0..<tokens.count).map(Int32.init)
        precondition(self.positions.count == tokens.count, "one position per prompt token")
    }

    /// A prompt of a document segment followed by a question segment.
    public init(document: [Int32], question: [Int32]) {
        self.init(tokens: document + question, documentLength: document.count)
    }
}

/// The sequence being denoised: the prompt followed by `generationLength` answer positions.
public struct Canvas {
    public let prompt: DecodingPrompt
    public private(set) var tokens: [Int32]
    public let maskID: Int32
    /// Tokens that end an answer (end of text, end of turn).
    public let stopIDs: Set<Int32>

    public init(prompt: DecodingPrompt, generationLength: Int, maskID: Int32, stopIDs: Set<Int32>) {
        self.prompt = prompt
        self.maskID = maskID
        self.stopIDs = stopIDs
        tokens = prompt.tokens + Array(repeating: maskID, count: generationLength)
    }

    /// Rows of the prompt.
    public var promptLength: Int { prompt.tokens.count }
    /// Rows in all.
    public var count: Int { tokens.count }
    /// Explicit positions: the prompt's, then consecutive ones after its last.
    public var positions: [Int32] {
        let next = (prompt.positions.last ?? -1) + 1
        return prompt.positions + (0..<(tokens.count - promptLength)).map { next + Int32($0) }
    }

    /// Rows of answer block `block` of length `blockLength`.
    public func blockRows(_ block: Int, blockLength: Int) -> Range<Int> {
        let start = promptLength + block * blockLength
        return start..<(start + blockLength)
    }

    /// The still-masked rows among `rows`.
    public func maskedRows(in rows: Range<Int>) -> [Int] { rows.filter { tokens[$0] == maskID } }

    public mutating func set(_ row: Int, to token: Int32) { tokens[row] = token }

    /// True when the block's last token ends the answer (LLaDA's stop rule).
    public func blockEndsAnswer(_ rows: Range<Int>) -> Bool {
        guard let last = rows.last else { return false }
        return stopIDs.contains(tokens[last])
    }

    /// Fills every row from `row` on with `token` (after the answer has ended).
    public mutating func fill(from row: Int, with token: Int32) {
        for r in row..<tokens.count where tokens[r] == maskID { tokens[r] = token }
    }

    /// The generated tokens up to the first stop token.
    public var answerTokens: [Int32] {
        var out: [Int32] = []
        for token in tokens[promptLength...] {
            if stopIDs.contains(token) || token == maskID { break }
            out.append(token)
        }
        return out
    }

    /// The whole answer canvas.
    public var generatedTokens: [Int32] { Array(tokens[promptLength...]) }
}
