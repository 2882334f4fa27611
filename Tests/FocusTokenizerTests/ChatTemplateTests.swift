import Foundation
import Testing
@testable import FocusTokenizer

/// Expected ids were produced offline with Hugging Face `tokenizers` 0.23.3 on the same fixture
/// tokenizers: conversations rendered with `jinja2` (LLaDA-8B-Instruct's `chat_template` from
/// `tokenizer_config.json`; for Dream, Qwen2's ChatML template with its default system prompt,
/// `add_generation_prompt=True`) and then `encode(text, add_special_tokens=False)`; QA segments as
/// `encode(head) + encode(document.strip())` and `encode("\n\n" + question.strip()) + encode(tail)`.
@Suite struct ChatTemplateTests {
    static let document = "The Eiffel Tower is in Paris. It was completed in 1889."
    static let question = "When was the Eiffel Tower completed?"
    static let frenchDocument = "Le café est fermé le lundi.\u{3000}"
    static let frenchQuestion = "  Quand est-il fermé ?"
    static let conversation: [ChatMessage] = [
        .system("You are terse."), .user("  Hi there!\n"), .assistant("Hello."), .user("Why is the sky blue?"),
    ]

    // MARK: - LLaDA

    @Test func lladaConversation() throws {
        let template = try chatTemplate(modelType: "llada", tokenizer: Fixtures.ling)
        #expect(template.name == "llada")
        #expect(template.promptTokens(for: [.user("What is the capital of France?")]) == [
            126080, 126346, 3840, 126347, 198, 198, 2372, 341, 268, 7706, 300, 11406, 30, 126348, 126346, 598,
            10450, 126347, 198, 198,
        ])
        #expect(template.promptTokens(for: Self.conversation) == [
            126080, 126346, 18621, 126347, 198, 198, 2496, 449, 7115, 347, 13, 126348, 126346, 3840, 126347, 198,
            198, 10754, 947, 0, 126348, 126346, 598, 10450, 126347, 198, 198, 14455, 13, 126348, 126346, 3840,
            126347, 198, 198, 7967, 341, 268, 14250, 7182, 30, 126348, 126346, 598, 10450, 126347, 198, 198,
        ])
    }

    @Test func lladaQASegments() throws {
        let template = try chatTemplate(modelType: "LLaDA", tokenizer: Fixtures.ling)
        let prompt = template.qaPrompt(document: Self.document, question: Self.question)
        #expect(prompt.documentIDs == [
            126080, 126346, 3840, 126347, 198, 198, 678, 505, 120037, 28838, 341, 296, 13997, 13, 963, 529, 8559,
            296, 220, 16, 23, 23, 24, 13,
        ])
        #expect(prompt.questionIDs == [
            198, 198, 4155, 529, 268, 505, 120037, 28838, 8559, 30, 126348, 126346, 598, 10450, 126347, 198, 198,
        ])
        let french = template.qaPrompt(document: Self.frenchDocument, question: Self.frenchQuestion)
        #expect(french.documentIDs == [126080, 126346, 3840, 126347, 198, 198, 4877, 67656, 2364, 51414, 2900, 586, 322, 83632, 13])
        #expect(french.questionIDs == [
            198, 198, 3789, 457, 2364, 12, 319, 51414, 2900, 3543, 126348, 126346, 598, 10450, 126347, 198, 198,
        ])
        #expect(prompt.allIDs == prompt.documentIDs + prompt.questionIDs)
    }

    @Test func lladaSpecialTokens() throws {
        let template = try chatTemplate(modelType: "llada", tokenizer: Fixtures.ling)
        #expect(template.maskTokenID == 126_336)
        #expect(template.stopTokenIDs == [126_081, 126_348])
    }

    // MARK: - Dream

    @Test func dreamConversation() throws {
        let template = try chatTemplate(modelType: "Dream", tokenizer: Fixtures.qwen)
        #expect(template.name == "dream")
        #expect(template.promptTokens(for: [.user("What is the capital of France?")]) == [
            151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 3838, 374, 279,
            6722, 315, 9625, 30, 151645, 198, 151644, 77091, 198,
        ])
        #expect(template.promptTokens(for: Self.conversation) == [
            151644, 8948, 198, 2610, 525, 50537, 13, 151645, 198, 151644, 872, 198, 220, 21018, 1052, 4894,
            151645, 198, 151644, 77091, 198, 9707, 13, 151645, 198, 151644, 872, 198, 10234, 374, 279, 12884,
            6303, 30, 151645, 198, 151644, 77091, 198,
        ])
    }

    @Test func dreamQASegments() throws {
        let template = try chatTemplate(modelType: "Dream", tokenizer: Fixtures.qwen)
        let prompt = template.qaPrompt(document: Self.document, question: Self.question)
        #expect(prompt.documentIDs == [
            151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 785, 468, 3092,
            301, 21938, 374, 304, 12095, 13, 1084, 572, 8145, 304, 220, 16, 23, 23, 24, 13,
        ])
        #expect(prompt.questionIDs == [271, 4498, 572, 279, 468, 3092, 301, 21938, 8145, 30, 151645, 198, 151644, 77091, 198])
        let french = template.qaPrompt(document: Self.frenchDocument, question: Self.frenchQuestion)
        #expect(french.documentIDs == [
            151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 2304, 51950, 1788,
            80582, 963, 512, 326, 55898, 13,
        ])
        #expect(french.questionIDs == [271, 2183, 437, 1788, 56275, 80582, 963, 937, 151645, 198, 151644, 77091, 198])
        #expect(template.maskTokenID == 151_666)
        #expect(template.stopTokenIDs == [151_643, 151_645])
    }

    // MARK: - Segments and selection

    @Test(arguments: ["llada", "Dream"])
    func documentSegmentIgnoresTheQuestion(modelType: String) throws {
        let tokenizer = modelType == "llada" ? Fixtures.ling : Fixtures.qwen
        let template = try chatTemplate(modelType: modelType, tokenizer: tokenizer)
        // The document ends in punctuation: encoded jointly, "." would merge with the "\n\n" after it.
        let first = template.qaPrompt(document: Self.document, question: Self.question)
        let second = template.qaPrompt(document: Self.document, question: "Where is it?")
        #expect(first.documentIDs == second.documentIDs)
        #expect(first.questionIDs != second.questionIDs)
        #expect(tokenizer.decode(first.allIDs, skipSpecialTokens: true).contains(Self.document + "\n\n" + Self.question))
    }

    @Test func templateIsInferredFromSpecialTokens() throws {
        #expect(try chatTemplate(modelType: "focus-small", tokenizer: Fixtures.ling).name == "llada")
        #expect(try chatTemplate(modelType: "qwen2", tokenizer: Fixtures.qwen).name == "dream")
    }

    @Test func missingSpecialTokensAreReported() {
        #expect(throws: TokenizerError.missingSpecialToken(template: "llada", token: "<|startoftext|>")) {
            try chatTemplate(modelType: "llada", tokenizer: Fixtures.qwen)
        }
        #expect(throws: TokenizerError.missingSpecialToken(template: "dream", token: "<|im_start|>")) {
            try chatTemplate(modelType: "dream", tokenizer: Fixtures.ling)
        }
    }

    @Test func trimFollowsJinja() {
        #expect(trimmed("\u{1C} \t x y \u{3000}\n") == "x y")
        #expect(trimmed(" \n ") == "")
        #expect(trimmed("\u{200B}x") == "\u{200B}x")
    }
}
