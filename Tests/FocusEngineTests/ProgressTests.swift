import FocusDecoding
import Foundation
import Testing
@testable import FocusEngine
import FocusStore

/// The heartbeat a worker passes into the engine: it sees every prefill layer and decoding step,
/// and a throw (a lost lease, a stop request) abandons the question without storing anything.
@Suite("Engine progress and interruption")
struct ProgressTests {
    struct Interrupted: Error {}

    /// Records what the engine reports; throws once `limit` events have been seen.
    final class Recorder: @unchecked Sendable {
        let limit: Int?
        private(set) var events: [EngineProgress] = []
        init(limit: Int? = nil) { self.limit = limit }
        func record(_ event: EngineProgress) throws {
            events.append(event)
            if let limit, events.count >= limit { throw Interrupted() }
        }
    }

    @Test("a stored question reports every prefill layer, then its decoding steps")
    func reportsPrefillThenSteps() throws {
        let folder = try EngineFixtures.temporaryDirectory("progress")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let recorder = Recorder()
        var request = QARequest(
            document: EngineFixtures.document(sentences: 6), question: "Who?",
            parameters: EngineFixtures.parameters(.stored), prefill: EngineFixtures.prefill())
        request.heartbeat = { try recorder.record($0) }
        let answer = try QAEngine(loaded: loaded, store: store).answer(request)
        let layers = loaded.configuration.layerCount
        let prefill = recorder.events.filter { $0.phase == .prefill }
        let decode = recorder.events.filter { $0.phase == .decode }
        #expect(prefill.map(\.done) == Array(1...layers))
        #expect(prefill.allSatisfy { $0.total == layers })
        #expect(decode.count == answer.decoding.steps)
        #expect(decode.map(\.done) == Array(0..<answer.decoding.steps))
        #expect(recorder.events.firstIndex { $0.phase == .decode }! > recorder.events.lastIndex { $0.phase == .prefill }!)
    }

    @Test("a heartbeat that throws during prefill abandons it and stores nothing")
    func interruptedPrefillStoresNothing() throws {
        let folder = try EngineFixtures.temporaryDirectory("interrupted-prefill")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let recorder = Recorder(limit: 1)
        var request = QARequest(
            document: EngineFixtures.document(sentences: 6), question: "Who?",
            parameters: EngineFixtures.parameters(.stored), prefill: EngineFixtures.prefill())
        request.heartbeat = { try recorder.record($0) }
        #expect(throws: Interrupted.self) { try QAEngine(loaded: loaded, store: store).answer(request) }
        #expect(try store.list().isEmpty)
        #expect(recorder.events.count == 1)
    }

    @Test("a heartbeat that throws during decoding stops the decoder", arguments: [DecodingMode.vanilla, .cached, .focus])
    func interruptedDecoding(mode: DecodingMode) throws {
        let folder = try EngineFixtures.temporaryDirectory("interrupted-decode")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        let recorder = Recorder(limit: 3)
        var request = QARequest(
            document: EngineFixtures.document(sentences: 4), question: "Who?",
            parameters: EngineFixtures.parameters(mode))
        request.heartbeat = { try recorder.record($0) }
        #expect(throws: Interrupted.self) { try QAEngine(loaded: loaded, store: nil).answer(request) }
        #expect(recorder.events.count == 3)
        #expect(recorder.events.allSatisfy { $0.phase == .decode })
    }
}
