import FocusSQLite
import Foundation
import Logging

// MARK: - Processing contract

/// Answers one claimed job. Independent of the model: the engine implements it.
///
/// Call `heartbeat` often (e.g. once per decoding step): it is cheap, extends the
/// lease when a third of it has passed, and throws `WorkerInterruption` when the job
/// must stop (cancelled, lease lost, or the worker is stopping). Let that error
/// propagate out of `process`.
public protocol JobProcessor {
    /// Answers `job`, calling `heartbeat` at least once per third of the lease.
    /// Throw a `PermanentJobError` for bad input; any other error is retried.
    func process(_ job: ClaimedJob, heartbeat: () throws -> Void) throws -> JobOutcome

    /// Whether jobs like `job` are answered better together: a worker with a `batchSize` above
    /// one then claims queued jobs of the same document, model and settings with it and hands
    /// them to `process(batch:)`. The default is false: every job is processed on its own, and
    /// its result recorded as soon as it exists.
    func canBatch(_ job: ClaimedJob) -> Bool

    /// Answers several claimed jobs of one document, model and settings together, with one result
    /// per job in order. The default answers them one at a time.
    func process(batch jobs: [ClaimedJob], heartbeat: () throws -> Void) -> [Result<JobOutcome, Error>]

    /// The folder of the local store this processor keeps documents' KV in, if any. A worker
    /// records which documents it holds (`takeStoreChanges`), and prefers their jobs. Default: nil.
    var localStorePath: String? { get }

    /// Documents the local store gained (prefilled or found there) and lost (evicted) since the
    /// last call. The default reports nothing.
    func takeStoreChanges() -> StoreHoldingChanges
}

extension JobProcessor {
    /// Jobs are processed one at a time unless a processor says otherwise.
    public func canBatch(_ job: ClaimedJob) -> Bool { false }

    /// Answers the jobs one at a time.
    public func process(batch jobs: [ClaimedJob], heartbeat: () throws -> Void) -> [Result<JobOutcome, Error>] {
        jobs.map { job in Result { try process(job, heartbeat: heartbeat) } }
    }

    /// No local store.
    public var localStorePath: String? { nil }

    /// Nothing changes.
    public func takeStoreChanges() -> StoreHoldingChanges { StoreHoldingChanges() }
}

/// Marks an error as permanent (bad input): the job goes to `failed`, not retried.
public protocol PermanentJobError: Error {}

/// Thrown by the heartbeat closure to stop a job in progress.
public enum WorkerInterruption: Error, Equatable, Sendable {
    /// The job was cancelled or its lease was taken over; its result would be fenced out.
    case leaseLost(jobID: Int64)
    /// The worker was asked to stop and releases the job back to the queue.
    case stopRequested
}

// MARK: - Options and report

/// How a worker runs.
public struct WorkerOptions: Sendable, Equatable {
    /// What to do with the job in progress when a stop is requested.
    public enum StopBehavior: Sendable, Equatable {
        /// Finish the current job, then stop.
        case finishCurrent
        /// Interrupt it at its next heartbeat and give it back to the queue.
        case releaseCurrent
    }

    /// Lease length; the heartbeat extends it after a third has passed.
    public var leaseSeconds: Double = 300
    /// Stop when no job is eligible (`focus run --drain`) instead of waiting.
    public var drain: Bool = false
    /// Stop after this many jobs were processed (any outcome).
    public var maxJobs: Int?
    /// Stop claiming after this many seconds.
    public var maxTime: Double?
    /// Longest idle wait between claims when not draining (backoffs become due).
    public var idleWait: Double = 5
    /// `PRAGMA data_version` poll interval while idle.
    public var pollInterval: Double = 0.25
    /// What to do with the current job on a stop request.
    public var stopBehavior: StopBehavior = .releaseCurrent
    /// Jobs of one document and settings claimed and answered together, where the processor
    /// can batch them (`JobProcessor.canBatch`, `process(batch:)`).
    public var batchSize: Int = 1
    /// Document affinity: the longest a job waits for a worker whose store holds its document
    /// before any worker takes it, seconds (`AffinityClaim`); 0 turns affinity off. Only workers
    /// whose processor has a local store (`JobProcessor.localStorePath`) claim with affinity.
    public var affinityWait: Double = 0

