import Foundation

// MARK: - Messages and prompts

/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    /// `"system"`, `"user"` or `"assistant"`.
    public var role: String
    /// The text of the turn.
    public var content: String

    /// A turn by `role` saying `content`.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// A system turn.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    /// A user turn.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    /// An assistant turn.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// A question-answering prompt in two segments, so that a document's token ids never depend on
/// the question asked about it (the document can be prefilled once and reused).
///
/// `documentIDs` is the template head (BOS and the opening of the user turn) followed by
/// `encode(document)`; `questionIDs` is `encode("\n\n" + question)` followed by the template tail
/// (the end of the user turn and the opening of the assistant turn). Each piece is encoded
/// separately, so `documentIDs + questionIDs` can differ from encoding the joined text where a
/// BPE piece would have crossed the boundary.
public struct QAPrompt: Sendable, Equatable {
    /// Template head followed by the document's tokens.
    public var documentIDs: [Int32]
    /// The question's tokens followed by the template tail.
    public var questionIDs: [Int32]

    /// A prompt from its two segments.
    public init(documentIDs: [Int32], questionIDs: [Int32]) {
        self.documentIDs = documentIDs
        self.questionIDs = questionIDs
    }

    /// The whole prompt.
    public var allIDs: [Int32] { documentIDs + questionIDs }
}

// MARK: - Protocol

/// The prompt format of one model family.
public protocol ChatTemplate: Sendable {
    /// The family name, e.g. `"llada"`.
    var name: String { get }
    /// The token that diffusion decoding fills in (`<|mdm_mask|>` for LLaDA, `<|mask|>` for Dream).
    var maskTokenID: Int32 { get }
    /// Tokens that end an answer (end of text and end of turn).
    var stopTokenIDs: [Int32] { get }
    /// The ids of a whole conversation followed by the opening of an assistant turn, equal to the
    /// reference template rendered with `add_generation_prompt=True` and then encoded.
    func promptTokens(for messages: [ChatMessage]) -> [Int32]
    /// A question about a document as two independent segments. Both texts are trimmed of
    /// leading and trailing whitespace first.
    func qaPrompt(document: String, question: String) -> QAPrompt
}

/// The chat template for `modelType` (`"llada"` or `"Dream"`, case-insensitive). Any other type
/// is recognised from the tokenizer's special tokens: LLaDA's header tokens or ChatML's
/// `<|im_start|>`.
/// - Throws: `TokenizerError.unknownModelType`, or `.missingSpecialToken` when the tokenizer
///   lacks a token that the template needs.
public func chatTemplate(modelType: String, tokenizer: BPETokenizer) throws -> ChatTemplate {
    switch modelType.lowercased() {
    case "llada":
        return try LLaDAChatTemplate(tokenizer: tokenizer)
    case "dream":
        return try DreamChatTemplate(tokenizer: tokenizer)
    default:
        let specials = tokenizer.specialTokens
        if specials["<|start_header_id|>"] != nil, specials["<|eot_id|>"] != nil, specials["<|mdm_mask|>"] != nil {
            return try LLaDAChatTemplate(tokenizer: tokenizer)
        }
        if specials["<|im_start|>"] != nil, specials["<|mask|>"] != nil {
            return try DreamChatTemplate(tokenizer: tokenizer)
        }
        throw TokenizerError.unknownModelType(modelType)
    }
}

/// The id of special token `token`, or a `missingSpecialToken` error naming `template`.
private func requireSpecial(_ token: String, in tokenizer: BPETokenizer, template: String) throws -> Int32 {
    guard let id = tokenizer.specialTokens[token] else {
        throw TokenizerError.missingSpecialToken(template: template, token: token)
    }
    return id
}

/// Python's `str.isspace` characters, which Jinja's `trim` filter strips.
private let templateWhitespace: Set<Unicode.Scalar> = {
    var scalars: Set<Unicode.Scalar> = ["\t", "\n", "\u{0B}", "\u{0C}", "\r", " ", "\u{85}", "\u{A0}", "\u{1680}"]
    for value in UInt32(0x1C)...0x1F { scalars.insert(Unicode.Scalar(value)!) }
    for value in UInt32(0x2000)...0x200A { scalars.insert(Unicode.Scalar(value)!) }
    for value: UInt32 in [0x2028, 0x2029, 0x202F, 0x205F, 0x3000] { scalars.insert(Unicode.Scalar(value)!) }
    return scalars
}()

/// `text` without leading and trailing whitespace, as Jinja's `trim` does it.
func trimmed(_ text: String) -> String {
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !templateWhitespace.contains($0) }),
          let last = scalars.lastIndex(where: { !templateWhitespace.contains($0) })
    else { return "" }
    return String(scalars[first...last])
}

