import Foundation
import Testing
@testable import FocusTokenizer

/// Loading small hand-made `tokenizer.json` files: both merge spellings, optional components and
/// every kind of rejected input.
@Suite struct LoadingTests {
    // MARK: - A tiny tokenizer

    /// Byte `b` has id `b`; then "he" 256, "ll" 257, "hell" 258; added tokens 259 and 260.
    static func tinyTokenizer(
        mergesAsPairs: Bool = false,
        normalizer: Any = NSNull(),
        preTokenizer: Any = ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
        modelType: String = "BPE",
        extraMerge: String? = nil
    ) -> [String: Any] {
        var vocab: [String: Int] = [:]
        for (byte, scalar) in ByteLevelAlphabet.scalars.enumerated() { vocab[String(scalar)] = byte }
        vocab["he"] = 256
        vocab["ll"] = 257
        vocab["hell"] = 258
        var merges = [["h", "e"], ["l", "l"], ["he", "ll"]]
        if let extraMerge { merges.append(extraMerge.components(separatedBy: " ")) }
        let model: [String: Any] = [
            "type": modelType, "vocab": vocab,
            "merges": mergesAsPairs ? merges : merges.map { $0.joined(separator: " ") },
        ]
        return [
            "normalizer": normalizer, "pre_tokenizer": preTokenizer, "decoder": ["type": "ByteLevel"], "model": model,
            "added_tokens": [
                ["id": 259, "content": "<|x|>", "special": true],
                ["id": 260, "content": "<|xy|>", "special": false],
            ],
        ]
    }

    /// Writes `object` (or raw `text`) to a fresh temporary file.
    static func write(_ object: [String: Any]? = nil, text: String? = nil) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tokenizer-\(UUID().uuidString).json")
        let data = try text.map { Data($0.utf8) } ?? JSONSerialization.data(withJSONObject: object ?? [:])
        try data.write(to: url)
        return url
    }

    static func load(_ object: [String: Any]) throws -> BPETokenizer {
        let url = try write(object)
        defer { try? FileManager.default.removeItem(at: url) }
        return try BPETokenizer(contentsOf: url)
    }

    // MARK: - Valid files

    @Test(arguments: [false, true])
    func bothMergeSpellingsEncodeAlike(mergesAsPairs: Bool) throws {
        let tokenizer = try Self.load(Self.tinyTokenizer(mergesAsPairs: mergesAsPairs))
        let ids = tokenizer.encode("hello hell<|xy|>o<|x|>")
        #expect(ids == [258, 111, 32, 258, 260, 111, 259])
        #expect(tokenizer.decode(ids) == "hello hell<|xy|>o<|x|>")
        #expect(tokenizer.decode(ids, skipSpecialTokens: true) == "hello hell<|xy|>o")
        #expect(tokenizer.vocabularySize == 261)
        #expect(tokenizer.specialTokens == ["<|x|>": 259])
    }

    @Test func nfcNormalizerInsideSequence() throws {
        let normalizer: [String: Any] = ["type": "Sequence", "normalizers": [["type": "NFC"]]]
        let tokenizer = try Self.load(Self.tinyTokenizer(normalizer: normalizer))
        #expect(tokenizer.encode("cafe\u{301}") == [99, 97, 102, 195, 169])
        #expect(tokenizer.encode("cafe\u{301}") == tokenizer.encode("caf\u{E9}"))
    }

    @Test func unknownSplitPatternUsesRegex() throws {
        let preTokenizer: [String: Any] = [
            "type": "Sequence",
            "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": "[a-z]+"], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "use_regex": false],
            ],
        ]
        let tokenizer = try Self.load(Self.tinyTokenizer(preTokenizer: preTokenizer))
        // " hell" is split into " " and "hell" here, unlike with the GPT-2 pattern.
        #expect(tokenizer.encode("hello hell") == [258, 111, 32, 258])
    }

    @Test func parserHandlesEscapesAndNumbers() throws {
        let text = #"{"a": [1, -2.5e3, true, false, null, "x\n\u00e9\ud83d\ude00\"\/"], "b": {}}"#
        let value = try JSONParser.parse(Data(text.utf8))
        let array = try #require(value["a"]?.arrayValue)
        #expect(array.count == 6)
        #expect(array[0].intValue == 1)
        if case .number(let number) = array[1] { #expect(number == -2500) } else { Issue.record("not a number") }
        #expect(array[2].boolValue == true && array[3].boolValue == false && array[4].isNull)
        #expect(array[5].stringValue == "x\n\u{E9}\u{1F600}\"/")
        #expect(value["b"] != nil && value["c"] == nil)
    }

    // MARK: - Errors

    @Test func missingFile() {
        let path = "/nonexistent/tokenizer.json"
        #expect(throws: TokenizerError.fileNotFound(path: path)) {
            try BPETokenizer(contentsOf: URL(fileURLWithPath: path))
        }
    }

    @Test func invalidJSONReportsOffset() throws {
        let url = try Self.write(text: #"{"model": {"vocab": [1, 2,]}}"#)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: TokenizerError.invalidJSON(path: url.path, offset: 26, reason: "invalid value")) {
            try BPETokenizer(contentsOf: url)
        }
    }

    @Test func unsupportedComponentsNameTheField() throws {
        let cases: [([String: Any], String, String)] = [
            (Self.tinyTokenizer(normalizer: ["type": "Lowercase"]), "normalizer.type", "Lowercase"),
            (Self.tinyTokenizer(preTokenizer: ["type": "Whitespace"]), "pre_tokenizer.type", "Whitespace"),
            (Self.tinyTokenizer(modelType: "WordPiece"), "model.type", "WordPiece"),
            (Self.tinyTokenizer(preTokenizer: ["type": "ByteLevel", "add_prefix_space": true]),
             "pre_tokenizer.add_prefix_space", "true"),
        ]
        for (object, field, value) in cases {
            let url = try Self.write(object)
            defer { try? FileManager.default.removeItem(at: url) }
            #expect(throws: TokenizerError.unsupportedComponent(path: url.path, field: field, value: value)) {
                try BPETokenizer(contentsOf: url)
            }
        }
    }

    @Test func mergeWithUnknownTokenIsRejected() throws {
        let url = try Self.write(Self.tinyTokenizer(extraMerge: "hell o"))
        defer { try? FileManager.default.removeItem(at: url) }
        // "hell" and "o" exist, but "hello" is not in the vocabulary.
        #expect(throws: TokenizerError.mergeReferencesUnknownToken(path: url.path, mergeIndex: 3, token: "hello")) {
            try BPETokenizer(contentsOf: url)
        }
        let malformed = try Self.write(Self.tinyTokenizer(extraMerge: "a b c"))
        defer { try? FileManager.default.removeItem(at: malformed) }
        #expect(throws: TokenizerError.malformedMerge(path: malformed.path, mergeIndex: 3, value: #""a b c""#)) {
            try BPETokenizer(contentsOf: malformed)
        }
    }

    @Test func errorDescriptionsNameFileAndField() {
        let error = TokenizerError.unsupportedComponent(path: "/m/tokenizer.json", field: "normalizer.type", value: "NFKC")
        #expect(error.description == "/m/tokenizer.json: unsupported `normalizer.type` = NFKC")
    }
}
