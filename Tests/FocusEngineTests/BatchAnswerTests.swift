import FocusDecoding
import Foundation
import Testing
@testable import FocusEngine
import FocusStore

/// `QAEngine.answerTogether`: questions about one stored document decoded as one batch give the
/// answers `answer(_:)` gives one at a time, with the document prefilled once; other modes and
/// mismatched requests fall back to one at a time.
@Suite("Answering questions together")
struct BatchAnswerTests {
    static let document = EngineFixtures.document(sentences: 6, seed: 21)
    static let questions = [
        "Who hid the nets?", "What did the mayor sell?", "Where was the stone wall repaired?", "Who counted the boats?",
    ]

    /// An engine on the block-causal tiny model with its own fresh store, in a subfolder of `folder`.
    static func engine(in folder: URL, _ label: String) throws -> (QAEngine, DocumentStore) {
        let parent = folder.appendingPathComponent(label)
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: parent)
        let store = try DocumentStore(directory: parent.appendingPathComponent("store"))
        return (QAEngine(loaded: loaded, store: store), store)
    }

    static func requests(
        _ questions: [String], mode: DecodingMode = .stored, document: String = Self.document
    ) -> [QARequest] {
        questions.map { QARequest(document: document, question: $0, parameters: EngineFixtures.parameters(mode)) }
    }

    /// The answers of a second engine with its own store, asked one question after the other.
    static func oneAtATime(_ requests: [QARequest], in folder: URL) throws -> [QAAnswer] {
        let (engine, _) = try engine(in: folder, "reference")
        return try requests.map { try engine.answer($0) }
    }

    static func expectSameAnswers(
        _ together: [QAAnswer], _ alone: [QAAnswer], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(together.count == alone.count, sourceLocation: sourceLocation)
        for (index, (batched, single)) in zip(together, alone).enumerated() {
            #expect(batched.tokens == single.tokens, "answer \(index)", sourceLocation: sourceLocation)
            #expect(batched.decoding.generatedTokens == single.decoding.generatedTokens, "answer \(index)",
                    sourceLocation: sourceLocation)
            #expect(batched.text == single.text, "answer \(index)", sourceLocation: sourceLocation)
            #expect(batched.mode == single.mode, sourceLocation: sourceLocation)
            #expect(batched.documentTokens == single.documentTokens, sourceLocation: sourceLocation)
            #expect(batched.promptTokens == single.promptTokens, sourceLocation: sourceLocation)
            #expect(batched.prefill?.storeHit == single.prefill?.storeHit, "answer \(index)",
                    sourceLocation: sourceLocation)
            #expect(batched.prefill?.key == single.prefill?.key, sourceLocation: sourceLocation)
        }
    }

    @Test("four stored questions about one document decode together into the one-at-a-time answers")
    func storedQuestionsTogether() throws {
        let folder = try EngineFixtures.temporaryDirectory("together")
        defer { EngineFixtures.remove(folder) }
        let (engine, store) = try Self.engine(in: folder, "batch")
        let requests = Self.requests(Self.questions)
        let together = try engine.answerTogether(requests)
        let alone = try Self.oneAtATime(requests, in: folder)

        try #require(together.count == 4)
        Self.expectSameAnswers(together, alone)
        for answer in together { expectComplete(answer) }
        #expect(Set(together.map(\.tokens)).count > 1, "the questions get different answers")

        let first = try #require(together[0].prefill)
        #expect(!first.storeHit)
        #expect(first.storedRows == together[0].documentTokens)
        #expect(together[0].decoding.prefillSeconds >= first.seconds)
        for answer in together.dropFirst() {
            #expect(answer.prefill?.storeHit == true)
            #expect(answer.prefill?.key == first.key)
            #expect(answer.prefill?.seconds == 0)
        }
        #expect(together.allSatisfy { $0.corruptionsRepaired == 0 })
        let share = together[0].totalSeconds
        #expect(share > 0)
        #expect(together.allSatisfy { $0.totalSeconds == share }, "each answer carries an equal share")

        let entries = try store.list()
        #expect(entries.count == 1)
        #expect(entries.first?.key == first.key)

        // A second batch about the same document is served from the open entry.
        let again = try engine.answerTogether(Self.requests(Array(Self.questions.reversed())))
        #expect(again.allSatisfy { $0.prefill?.storeHit == true })
        #expect(again.map(\.tokens) == together.reversed().map(\.tokens))
        #expect(try store.list().count == 1)
    }

    @Test("questions in focus mode are answered as one at a time")
    func focusModeOneAtATime() throws {
        let folder = try EngineFixtures.temporaryDirectory("together-focus")
        defer { EngineFixtures.remove(folder) }
        let (engine, store) = try Self.engine(in: folder, "batch")
        let requests = Self.requests(Array(Self.questions.prefix(3)), mode: .focus)
        let together = try engine.answerTogether(requests)
        Self.expectSameAnswers(together, try Self.oneAtATime(requests, in: folder))
        #expect(together.allSatisfy { $0.prefill == nil && $0.mode == .focus })
        for answer in together { expectComplete(answer) }
        #expect(try store.list().isEmpty, "focus mode does not use the store")
    }

    @Test("stored questions about different documents are answered as one at a time")
    func differentDocumentsOneAtATime() throws {
        let folder = try EngineFixtures.temporaryDirectory("together-mixed")
        defer { EngineFixtures.remove(folder) }
        let (engine, store) = try Self.engine(in: folder, "batch")
        let other = EngineFixtures.document(sentences: 5, seed: 22)
        let requests = Self.requests([Self.questions[0]])
            + Self.requests([Self.questions[1]], document: other)
            + Self.requests([Self.questions[2]])
        let together = try engine.answerTogether(requests)
        Self.expectSameAnswers(together, try Self.oneAtATime(requests, in: folder))
        #expect(together.map { $0.prefill?.storeHit } == [false, false, true])
        #expect(together[0].prefill?.key == together[2].prefill?.key)
        #expect(together[0].prefill?.key != together[1].prefill?.key)
        #expect(try store.list().count == 2)
    }

    @Test("an empty question among the batch throws emptyQuestion and leaves the engine and store usable")
    func emptyQuestionThrows() throws {
        let folder = try EngineFixtures.temporaryDirectory("together-empty")
        defer { EngineFixtures.remove(folder) }
        let (engine, store) = try Self.engine(in: folder, "batch")
        var questions = Self.questions
        questions.insert("   ", at: 2)
        #expect(throws: DecodingError.emptyQuestion) { try engine.answerTogether(Self.requests(questions)) }
        #expect(try store.list().isEmpty, "the questions are checked before the store is touched")

        let requests = Self.requests(Self.questions)
        let together = try engine.answerTogether(requests)
        let alone = try Self.oneAtATime(requests, in: folder)
        #expect(together.map(\.tokens) == alone.map(\.tokens))
        #expect(together.map(\.decoding.generatedTokens) == alone.map(\.decoding.generatedTokens))
        #expect(together.dropFirst().allSatisfy { $0.prefill?.storeHit == true })
        #expect(try store.list().count == 1)
    }
}