// MARK: - LLaDA

/// LLaDA-Instruct's template: `<|startoftext|>` once, then for every message
/// `<|start_header_id|>{role}<|end_header_id|>\n\n{content trimmed}<|eot_id|>`, then
/// `<|start_header_id|>assistant<|end_header_id|>\n\n`.
public struct LLaDAChatTemplate: ChatTemplate {
    public let name = "llada"
    public let maskTokenID: Int32
    public let stopTokenIDs: [Int32]
    /// What precedes the document in a QA prompt.
    public static let qaHead = "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\n"
    /// What follows the question in a QA prompt.
    public static let qaTail = "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    private let tokenizer: BPETokenizer

    /// - Throws: `TokenizerError.missingSpecialToken` when one of LLaDA's special tokens is absent.
    public init(tokenizer: BPETokenizer) throws {
        self.tokenizer = tokenizer
        for token in ["<|startoftext|>", "<|start_header_id|>", "<|end_header_id|>"] {
            _ = try requireSpecial(token, in: tokenizer, template: "llada")
        }
        let endOfTurn = try requireSpecial("<|eot_id|>", in: tokenizer, template: "llada")
        maskTokenID = try requireSpecial("<|mdm_mask|>", in: tokenizer, template: "llada")
        let endOfText = try requireSpecial("<|endoftext|>", in: tokenizer, template: "llada")
        stopTokenIDs = [endOfText, endOfTurn]
    }

    public func promptTokens(for messages: [ChatMessage]) -> [Int32] {
        var text = ""
        for (index, message) in messages.enumerated() {
            if index == 0 { text += "<|startoftext|>" }
            text += "<|start_header_id|>\(message.role)<|end_header_id|>\n\n\(trimmed(message.content))<|eot_id|>"
        }
        text += "<|start_header_id|>assistant<|end_header_id|>\n\n"
        return tokenizer.encode(text)
    }

    public func qaPrompt(document: String, question: String) -> QAPrompt {
        let documentIDs = tokenizer.encode(Self.qaHead) + tokenizer.encode(trimmed(document))
        let questionIDs = tokenizer.encode("\n\n" + trimmed(question)) + tokenizer.encode(Self.qaTail)
        return QAPrompt(documentIDs: documentIDs, questionIDs: questionIDs)
    }
}

// MARK: - Dream

/// Dream's ChatML template with Qwen2's default system prompt:
/// `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n` (unless the first message is a
/// system message), then `<|im_start|>{role}\n{content}<|im_end|>\n` for every message, then
/// `<|im_start|>assistant\n`.
public struct DreamChatTemplate: ChatTemplate {
    public let name = "dream"
    public let maskTokenID: Int32
    public let stopTokenIDs: [Int32]
    /// The system prompt used when the conversation has none.
    public static let defaultSystemPrompt = "You are a helpful assistant."
    /// What precedes the document in a QA prompt.
    public static let qaHead = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    /// What follows the question in a QA prompt.
    public static let qaTail = "<|im_end|>\n<|im_start|>assistant\n"
    private let tokenizer: BPETokenizer

    /// - Throws: `TokenizerError.missingSpecialToken` when one of ChatML's special tokens is absent.
    public init(tokenizer: BPETokenizer) throws {
        self.tokenizer = tokenizer
        _ = try requireSpecial("<|im_start|>", in: tokenizer, template: "dream")
        let imEnd = try requireSpecial("<|im_end|>", in: tokenizer, template: "dream")
        maskTokenID = try requireSpecial("<|mask|>", in: tokenizer, template: "dream")
        let endOfText = try requireSpecial("<|endoftext|>", in: tokenizer, template: "dream")
        stopTokenIDs = [endOfText, imEnd]
    }

    public func promptTokens(for messages: [ChatMessage]) -> [Int32] {
        var text = ""
        if messages.first?.role != "system" {
            text += "<|im_start|>system\n\(Self.defaultSystemPrompt)<|im_end|>\n"
        }
        for message in messages {
            text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
        }
        text += "<|im_start|>assistant\n"
        return tokenizer.encode(text)
    }

    public func qaPrompt(document: String, question: String) -> QAPrompt {
        let documentIDs = tokenizer.encode(Self.qaHead) + tokenizer.encode(trimmed(document))
        let questionIDs = tokenizer.encode("\n\n" + trimmed(question)) + tokenizer.encode(Self.qaTail)
        return QAPrompt(documentIDs: documentIDs, questionIDs: questionIDs)
    }
}
