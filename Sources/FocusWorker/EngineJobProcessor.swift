import FocusDecoding
import FocusEngine
import FocusQueue
import FocusStore
import Foundation

/// A job's input cannot be used: the job fails at once, with this reason, and is not retried.
public struct BadJobInput: PermanentJobError, CustomStringConvertible {
    public let description: String

    /// An input error with its reason.
    public init(description: String) { self.description = description }
}

/// Shows a job's progress while it runs (a terminal's progress bar).
public protocol JobProgressDisplay: AnyObject, Sendable {
    /// Where the job stands.
    func show(_ progress: EngineProgress)
    /// The job is over: clear the display.
    func finish()
}

/// Answers queued jobs with the engine: one loaded model and engine per model directory, kept
/// across jobs so consecutive questions about a document reuse its stored KV in memory.
///
/// A job's settings are decoded once per claim (`canBatch` decodes them, `process` reuses them);
/// jobs are answered together when their settings are equal as values and their mode batches.
public final class EngineJobProcessor: JobProcessor {
    /// The document store's folder.
    public let storeDirectory: URL
    /// Disk budget of the store in bytes.
    public let storeBudget: Int64?
    /// Mode of the store folders created.
    public let storeDirectoryMode: mode_t
    /// Makes the progress display of a job (labelled "job 12" or "jobs 12…15"), if any.
    private let makeDisplay: @Sendable (String) -> JobProgressDisplay?
    private var engines: [String: QAEngine] = [:]
    private var decodedSettings: [Claim: JobSettings] = [:]
    /// The queue documents the store holds, by what this processor wrote and found there.
    let holdings: StoreHoldings

    /// One claim of one job: its settings are decoded once for it.
    private struct Claim: Hashable {
        let job: Int64
        let attempt: Int
        init(_ job: ClaimedJob) {
            self.job = job.id
            attempt = job.attempt
        }
    }

    /// A processor serving documents from the store in `storeDirectory`.
    public init(
        storeDirectory: URL, storeBudget: Int64?, storeDirectoryMode: mode_t,
        progressDisplay: @escaping @Sendable (String) -> JobProgressDisplay? = { _ in nil }
    ) {
        self.storeDirectory = storeDirectory
        self.storeBudget = storeBudget
        self.storeDirectoryMode = storeDirectoryMode
        makeDisplay = progressDisplay
        holdings = StoreHoldings(directory: storeDirectory)
    }

    /// The store folder: workers record the documents it holds and prefer their jobs.
    public var localStorePath: String? { storeDirectory.path }

    /// Documents prefilled into (or found in) the store, and evicted from it, since the last call.
    public func takeStoreChanges() -> StoreHoldingChanges { holdings.takeChanges() }

    public func process(_ job: ClaimedJob, heartbeat: () throws -> Void) throws -> JobOutcome {
        defer { decodedSettings[Claim(job)] = nil }
        let settings = try self.settings(of: job)
        let text = try document(of: job)
        try heartbeat()
        let engine = try self.engine(for: job.modelDir)
        try heartbeat()
        let answer: QAAnswer
        do {
            answer = try withoutActuallyEscaping(heartbeat) { beat in
                let display = makeDisplay("job \(job.id)")
                defer { display?.finish() }
                let request = self.request(job.question, text, settings, heartbeat: HeartbeatBox(beat), display: display)
                return try engine.answer(request)
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

    /// Jobs whose mode batches are decoded together with queued jobs of the same document and
    /// settings.
    public func canBatch(_ job: ClaimedJob) -> Bool {
        (try? settings(of: job))?.mode.traits.answersTogether == true
    }

    /// Jobs of one document and model whose settings are equal, in a mode that batches, are
    /// decoded together (`QAEngine.answerTogether`); any other batch is answered one job at a time.
    public func process(batch jobs: [ClaimedJob], heartbeat: () throws -> Void) -> [Result<JobOutcome, Error>] {
        defer { for job in jobs { decodedSettings[Claim(job)] = nil } }
        guard let first = jobs.first, let settings = try? self.settings(of: first), settings.mode.traits.answersTogether,
            jobs.allSatisfy({
                $0.documentID == first.documentID && $0.modelDir == first.modelDir && (try? self.settings(of: $0)) == settings
            })
        else { return oneAtATime(jobs, heartbeat: heartbeat) }
        do {
            let text = try document(of: first)
            try heartbeat()
            let engine = try self.engine(for: first.modelDir)
            try heartbeat()
            let answers = try withoutActuallyEscaping(heartbeat) { beat in
                let box = HeartbeatBox(beat)
                let display = makeDisplay("jobs \(first.id)…\(jobs[jobs.count - 1].id)")
                defer { display?.finish() }
                return try engine.answerTogether(jobs.map { request($0.question, text, settings, heartbeat: box, display: display) })
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

    /// The job's settings, decoded from the queue's encoding once per claim.
    private func settings(of job: ClaimedJob) throws -> JobSettings {
        if let settings = decodedSettings[Claim(job)] { return settings }
        let settings: JobSettings
        do {
            settings = try job.settings(as: JobSettings.self)
        } catch {
            throw BadJobInput(description: "job \(job.id): mode_params is not valid settings JSON (\(error))")
        }
        decodedSettings[Claim(job)] = settings
        return settings
    }

    /// The engine request of a job's question, showing progress on `display` and beating `heartbeat`.
    private func request(
        _ question: String, _ document: String, _ settings: JobSettings, heartbeat: HeartbeatBox,
        display: JobProgressDisplay?
    ) -> QARequest {
        var request = QARequest(document: document, question: question, settings: settings)
        request.heartbeat = { progress in
            display?.show(progress)
            try heartbeat.call()
        }
        return request
    }

    /// Answers the jobs one by one: for batches that cannot be decoded together, and for a batch
    /// refused as a whole for its input (one question empty or too long), so that only the
    /// faulty jobs fail.
    private func oneAtATime(_ jobs: [ClaimedJob], heartbeat: () throws -> Void) -> [Result<JobOutcome, Error>] {
        jobs.map { job in Result { try self.process(job, heartbeat: heartbeat) } }
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
}

/// Carries the worker's heartbeat into the engine's `@Sendable` progress callback for the
/// duration of one job. Unchecked: the engine calls it on the worker's own thread, synchronously,
/// inside the `withoutActuallyEscaping` scope that created it.
private final class HeartbeatBox: @unchecked Sendable {
    let call: () throws -> Void
    init(_ call: @escaping () throws -> Void) { self.call = call }
}
