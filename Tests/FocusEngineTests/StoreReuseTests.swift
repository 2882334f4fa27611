import Foundation
import Testing
@testable import FocusEngine
import FocusStore

/// The document store as the engine uses it: one prefill per document and key, hits from memory
/// and from disk, repair of corrupt entries, and one prefill when two engines race.
@Suite("Store reuse through the engine")
struct StoreReuseTests {
    static let document = EngineFixtures.document(sentences: 6, seed: 11)

    @Test("the first question prefills, later questions hit the entry in memory and from disk")
    func missThenHits() throws {
        let folder = try EngineFixtures.temporaryDirectory("hits")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let storeURL = folder.appendingPathComponent("store")
        let store = try DocumentStore(directory: storeURL)
        let engine = QAEngine(loaded: loaded, store: store)
        let parameters = EngineFixtures.parameters(.stored)
        let first = try engine.answer(QARequest(document: Self.document, question: "Who hid the nets?", parameters: parameters))
        let firstReport = try #require(first.prefill)
        #expect(!firstReport.storeHit)
        #expect(firstReport.storedRows == first.documentTokens)
        expectComplete(first)
        let entries = try store.list()
        #expect(entries.count == 1)
        #expect(entries.first?.key == firstReport.key)

        let second = try engine.answer(QARequest(document: Self.document, question: "What did the mayor sell?", parameters: parameters))
        #expect(second.prefill?.storeHit == true)
        #expect(second.prefill?.key == firstReport.key)
        #expect(second.decoding.kvBytesRead == 0, "the open document's blocks are already in memory")
        expectComplete(second)

        let otherProcess = QAEngine(
            loaded: try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder.appendingPathComponent("again")),
            store: try DocumentStore(directory: storeURL))
        let third = try otherProcess.answer(QARequest(document: Self.document, question: "Who hid the nets?", parameters: parameters))
        #expect(third.prefill?.storeHit == true)
        #expect(third.prefill?.key == firstReport.key)
        #expect(third.decoding.kvBytesRead > 0, "a new engine reads the blocks from disk")
        #expect(third.decoding.generatedTokens == first.decoding.generatedTokens)
        let after = try store.list()
        #expect(after.count == 1)
        #expect(after.first?.createdAt == entries.first?.createdAt, "the entry was not rewritten")
    }

    @Test("a document prefilled ahead of time is a hit for the engine's first question")
    func prefilledAheadIsHit() throws {
        let folder = try EngineFixtures.temporaryDirectory("ahead")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let engine = QAEngine(loaded: loaded, store: store)
        let options = EngineFixtures.prefill(.f16, mode: .chunked(size: 64), blockSize: 32)
        let prompt = try engine.prompt(document: Self.document, question: "Who hid the nets?")
        let prefiller = DocumentPrefiller(loaded: loaded, store: store)
        let (stored, report) = try prefiller.prefill(documentIDs: Array(prompt.tokens[..<prompt.documentLength]), options: options)
        stored.close()
        #expect(!report.storeHit)
        #expect(report.storedRows > report.documentTokens)

        var parameters = EngineFixtures.parameters(.storedRefresh)
        parameters.focus.denseLayers = 1
        let answer = try engine.answer(QARequest(
            document: Self.document, question: "Who hid the nets?", parameters: parameters, prefill: options))
        #expect(answer.prefill?.storeHit == true)
        #expect(answer.prefill?.key == report.key)
        #expect(answer.prefill?.storedRows == report.storedRows)
        expectComplete(answer)
        #expect(try store.list().count == 1)
    }

    @Test("two engines asking about the same new document at once prefill it once")
    func concurrentMissPrefillsOnce() throws {
        let folder = try EngineFixtures.temporaryDirectory("race")
        defer { EngineFixtures.remove(folder) }
        let storeURL = folder.appendingPathComponent("store")
        let engines = try (0..<2).map { index in
            QAEngine(
                loaded: try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder.appendingPathComponent("\(index)")),
                store: try DocumentStore(directory: storeURL))
        }
        let document = EngineFixtures.document(sentences: 30, seed: 12)
        let request = QARequest(
            document: document, question: "Who hid the nets?", parameters: EngineFixtures.parameters(.stored),
            prefill: EngineFixtures.prefill(.f32))
        let results = Results()
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for engine in engines {
            group.enter()
            Thread.detachNewThread {
                start.wait()
                results.add(Result { try engine.answer(request) })
                group.leave()
            }
        }
        start.signal()
        start.signal()
        group.wait()

        let answers = try results.all().map { try $0.get() }
        #expect(answers.count == 2)
        let hits = answers.compactMap(\.prefill).filter(\.storeHit).count
        #expect(hits == 1, "exactly one engine computed the document")
        #expect(Set(answers.compactMap(\.prefill?.key)).count == 1)
        #expect(try DocumentStore(directory: storeURL).list().count == 1)
        #expect(answers[0].decoding.generatedTokens == answers[1].decoding.generatedTokens)
    }
}

/// Results collected from several threads.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<QAAnswer, Error>] = []

    func add(_ result: Result<QAAnswer, Error>) {
        lock.withLock { results.append(result) }
    }

    func all() -> [Result<QAAnswer, Error>] {
        lock.withLock { results }
    }
}
