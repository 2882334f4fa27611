import FocusDecoding
import Foundation
import Testing
@testable import FocusEngine
import FocusModel
import FocusStore
import FocusTokenizer

/// Bad questions, documents, model directories and modes are rejected with a typed error that
/// names the problem.
@Suite("Engine input errors")
struct EngineInputTests {
    @Test("an empty or blank question is DecodingError.emptyQuestion", arguments: ["", "  \n\t "])
    func emptyQuestion(question: String) throws {
        let folder = try EngineFixtures.temporaryDirectory("question")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let engine = QAEngine(loaded: loaded, store: store)
        let request = QARequest(
            document: EngineFixtures.document(sentences: 2), question: question, parameters: EngineFixtures.parameters(.stored))
        #expect(throws: DecodingError.emptyQuestion) { try engine.answer(request) }
        #expect(try store.list().isEmpty, "nothing is prefilled for a rejected request")
    }

    @Test("an empty or blank document is EngineError.document", arguments: ["", " \n\n \t"])
    func emptyDocument(document: String) throws {
        let folder = try EngineFixtures.temporaryDirectory("document")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let engine = QAEngine(loaded: loaded, store: store)
        for mode in [DecodingMode.stored, .cached, .vanilla] {
            let request = QARequest(document: document, question: "Who?", parameters: EngineFixtures.parameters(mode))
            let error = #expect(throws: EngineError.self) { try engine.answer(request) }
            guard case .document(let reason)? = error else {
                Issue.record("expected EngineError.document, got \(String(describing: error))")
                continue
            }
            #expect(reason.contains("empty"))
        }
        #expect(try store.list().isEmpty)
    }

    @Test("a model directory without tokenizer.json is EngineError.model naming the directory and the file")
    func missingTokenizer() throws {
        let folder = try EngineFixtures.temporaryDirectory("no-tokenizer")
        defer { EngineFixtures.remove(folder) }
        let directory = try EngineFixtures.modelDirectory(EngineFixtures.blockCausal, in: folder, withTokenizer: false)
        let error = #expect(throws: EngineError.self) { try LoadedModel(directory: directory) }
        guard case .model(let named, let underlying)? = error else {
            Issue.record("expected EngineError.model, got \(String(describing: error))")
            return
        }
        #expect(named == directory.path)
        #expect(underlying as? TokenizerError == .fileNotFound(path: directory.appendingPathComponent("tokenizer.json").path))
        #expect(String(describing: error!).contains(directory.path))
        #expect(String(describing: error!).contains("tokenizer.json"))
    }

    @Test("a config with an unknown model_type is EngineError.model naming model_type and the value")
    func unknownModelType() throws {
        let folder = try EngineFixtures.temporaryDirectory("model-type")
        defer { EngineFixtures.remove(folder) }
        let directory = try EngineFixtures.modelDirectory(EngineFixtures.blockCausal, in: folder)
        let configURL = directory.appendingPathComponent("config.json")
        let original = try String(contentsOf: configURL, encoding: .utf8)
        #expect(original.contains("\"model_type\": \"llada\""))
        try FileManager.default.removeItem(at: configURL)
        try original.replacingOccurrences(of: "\"model_type\": \"llada\"", with: "\"model_type\": \"gpt9\"")
            .write(to: configURL, atomically: true, encoding: .utf8)
        let error = #expect(throws: EngineError.self) { try LoadedModel(directory: directory) }
        guard case .model(let named, let underlying)? = error else {
            Issue.record("expected EngineError.model, got \(String(describing: error))")
            return
        }
        #expect(named == directory.path)
        guard case .unknownModelType(_, let value)? = underlying as? ModelConfigurationError else {
            Issue.record("expected ModelConfigurationError.unknownModelType, got \(underlying)")
            return
        }
        #expect(value == "gpt9")
        let message = String(describing: error!)
        #expect(message.contains("model_type") && message.contains("gpt9") && message.contains("config.json"))
    }

