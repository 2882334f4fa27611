import Foundation
import Testing
@testable import FocusEngine
import FocusTokenizer

/// The tiny tokenizer fixture fits the tiny LLaDA checkpoints and encodes as the reference
/// library does (`Tests/ReferenceTools/make_tiny_tokenizer.py` wrote both).
@Suite("Tiny tokenizer fixture")
struct TinyTokenizerTests {
    static let tokenizerURL = EngineFixtures.tokenizerFolder.appendingPathComponent("tokenizer.json")

    @Test("special ids match each LLaDA checkpoint's config", arguments: [EngineFixtures.blockCausal, EngineFixtures.bidirectional])
    func specialIDsMatchConfig(checkpoint: String) throws {
        let folder = try EngineFixtures.temporaryDirectory("special")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(checkpoint, in: folder)
        let configuration = loaded.configuration
        let tokenizer = loaded.tokenizer
        #expect(tokenizer.vocabularySize == 300)
        #expect(tokenizer.vocabularySize <= configuration.vocabularySize)
        #expect(tokenizer.specialTokens["<|mdm_mask|>"] == configuration.maskTokenID)
        #expect(tokenizer.specialTokens["<|endoftext|>"] == configuration.eosTokenID)
        #expect(loaded.template.name == "llada")
        #expect(loaded.template.maskTokenID == configuration.maskTokenID)
        #expect(loaded.stopTokens.contains(try #require(configuration.eosTokenID)))
        #expect(loaded.stopTokens.contains(try #require(tokenizer.specialTokens["<|eot_id|>"])))
    }

    @Test("encodes the reference texts to the reference library's ids and decodes them back")
    func referenceVectors() throws {
        let tokenizer = try BPETokenizer(contentsOf: Self.tokenizerURL)
        let data = try Data(contentsOf: EngineFixtures.tokenizerFolder.appendingPathComponent("reference.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(object["cases"] as? [[String: Any]])
        #expect(cases.count == 4)
        for item in cases {
            let text = try #require(item["text"] as? String)
            let ids = try #require(item["ids"] as? [Int]).map(Int32.init)
            #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)")
            #expect(tokenizer.decode(ids) == text)
        }
    }

    @Test("the QA prompt's document segment starts with BOS and every id is inside the vocabulary")
    func qaPromptFitsModel() throws {
        let folder = try EngineFixtures.temporaryDirectory("prompt")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        let engine = QAEngine(loaded: loaded, store: nil)
        let prompt = try engine.prompt(document: EngineFixtures.document(sentences: 3), question: "Who sold the salt?")
        #expect(prompt.tokens.first == loaded.tokenizer.specialTokens["<|startoftext|>"])
        #expect(prompt.tokens.allSatisfy { $0 >= 0 && $0 < 300 })
        #expect(!prompt.tokens.contains(loaded.configuration.maskTokenID))
        #expect(prompt.documentLength > 100 && prompt.tokens.count > prompt.documentLength)
    }
}
