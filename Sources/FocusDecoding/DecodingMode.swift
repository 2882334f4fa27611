import FocusModel

/// A decoding mode: its name (on the command line and in stored settings), what it does, its
/// traits, and how it decodes a question. Each mode is one descriptor in its own file under
/// `Modes/` and one entry in `allCases`, the registry. Everything that differs by mode reads the
/// descriptor: the per-request state and the batch decoder read its `traits`, the engine calls
/// `decode`, the worker asks `traits.answersTogether`, and the command line's `--mode` values and
/// help come from `allCases`.
///
/// Adding a mode touches exactly two files:
/// - `Sources/FocusDecoding/Modes/<Name>Mode.swift` (new): `extension DecodingMode { static let … }`
///   with the mode's name, summary, traits and decoder;
/// - `Sources/FocusDecoding/DecodingMode.swift`: the mode's entry in `allCases`.
///
/// A mode is stored by its name (`rawValue`), exactly as the enum it replaces encoded its cases,
/// so settings written before keep decoding; an unknown name is refused as an unknown enum case
/// would be.
public struct DecodingMode: Sendable {
    /// The mode's name: its `--mode` value and its JSON encoding.
    public let name: String
    /// One sentence for the command line's help.
    public let summary: String
    /// What the mode needs and does: the rows a step recomputes, where the document's KV comes
    /// from, whether questions decode together.
    public let traits: DecodingModeTraits
    private let decoder: @Sendable (ModeDecodingInput) throws -> DecodingResult

    /// A mode named `name` whose questions `decode` answers.
    public init(
        name: String, summary: String, traits: DecodingModeTraits,
        decode: @escaping @Sendable (ModeDecodingInput) throws -> DecodingResult
    ) {
        self.name = name
        self.summary = summary
        self.traits = traits
        decoder = decode
    }

    /// Decodes one question in this mode.
    public func decode(_ input: ModeDecodingInput) throws -> DecodingResult {
        try decoder(input)
    }

    /// The registry: every mode, in the order the command line lists them.
    public static let allCases: [DecodingMode] = [.vanilla, .cached, .focus, .stored, .storedRefresh]
}

extension DecodingMode: CaseIterable, RawRepresentable, Hashable, Codable, CustomStringConvertible {
    /// The mode registered under `rawValue`, or nil.
    public init?(rawValue: String) {
        guard let mode = Self.allCases.first(where: { $0.name == rawValue }) else { return nil }
        self = mode
    }

    /// The mode's name.
    public var rawValue: String { name }

    /// The mode's name.
    public var description: String { name }

    /// Modes are equal when their names are.
    public static func == (lhs: DecodingMode, rhs: DecodingMode) -> Bool { lhs.name == rhs.name }

    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// What a mode's decoder gets for one question.
public struct ModeDecodingInput {
    /// The model answering.
    public var model: TransformerModel
    /// Tokens besides the model's end of text that end an answer (end of turn).
    public var extraStopTokens: [Int32]
    /// The checked prompt and parameters: over the stored rows, with the store's block size,
    /// when the document comes from a store.
    public var request: DecodingRequest
    /// The document's KV, for modes whose traits read it from the store; nil otherwise.
    public var documentSource: DocumentKVSource?
    /// Vanilla on block-causal models: compute the document's KV once (same result).
    public var reuseExactDocumentKV = false
    /// Vanilla: stop after this many steps (timing runs that are extrapolated).
    public var vanillaStepLimit: Int?
    /// The document's positions repeat (chunk-local prefill): rows kept from it are renumbered.
    public var documentPositionsRepeat = false
    /// Called before every step with the number of steps taken; throwing stops decoding.
    public var onStep: ((Int) throws -> Void)?

    /// The input of a question's decoding; the options after `documentSource` start off.
    public init(
        model: TransformerModel, extraStopTokens: [Int32] = [], request: DecodingRequest,
        documentSource: DocumentKVSource? = nil
    ) {
        self.model = model
        self.extraStopTokens = extraStopTokens
        self.request = request
        self.documentSource = documentSource
    }
}
