import FocusDecoding
import FocusEngine
import FocusHashing
import FocusQueue
import FocusStore
import Foundation
import Testing
@testable import FocusWorker

/// The worker's processor on a real queue and the tiny block-causal model: settings decoded from
/// the queue, answers equal to the engine's, batches formed by settings values.
@Suite("Engine job processor")
struct EngineJobProcessorTests {
    /// A temporary folder with the tiny model, a store and a queue.
    struct Workspace {
        let folder: URL
        let model: URL
        let queue: JobQueue
        let processor: EngineJobProcessor

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("focus-worker-tests-\(UUID().uuidString)")
            let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            let checkpoint = tests.appendingPathComponent("Fixtures/checkpoints/llada-bf16-sharded")
            model = folder.appendingPathComponent("model")
            try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
            let files = try FileManager.default.contentsOfDirectory(at: checkpoint, includingPropertiesForKeys: nil).filter {
                let name = $0.lastPathComponent
                return name == "config.json" || name.hasPrefix("model") && name.contains(".safetensors")
            }
            for file in files + [tests.appendingPathComponent("Fixtures/tiny-tokenizer/tokenizer.json")] {
                try FileManager.default.createSymbolicLink(
                    at: model.appendingPathComponent(file.lastPathComponent), withDestinationURL: file)
            }
            queue = try JobQueue(path: folder.appendingPathComponent("focus.sqlite").path)
            processor = EngineJobProcessor(
                storeDirectory: folder.appendingPathComponent("store"), storeBudget: nil, storeDirectoryMode: 0o755)
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }

        /// Queues `questions` about `document` with `settings` and claims them all.
        func claim(_ questions: [String], document: String, settings: JobSettings) throws -> [ClaimedJob] {
            let data = Data(document.utf8)
            let documentID = try queue.registerDocument(NewDocument(
                sha256: SHA256.hexDigest(data), path: "doc.txt", byteSize: data.count, text: document))
            try queue.submit(batch: questions.map {
                NewJob(documentID: documentID, question: $0, modelDir: model.path, settings: settings)
            })
            return try queue.claimBatch(workerID: "w", documentID: documentID, limit: questions.count, leaseSeconds: 60)
        }
    }

    static let document = "The harbour master counted the boats by the bridge in the year 1700. "
        + "A clerk hid seven nets near the church in the year 1707."

    static func settings(_ mode: DecodingMode, threshold: Float? = 0.9) throws -> JobSettings {
        var decoding = DecodingParameters(mode: mode)
        decoding.threshold = threshold
        return try JobSettings(decoding: decoding)
    }

    @Test("a job is answered as the engine answers its request")
    func answersLikeTheEngine() throws {
        let space = try Workspace()
        defer { space.remove() }
        let settings = try Self.settings(.stored)
        let job = try #require(try space.claim(["Who hid the nets?"], document: Self.document, settings: settings).first)
        let outcome = try space.processor.process(job) {}
        let store = try DocumentStore(directory: space.folder.appendingPathComponent("other-store"))
        let engine = QAEngine(loaded: try LoadedModel(directory: space.model), store: store)
        let alone = try engine.answer(QARequest(document: Self.document, question: "Who hid the nets?", settings: settings))
        #expect(outcome.metrics.mode == "stored")
        #expect(outcome.metrics.modeParams == settings.canonicalJSON)
        #expect(outcome.answerTokenIDs == alone.tokens.map(Int.init))
        #expect(outcome.answer == alone.text)
    }

    @Test("stored-mode jobs batch, other modes do not; unreadable settings fail the job for good")
    func batchingFollowsTheMode() throws {
        let space = try Workspace()
        defer { space.remove() }
        let stored = try #require(try space.claim(["Who?"], document: Self.document, settings: Self.settings(.stored)).first)
        let focus = try #require(try space.claim(["What?"], document: Self.document + " More.", settings: Self.settings(.focus)).first)
        #expect(space.processor.canBatch(stored))
        #expect(!space.processor.canBatch(focus))

        let documentID = stored.documentID
        try space.queue.submit(NewJob(documentID: documentID, question: "Why?", modelDir: space.model.path, mode: "stored", modeParams: #"{"tau":0.9}"#))
        let bad = try #require(try space.queue.claim(workerID: "w", leaseSeconds: 60))
        #expect(!space.processor.canBatch(bad))
        #expect(throws: BadJobInput.self) { try space.processor.process(bad) {} }
    }

    @Test("jobs with equal settings are answered together exactly as one at a time; unequal ones one at a time")
    func batchesCompareSettingsValues() throws {
        let space = try Workspace()
        defer { space.remove() }
        let questions = ["Who hid the nets?", "What did the harbour master count?", "When?"]
        let jobs = try space.claim(questions, document: Self.document, settings: Self.settings(.stored))
        #expect(jobs.count == 3)
        let together = try space.processor.process(batch: jobs) {}.map { try $0.get() }
        let alone = try jobs.map { try space.processor.process($0) {} }
        #expect(together.map(\.answerTokenIDs) == alone.map(\.answerTokenIDs))

        let other = try space.claim(["Who?"], document: Self.document + " Again.", settings: Self.settings(.stored, threshold: 0.5))
        let mixed = space.processor.process(batch: [jobs[0], other[0]]) {}
        #expect(mixed.count == 2)
        #expect(try mixed[0].get().answerTokenIDs == alone[0].answerTokenIDs)
    }

    @Test("a document whose stored text does not match its digest fails the job for good")
    func changedDocumentFails() throws {
        let space = try Workspace()
        defer { space.remove() }
        let documentID = try space.queue.registerDocument(NewDocument(
            sha256: String(repeating: "0", count: 64), path: "doc.txt", byteSize: 3, text: "abc"))
        try space.queue.submit(NewJob(documentID: documentID, question: "Who?", modelDir: space.model.path, settings: try Self.settings(.focus)))
        let job = try #require(try space.queue.claim(workerID: "w", leaseSeconds: 60))
        #expect(throws: BadJobInput.self) { try space.processor.process(job) {} }
    }
}
