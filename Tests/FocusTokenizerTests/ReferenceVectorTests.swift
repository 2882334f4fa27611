import Foundation
import Testing
@testable import FocusTokenizer

/// Every line of the reference `vectors.jsonl` (produced by Hugging Face `tokenizers` 0.23 with
/// `encode(text, add_special_tokens=False)`) must be reproduced exactly.
@Suite struct ReferenceVectorTests {
    static let fixtures = ["ling-llada", "qwen2-dream"]

    static func tokenizer(_ name: String) -> BPETokenizer {
        name == "ling-llada" ? Fixtures.ling : Fixtures.qwen
    }

    @Test(arguments: fixtures)
    func encodeMatchesReference(name: String) throws {
        let tokenizer = Self.tokenizer(name)
        let vectors = try Fixtures.vectors(name)
        #expect(vectors.count == 300)
        var mismatches = 0
        for vector in vectors {
            let ids = tokenizer.encode(vector.text)
            if ids != vector.ids {
                mismatches += 1
                Issue.record("\(name) line \(vector.line): \(vector.text.debugDescription) -> \(ids), expected \(vector.ids)")
            }
        }
        #expect(mismatches == 0)
    }

    @Test(arguments: fixtures)
    func decodeInvertsEncode(name: String) throws {
        let tokenizer = Self.tokenizer(name)
        for vector in try Fixtures.vectors(name) {
            #expect(tokenizer.decode(tokenizer.encode(vector.text)) == vector.text, "line \(vector.line)")
            #expect(tokenizer.decode(vector.ids) == vector.text, "line \(vector.line)")
        }
    }

    @Test func encodingIsStableAcrossCacheHits() {
        let text = "The cache must not change results: the the the, The THE"
        let first = Fixtures.ling.encode(text)
        let newline = Fixtures.ling.encode("\n")
        #expect(Fixtures.ling.encode(text) == first)
        #expect(Fixtures.ling.encode(text + "\n" + text) == first + newline + first)
    }

    @Test func vocabularyAndSpecialTokens() throws {
        let ling = Fixtures.ling
        #expect(ling.vocabularySize == 126_349)
        #expect(ling.id(of: "<|mdm_mask|>") == 126_336)
        #expect(ling.id(of: "<|eot_id|>") == 126_348)
        #expect(ling.specialTokens["<|startoftext|>"] == 126_080)
        #expect(ling.tokenID(for: "Hello") == 14_455)
        #expect(ling.token(for: 34_994) == "ĠHello")
        #expect(ling.token(for: -1) == nil)
        #expect(ling.token(for: Int32(ling.vocabularySize)) == nil)
        #expect(ling.isSpecial(126_348))
        #expect(!ling.isSpecial(14_455))
        let qwen = Fixtures.qwen
        #expect(qwen.vocabularySize == 151_667)
        #expect(qwen.id(of: "<|im_start|>") == 151_644)
        #expect(qwen.id(of: "<|mask|>") == 151_666)
    }

    @Test func decodeSkipsSpecialTokensOnRequest() {
        let ling = Fixtures.ling
        let ids = ling.encode("<|startoftext|>Hello<|endoftext|>")
        #expect(ids.first == 126_080 && ids.last == 126_081)
        #expect(ling.decode(ids) == "<|startoftext|>Hello<|endoftext|>")
        #expect(ling.decode(ids, skipSpecialTokens: true) == "Hello")
    }

    @Test func decodeReplacesInvalidUTF8AndSkipsUnknownIDs() throws {
        let qwen = Fixtures.qwen
        // The first byte of a 3-byte character alone is not valid UTF-8.
        let ids = qwen.encode("中")
        #expect(ids.count >= 1)
        let firstByteID = try #require(qwen.id(of: "ä"))
        #expect(qwen.decode([firstByteID]) == "\u{FFFD}")
        #expect(qwen.decode([-5, 10_000_000] + ids) == "中")
    }

    // MARK: - Long pieces

    @Test(arguments: fixtures)
    func heapMergingAgreesWithScanning(name: String) throws {
        let tokenizer = Self.tokenizer(name)
        let byteSymbols = ByteLevelAlphabet.scalars.map { tokenizer.id(of: String($0))! }
        // Whole reference texts taken as single pieces: long, varied symbol sequences.
        for vector in try Fixtures.vectors(name) where vector.text.utf8.count > 1 {
            let symbols = vector.text.utf8.map { byteSymbols[Int($0)] }
            #expect(tokenizer.merger.mergeWithHeap(symbols) == tokenizer.merger.mergeByScanning(symbols), "line \(vector.line)")
        }
    }

    @Test func veryLongPiecesRoundTrip() {
        let letters = String(repeating: "abracadabra", count: 2_000)
        let dashes = String(repeating: "=-", count: 5_000)
        for text in [letters, dashes, letters + " " + dashes] {
            let ids = Fixtures.ling.encode(text)
            #expect(ids.count < text.utf8.count / 2)
            #expect(Fixtures.ling.decode(ids) == text)
        }
    }
}