    /// Options; the defaults suit a daemon with jobs of minutes.
    public init(leaseSeconds: Double = 300, drain: Bool = false, maxJobs: Int? = nil,
                maxTime: Double? = nil, idleWait: Double = 5, pollInterval: Double = 0.25,
                stopBehavior: StopBehavior = .releaseCurrent, batchSize: Int = 1, affinityWait: Double = 0) {
        self.leaseSeconds = leaseSeconds
        self.drain = drain
        self.maxJobs = maxJobs
        self.maxTime = maxTime
        self.idleWait = idleWait
        self.pollInterval = pollInterval
        self.stopBehavior = stopBehavior
        self.batchSize = batchSize
        self.affinityWait = affinityWait
    }
}

/// What a worker run did.
public struct WorkerReport: Sendable, Equatable {
    /// Why a worker run ended.
    public enum StopReason: Sendable, Equatable {
        case queueEmpty, maxJobs, maxTime, stopRequested
    }

    /// Jobs answered and stored.
    public var completed = 0
    /// Transient failures put back in the queue with backoff.
    public var retried = 0
    /// Transient failures on the last attempt.
    public var dead = 0
    /// Permanent failures (bad input).
    public var failed = 0
    /// Results rejected by the fence (cancelled or lease lost).
    public var fenced = 0
    /// Jobs given back to the queue on a stop request.
    public var released = 0
    /// Jobs of dead workers of this host taken back by this run (requeued or dead).
    public var recovered = 0
    /// When a drain ended: running jobs whose lease owner is no registered worker, which no one
    /// will finish before their leases expire.
    public var stranded: [StrandedJob] = []
    /// Why the run ended.
    public var stopReason: StopReason = .queueEmpty

    /// Jobs that ran to an outcome of any kind.
    public var processed: Int { completed + retried + dead + failed + fenced + released }
}

// MARK: - Worker

/// Runs claim → process → complete/fail until told to stop, grouping jobs by
/// document: after a job, a queued job of the same document is claimed first.
///
/// `workerID` is the lease owner and must be unique per process run (the default
/// combines host, pid and a random suffix).
///
/// Crash recovery: the worker records its process in `workers` (`ProcessIdentity`); when it
/// starts, and whenever it finds nothing to claim, it takes back at once the jobs of workers of
/// its host whose process is gone (`QueueBackend.recoverFromDeadWorkers`). A draining worker reports
/// the jobs it leaves stranded under leases of unknown owners (`WorkerReport.stranded`).
///
/// The lease is extended through the processor's heartbeat calls rather than from a
/// background timer: a connection belongs to one thread, and a heartbeat also proves
/// that the processor itself still makes progress (a hung job loses its lease).
public final class Worker {
    /// The queue the worker claims from: SQLite or PostgreSQL.
    public let queue: any QueueBackend
    /// What answers each job.
    public let processor: JobProcessor
    /// Lease owner name of this worker.
    public let workerID: String
    /// Limits and timings.
    public let options: WorkerOptions
    /// Asks the worker to stop (a `StopFlag` set on SIGTERM, say).
    public let stopFlag: any StopRequest
    /// The worker's local store (`StoreIdentity.id`), when its processor keeps one.
    public let storeID: String?
    private let logger: Logger
    /// When the worker's row last had its heartbeat written.
    private var lastWorkerHeartbeat = -Double.infinity

    /// A worker; call `run()` to start it.
    public init(queue: any QueueBackend, processor: JobProcessor, workerID: String = Worker.makeID(),
                options: WorkerOptions = WorkerOptions(), stopFlag: any StopRequest = NoStopRequest(),
                logger: Logger = Logger(label: "focus.queue.worker")) {
        self.queue = queue
        self.processor = processor
        self.workerID = workerID
        self.options = options
        self.stopFlag = stopFlag
        self.logger = logger
        storeID = processor.localStorePath.map { StoreIdentity.id(path: $0) }
    }

