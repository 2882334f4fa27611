import FocusDecoding
import Foundation
import Testing
@testable import FocusEngine
import FocusStore

/// Chunked prefill with chunk-local positions (Prefilling-dLLM): every chunk starts at position 0
/// and the question follows the longest chunk, so a document longer than the model's context
/// can be stored and questioned.
@Suite("Documents longer than the context")
struct LongDocumentTests {
    static func setUp(_ label: String) throws -> (URL, LoadedModel, DocumentStore, String) {
        let folder = try EngineFixtures.temporaryDirectory(label)
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        return (folder, loaded, store, EngineFixtures.document(sentences: 100))
    }

    static func chunked(_ positions: ChunkPositions) -> PrefillOptions {
        var options = EngineFixtures.prefill(mode: .chunked(size: 1024))
        options.chunkPositions = positions
        return options
    }

    @Test("stored and stored-refresh answer about a document longer than max_sequence_length", arguments: [DecodingMode.stored, .storedRefresh])
    func localPositionsFit(mode: DecodingMode) throws {
        let (folder, loaded, store, document) = try Self.setUp("long-\(mode.rawValue)")
        defer { EngineFixtures.remove(folder) }
        let engine = QAEngine(loaded: loaded, store: store)
        let prompt = try engine.prompt(document: document, question: "Who?")
        #expect(prompt.tokens.count > loaded.configuration.maxSequenceLength)
        let request = QARequest(
            document: document, question: "Who?", parameters: EngineFixtures.parameters(mode),
            prefill: Self.chunked(.local))
        let answer = try engine.answer(request)
        #expect(!answer.tokens.contains(loaded.configuration.maskTokenID))
        #expect(answer.decoding.generatedTokens.count == 16)
        let manifest = try #require(try store.list().first)
        #expect(manifest.prefillParameters["positions"] == "local")
        #expect(manifest.tokenCount == prompt.documentLength + (prompt.documentLength + 1023) / 1024 - 1)
    }

    @Test("continuous positions keep the limit, and the two position schemes are different entries")
    func continuousPositionsRefused() throws {
        let (folder, loaded, store, document) = try Self.setUp("long-continuous")
        defer { EngineFixtures.remove(folder) }
        let engine = QAEngine(loaded: loaded, store: store)
        let continuous = QARequest(
            document: document, question: "Who?", parameters: EngineFixtures.parameters(.stored),
            prefill: Self.chunked(.continuous))
        #expect(throws: DecodingError.self) { try engine.answer(continuous) }
        #expect(try store.list().isEmpty)
        let prefiller = DocumentPrefiller(loaded: loaded, store: store)
        let ids = Array(try engine.prompt(document: document, question: "?").tokens.prefix(10))
        #expect(prefiller.key(documentIDs: ids, options: Self.chunked(.local))
            != prefiller.key(documentIDs: ids, options: Self.chunked(.continuous)))
    }
}
