import FocusEngine
import FocusQueue
import Foundation

/// Carries the worker's heartbeat into the engine for the duration of one job.
private final class HeartbeatBox: @unchecked Sendable {
    let call: () throws -> Void
    init(_ call: @escaping () throws -> Void) { self.call = call }
}

/// A job's input cannot be used: the job fails at once, with this reason, and is not retried.
struct BadJobInput: PermanentJobError, CustomStringConvertible {
    let description: String
}

/// Answers queued jobs with the engine: one loaded model and engine per model directory, kept
/// across jobs so consecutive questions about a document reuse its stored KV in memory.
final class EngineJobProcessor: JobProcessor {
    let storeDirectory: URL
    let storeBudget: Int64?
    /// Mode of the store folders created (`StoreOptions.directoryMode`).
    let storeDirectoryMode: mode_t
    private var engines: [String: QAEngine] = [:]

    init(storeDirectory: URL, storeBudget: Int64?, storeDirectoryMode: mode_t) {
        self.storeDirectory = storeDirectory
        self.storeBudget = storeBudget
        self.storeDirectoryMode = storeDirectoryMode
    }

    func process(_ job: ClaimedJob, heartbeat: () throws -> Void) throws -> JobOutcome {
        let settings: JobSettings
        do {
            settings = try JobSettings(canonicalJSON: job.modeParams)
        } catch {
            throw BadJobInput(description: "job \(job.id): mode_params is not valid settings JSON (\(error))")
        }
        let text = try document(of: job)
        try heartbeat()
        let engine = try self.engine(for: job.modelDir)
        try heartbeat()
        let answer: QAAnswer
        do {
            answer = try withoutActuallyEscaping(heartbeat) { beat in
                let bar = TerminalProgress(label: "job \(job.id)")
                defer { bar?.finish() }
                return try engine.answer(request(text, job.question, settings, heartbeat: HeartbeatBox(beat), bar: bar))
            }
        } catch let error as DecodingError {
            throw BadJobInput(description: "\(error)")
        } catch let error as EngineError {
            if case .store = error { throw error }
            throw BadJobInput(description: "\(error)")
        }
        try heartbeat()
        return outcome(answer, job: job, settings: settings)
    }

    /// Stored-mode jobs are decoded together with queued jobs of the same document and settings.
    func canBatch(_ job: ClaimedJob) -> Bool {
        (try? JobSettings(canonicalJSON: job.modeParams))?.mode == .stored
    }

    /// Jobs of one document with the same model and settings in the stored mode are decoded
    /// together (`QAEngine.answerTogether`); any other batch is answered one job at a time.
    func process(batch jobs: [ClaimedJob], heartbeat: () throws -> Void) -> [Result<JobOutcome, Error>] {
        guard let first = jobs.first,
            jobs.allSatisfy({ $0.documentID == first.documentID && $0.modelDir == first.modelDir && $0.modeParams == first.modeParams }),
            let settings = try? JobSettings(canonicalJSON: first.modeParams), settings.mode == .stored
        else { return oneAtATime(jobs, heartbeat: heartbeat) }
        do {
            let text = try document(of: first)
            try heartbeat()
            let engine = try self.engine(for: first.modelDir)
            try heartbeat()
            let answers = try withoutActuallyEscaping(heartbeat) { beat in
                let box = HeartbeatBox(beat)
                let bar = TerminalProgress(label: "jobs \(first.id)…\(jobs.last!.id)")
                defer { bar?.finish() }
                return try engine.answerTogether(jobs.map { request(text, $0.question, settings, heartbeat: box, bar: bar) })
            }
            try heartbeat()
            return zip(jobs, answers).map { job, answer in .success(outcome(answer, job: job, settings: settings)) }
        } catch is DecodingError {
            return oneAtATime(jobs, heartbeat: heartbeat)
        } catch let error as EngineError {
            if case .store = error { return jobs.map { _ in .failure(error) } }
            return oneAtATime(jobs, heartbeat: heartbeat)
        } catch {
            return jobs.map { _ in .failure(error) }
        }
    }