    /// `host:pid:random`; the `workers` row records the process precisely (`ProcessIdentity`).
    public static func makeID() -> String {
        let info = ProcessInfo.processInfo
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(ProcessIdentity.localHost):\(info.processIdentifier):\(suffix)"
    }

    /// Runs until the queue is empty (drain), a limit is reached or a stop is requested.
    /// - Throws: database errors (the command line maps them to exit codes).
    public func run() throws -> WorkerReport {
        let started = queue.clock()
        var report = WorkerReport()
        var lastDocument: Int64?
        try queue.registerWorker(id: workerID, identity: ProcessIdentity.current(), storeID: storeID,
                                 leaseSeconds: options.leaseSeconds)
        lastWorkerHeartbeat = queue.clock()
        defer { try? queue.unregisterWorker(id: workerID) }
        try recoverFromDeadWorkers(report: &report)
        let affinity = storeID.flatMap { store in
            options.affinityWait > 0 ? AffinityClaim(storeID: store, waitSeconds: options.affinityWait) : nil
        }
        while true {
            if stopFlag.isRequested { report.stopReason = .stopRequested; break }
            if let maxJobs = options.maxJobs, report.processed >= maxJobs {
                report.stopReason = .maxJobs; break
            }
            if let maxTime = options.maxTime, queue.clock() - started >= maxTime {
                report.stopReason = .maxTime; break
            }
            try beatWorkerHeartbeat()
            guard let job = try queue.claim(workerID: workerID, leaseSeconds: options.leaseSeconds,
                                            preferDocument: lastDocument, affinity: affinity) else {
                if try recoverFromDeadWorkers(report: &report) > 0 { continue }
                if options.drain {
                    report.stranded = try queue.strandedJobs()
                    report.stopReason = .queueEmpty
                    break
                }
                _ = try queue.waitForChange(timeout: options.idleWait,
                                            pollInterval: options.pollInterval, stopFlag: stopFlag)
                continue
            }
            lastDocument = job.documentID
            let room = options.maxJobs.map { $0 - report.processed - 1 } ?? Int.max
            let more = options.batchSize > 1 && room > 0 && processor.canBatch(job)
                ? try queue.claimBatch(workerID: workerID, documentID: job.documentID,
                                       limit: min(options.batchSize - 1, room), leaseSeconds: options.leaseSeconds,
                                       like: job)
                : []
            if more.isEmpty {
                try runOne(job, report: &report)
            } else {
                try runBatch([job] + more, report: &report)
            }
            try recordStoreChanges()
        }
        logger.info("worker stopped", metadata: [
            "worker": "\(workerID)", "reason": "\(report.stopReason)",
            "completed": "\(report.completed)", "processed": "\(report.processed)"])
        return report
    }

    /// Writes the worker's heartbeat once a third of its lease has passed since the last one, so
    /// that a worker busy with short jobs, or idle, still counts as alive (`AffinityClaim`).
    private func beatWorkerHeartbeat() throws {
        let now = queue.clock()
        guard now - lastWorkerHeartbeat >= options.leaseSeconds / 3 else { return }
        try queue.workerHeartbeat(id: workerID)
        lastWorkerHeartbeat = now
    }

    /// Records the documents the processor's store gained and lost with the last jobs.
    private func recordStoreChanges() throws {
        guard let storeID else { return }
        let changes = processor.takeStoreChanges()
        guard !changes.isEmpty else { return }
        try queue.recordHoldings(storeID: storeID, stored: changes.stored, evicted: changes.evicted)
    }