    @Test("stored modes without a store are EngineError.store naming the mode", arguments: [DecodingMode.stored, .storedRefresh])
    func storedModeNeedsStore(mode: DecodingMode) throws {
        let folder = try EngineFixtures.temporaryDirectory("no-store")
        defer { EngineFixtures.remove(folder) }
        let engine = QAEngine(loaded: try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder), store: nil)
        let request = QARequest(
            document: EngineFixtures.document(sentences: 2), question: "Who?", parameters: EngineFixtures.parameters(mode))
        let error = #expect(throws: EngineError.self) { try engine.answer(request) }
        guard case .store(let reason)? = error else {
            Issue.record("expected EngineError.store, got \(String(describing: error))")
            return
        }
        #expect(reason.contains(mode.rawValue))
    }

    @Test("invalid decoding parameters are rejected naming the field")
    func invalidParameters() throws {
        let folder = try EngineFixtures.temporaryDirectory("parameters")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        let engine = QAEngine(loaded: loaded, store: nil)
        var parameters = EngineFixtures.parameters(.focus)
        parameters.steps = 3
        let request = QARequest(document: EngineFixtures.document(sentences: 2), question: "Who?", parameters: parameters)
        #expect(throws: DecodingError.invalidParameter(field: "steps", reason: "3 is not a positive multiple of the 2 blocks")) {
            try engine.answer(request)
        }
    }

    // MARK: - Limits and prefill options

    @Test("a document too long for the model is DecodingError.promptTooLong with the counts")
    func documentTooLong() throws {
        let folder = try EngineFixtures.temporaryDirectory("too-long")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let engine = QAEngine(loaded: loaded, store: try DocumentStore(directory: folder.appendingPathComponent("store")))
        let document = EngineFixtures.document(sentences: 100)
        let prompt = try engine.prompt(document: document, question: "Who?")
        let limit = loaded.configuration.maxSequenceLength
        #expect(prompt.tokens.count + 16 > limit)
        for mode in [DecodingMode.vanilla, .cached, .stored] {
            let request = QARequest(document: document, question: "Who?", parameters: EngineFixtures.parameters(mode))
            #expect(throws: DecodingError.promptTooLong(tokens: prompt.tokens.count + 16, limit: limit)) {
                try engine.answer(request)
            }
        }
    }

    @Test("a document too long for the model is rejected before its KV is computed and stored",
          )
    func documentTooLongIsNotPrefilled() throws {
        let folder = try EngineFixtures.temporaryDirectory("too-long-store")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let request = QARequest(
            document: EngineFixtures.document(sentences: 100), question: "Who?", parameters: EngineFixtures.parameters(.stored))
        #expect(throws: DecodingError.self) { try QAEngine(loaded: loaded, store: store).answer(request) }
        #expect(try store.list().isEmpty)
    }

    @Test("a stored block size of 0 is rejected before prefill, naming blockSize, and nothing is stored")
    func zeroBlockSize() throws {
        let folder = try EngineFixtures.temporaryDirectory("block-size")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let request = QARequest(
            document: EngineFixtures.document(sentences: 2), question: "Who?", parameters: EngineFixtures.parameters(.stored),
            prefill: EngineFixtures.prefill(blockSize: 0))
        let error = #expect(throws: EngineError.self) { try QAEngine(loaded: loaded, store: store).answer(request) }
        #expect(String(describing: error).contains("blockSize"))
        #expect(try store.list().isEmpty)
    }

    @Test("a chunk size below 1 or a negative sink count is a typed error, and nothing is stored",
          
          arguments: ["chunk", "sinks"])
    func invalidPrefillOptions(field: String) throws {
        let folder = try EngineFixtures.temporaryDirectory("prefill-options")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        var options = EngineFixtures.prefill()
        if field == "chunk" { options.mode = .chunked(size: 0) } else { options.sinkCount = -1 }
        let request = QARequest(
            document: EngineFixtures.document(sentences: 2), question: "Who?", parameters: EngineFixtures.parameters(.stored),
            prefill: options)
        let error = #expect(throws: (any Error).self) { try QAEngine(loaded: loaded, store: store).answer(request) }
        #expect(String(describing: error).contains(field))
        #expect(try store.list().isEmpty)
    }

    // MARK: - Tokenizer and model that do not fit

    @Test("a tokenizer whose ids exceed the model's vocabulary is EngineError.model at load",
          )
    func tokenizerLargerThanModel() throws {
        let folder = try EngineFixtures.temporaryDirectory("big-tokenizer")
        defer { EngineFixtures.remove(folder) }
        let directory = try EngineFixtures.modelDirectory(EngineFixtures.blockCausal, in: folder, withTokenizer: false)
        let real = EngineFixtures.testsRoot.deletingLastPathComponent()
            .appendingPathComponent("../shared/fixtures/tokenizers/ling-llada/tokenizer.json").standardizedFileURL
        try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent("tokenizer.json"), withDestinationURL: real)
        let error = #expect(throws: EngineError.self) { try LoadedModel(directory: directory) }
        guard case .model(let named, _)? = error else { return }
        #expect(named == directory.path)
        #expect(String(describing: error!).contains("tokenizer.json"))
    }

    @Test("a tokenizer whose mask or end-of-text id differs from config.json is EngineError.model at load",
          )
    func tokenizerSpecialIDsDisagree() throws {
        let folder = try EngineFixtures.temporaryDirectory("swapped-tokenizer")
        defer { EngineFixtures.remove(folder) }
        let directory = try EngineFixtures.modelDirectory(EngineFixtures.blockCausal, in: folder, withTokenizer: false)
        let data = try Data(contentsOf: EngineFixtures.tokenizerFolder.appendingPathComponent("tokenizer.json"))
        var root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var added = try #require(root["added_tokens"] as? [[String: Any]])
        for index in added.indices {
            switch added[index]["content"] as? String {
            case "<|mdm_mask|>": added[index]["id"] = 298
            case "<|endoftext|>": added[index]["id"] = 299
            default: break
            }
        }
        root["added_tokens"] = added
        try JSONSerialization.data(withJSONObject: root).write(to: directory.appendingPathComponent("tokenizer.json"))
        let error = #expect(throws: EngineError.self) { try LoadedModel(directory: directory) }
        #expect(String(describing: error).contains("mask_token_id"))
    }
}