    /// The engine request of a job's question, reporting progress to `bar` and beating `heartbeat`.
    private func request(
        _ document: String, _ question: String, _ settings: JobSettings, heartbeat: HeartbeatBox, bar: TerminalProgress?
    ) -> QARequest {
        var request = QARequest(document: document, question: question, settings: settings)
        request.heartbeat = { progress in
            bar?.show(progress)
            try heartbeat.call()
        }
        return request
    }

    /// What the queue records for an answered job.
    private func outcome(_ answer: QAAnswer, job: ClaimedJob, settings: JobSettings) -> JobOutcome {
        JobOutcome(
            answer: answer.text, answerTokenIDs: answer.tokens.map(Int.init),
            metrics: metrics(of: answer, job: job, settings: settings))
    }

    /// Answers the jobs one by one: for batches that cannot be decoded together, and for a batch
    /// refused as a whole for its input (one question empty or too long), so that only the
    /// faulty jobs fail.
    private func oneAtATime(_ jobs: [ClaimedJob], heartbeat: () throws -> Void) -> [Result<JobOutcome, Error>] {
        jobs.map { job in Result { try self.process(job, heartbeat: heartbeat) } }
    }

    /// The job's document text, checked against the digest recorded at submission. The text is
    /// the one stored in the database at submission: the submitter's path is never opened, except
    /// for a document registered before texts were stored (and not submitted since), which is read
    /// from its path as it was then.
    private func document(of job: ClaimedJob) throws -> String {
        if let text = job.documentText {
            guard Self.digest(Data(text.utf8)) == job.documentSHA256 else {
                throw BadJobInput(description: "document \(job.documentID) (\(job.documentPath)): the stored text does not match its SHA-256")
            }
            return text
        }
        guard let data = FileManager.default.contents(atPath: job.documentPath) else {
            throw BadJobInput(description: "\(job.documentPath): document no longer readable")
        }
        guard Self.digest(data) == job.documentSHA256 else {
            throw BadJobInput(description: "\(job.documentPath): document changed since it was submitted")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw BadJobInput(description: "\(job.documentPath): document is not valid UTF-8")
        }
        return text
    }

    /// Lowercase hex SHA-256.
    static func digest(_ data: Data) -> String {
        SHA256.hash(data).map { String(format: "%02x", $0) }.joined()
    }

    private func engine(for modelDir: String) throws -> QAEngine {
        if let engine = engines[modelDir] { return engine }
        let loaded: LoadedModel
        do {
            loaded = try LoadedModel(directory: URL(fileURLWithPath: modelDir))
        } catch {
            throw BadJobInput(description: "\(error)")
        }
        let store = try DocumentStore(directory: storeDirectory, budgetBytes: storeBudget, directoryMode: storeDirectoryMode)
        let engine = QAEngine(loaded: loaded, store: store)
        engines[modelDir] = engine
        return engine
    }

    private func metrics(of answer: QAAnswer, job: ClaimedJob, settings: JobSettings) -> JobMetrics {
        let d = answer.decoding
        var m = JobMetrics()
        m.queueWaitSeconds = max(0, job.startedAt - job.createdAt)
        m.prefillSeconds = d.prefillSeconds
        m.storeHit = answer.prefill?.storeHit
        m.kvLoadSeconds = answer.prefill == nil ? nil : d.kvLoadSeconds
        m.kvLoadBytes = answer.prefill == nil ? nil : d.kvBytesRead
        m.decodeSeconds = d.decodeSeconds
        m.answerTokens = answer.tokens.count
        m.tokensPerSecond = answer.totalSeconds > 0 ? Double(answer.tokens.count) / answer.totalSeconds : nil
        m.nfe = d.forwardPasses
        m.steps = d.steps
        m.blocksSelected = d.blocksTotal > 0 ? d.blocksSelected : nil
        m.blocksTotal = d.blocksTotal > 0 ? d.blocksTotal : nil
        m.attentionDensity = d.attentionDensity
        m.peakRSSBytes = answer.peakResidentBytes
        m.model = URL(fileURLWithPath: job.modelDir).lastPathComponent
        m.mode = answer.mode.rawValue
        m.modeParams = settings.canonicalJSON
        return m
    }
}