    /// Takes back the jobs of dead workers of this host; returns the number of jobs taken back.
    @discardableResult
    private func recoverFromDeadWorkers(report: inout WorkerReport) throws -> Int {
        let recovery = try queue.recoverFromDeadWorkers()
        report.recovered += recovery.jobsTaken
        if !recovery.workersRemoved.isEmpty {
            logger.warning("took back the jobs of dead workers", metadata: [
                "worker": "\(workerID)", "dead_workers": "\(recovery.workersRemoved.joined(separator: ","))",
                "requeued": "\(recovery.jobsRequeued)", "dead": "\(recovery.jobsDead)"])
        }
        return recovery.jobsTaken
    }

    // MARK: - One job

    private func runOne(_ job: ClaimedJob, report: inout WorkerReport) throws {
        let heartbeat = leaseHeartbeat(for: [job])
        try settle(job, Result { try processor.process(job, heartbeat: heartbeat) }, report: &report)
    }

    /// Answers jobs of one document together; each job is then completed, released or failed on
    /// its own.
    private func runBatch(_ jobs: [ClaimedJob], report: inout WorkerReport) throws {
        let results = processor.process(batch: jobs, heartbeat: leaseHeartbeat(for: jobs))
        precondition(results.count == jobs.count, "one result per job of the batch")
        for (job, result) in zip(jobs, results) {
            try settle(job, result, report: &report)
        }
    }

    /// The heartbeat of jobs in progress: it throws `stopRequested` on a stop request, and once a
    /// third of the lease has passed it extends every job's lease. A job whose lease was lost
    /// (cancelled, taken over) is left to the fence when its result is recorded, so that one lost
    /// lease does not stop the others; once every lease is lost it throws `leaseLost`.
    private func leaseHeartbeat(for jobs: [ClaimedJob]) -> () throws -> Void {
        var lastExtension = queue.clock()
        var lost = Set<Int64>()
        return { [self] in
            if options.stopBehavior == .releaseCurrent, stopFlag.isRequested {
                throw WorkerInterruption.stopRequested
            }
            let now = queue.clock()
            guard now - lastExtension >= options.leaseSeconds / 3 else { return }
            for job in jobs where !lost.contains(job.id) {
                if try !queue.extendLease(jobID: job.id, owner: workerID, attempt: job.attempt, leaseSeconds: options.leaseSeconds) {
                    lost.insert(job.id)
                }
            }
            if lost.count == jobs.count { throw WorkerInterruption.leaseLost(jobID: jobs[0].id) }
            try queue.workerHeartbeat(id: workerID)
            lastWorkerHeartbeat = now
            lastExtension = now
        }
    }

    /// Records a job's result: completes it, releases it on a stop, or fails it for retry or
    /// for good. Database errors propagate.
    private func settle(_ job: ClaimedJob, _ result: Result<JobOutcome, Error>, report: inout WorkerReport) throws {
        let meta: Logger.Metadata = ["job": "\(job.id)", "attempt": "\(job.attempt)"]
        do {
            let outcome = try result.get()
            if try queue.complete(jobID: job.id, owner: workerID, attempt: job.attempt,
                                  outcome: outcome) {
                report.completed += 1
                logger.debug("job done", metadata: meta)
            } else {
                report.fenced += 1
                logger.warning("job result fenced out (cancelled or lease lost)", metadata: meta)
            }
        } catch WorkerInterruption.stopRequested {
            _ = try queue.release(jobID: job.id, owner: workerID, attempt: job.attempt)
            report.released += 1
            logger.info("job released on stop", metadata: meta)
        } catch WorkerInterruption.leaseLost {
            report.fenced += 1
            logger.warning("job abandoned: lease lost or cancelled", metadata: meta)
        } catch let error as DatabaseError {
            throw error
        } catch {
            let kind: FailureKind = error is PermanentJobError ? .permanent : .transient
            let disposition = try queue.fail(jobID: job.id, owner: workerID, attempt: job.attempt,
                                             error: "\(error)", kind: kind)
            switch disposition {
            case .retryScheduled: report.retried += 1
            case .dead: report.dead += 1
            case .failed: report.failed += 1
            case .fenced: report.fenced += 1
            }
            logger.warning("job failed", metadata: meta.merging(
                ["error": "\(error)", "disposition": "\(disposition)"]) { $1 })
        }
    }
}
