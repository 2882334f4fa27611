import Foundation

/// A job queue a worker and the command line can use without knowing where it lives: one
/// SQLite file (`JobQueue`) or a PostgreSQL server shared by workers on several hosts
/// (`PostgresJobQueue` in `FocusQueuePostgres`).
///
/// Every implementation keeps the same lifecycle: idempotent submission by key, documents
/// deduplicated by SHA-256 with their text stored once, claims with leases and their
/// extension, completion and failure fenced on lease owner and attempt, retries with backoff
/// and jitter, `dead` after the last attempt, cancel and retry by hand, and the same reports.
/// Calls block until the database answered; a queue belongs to one thread at a time.
public protocol QueueBackend: AnyObject {
    /// Current time in Unix seconds (injectable in tests).
    var clock: () -> Double { get }
    /// Backoff of transient failures.
    var retryPolicy: RetryPolicy { get }

    // MARK: Documents and submission

    /// Registers a document by SHA-256 and returns its id (the existing one for a known hash).
    @discardableResult
    func registerDocument(_ document: NewDocument) throws -> Int64
    /// The text stored for a document at submission, or nil.
    func documentText(documentID: Int64) throws -> String?
    /// Records the token count of a document.
    func setTokenCount(documentID: Int64, tokens: Int) throws
    /// Submits one job; an idempotency key already queued returns the existing job.
    @discardableResult
    func submit(_ job: NewJob) throws -> Submission
    /// Submits jobs all-or-nothing, in one transaction.
    @discardableResult
    func submit(batch jobs: [NewJob]) throws -> [Submission]

    // MARK: Claims and leases

    /// Claims the next eligible job (a job of `preferDocument` first, then in claim order; with
    /// `affinity`, jobs whose document the worker's store holds first, see `AffinityClaim`), or nil.
    func claim(workerID: String, leaseSeconds: Double, preferDocument: Int64?,
               affinity: AffinityClaim?) throws -> ClaimedJob?
    /// Claims up to `limit` queued jobs of one document (with `like`'s settings, when given).
    func claimBatch(workerID: String, documentID: Int64, limit: Int, leaseSeconds: Double,
                    like template: ClaimedJob?) throws -> [ClaimedJob]
    /// Returns running jobs whose lease expired before `now` to the queue (or `dead`).
    @discardableResult
    func requeueExpired(now: Double?) throws -> Int
    /// Extends a lease still held by `owner` in `attempt`; false when the fence fails.
    func extendLease(jobID: Int64, owner: String, attempt: Int, leaseSeconds: Double) throws -> Bool

    // MARK: Outcomes

    /// Writes the answer and metrics and marks the job done, fenced on owner and attempt.
    func complete(jobID: Int64, owner: String, attempt: Int, outcome: JobOutcome) throws -> Bool
    /// Records a failed attempt, fenced like `complete`.
    @discardableResult
    func fail(jobID: Int64, owner: String, attempt: Int, error: String,
              kind: FailureKind) throws -> FailureDisposition
    /// Gives a claimed job back without counting the attempt, fenced like `complete`.
    func release(jobID: Int64, owner: String, attempt: Int) throws -> Bool
    /// Cancels a queued or running job; false when it was already cancelled.
    @discardableResult
    func cancel(jobID: Int64) throws -> Bool
    /// Puts a failed, dead or cancelled job back in the queue with its attempts reset.
    func retry(jobID: Int64) throws

    // MARK: Reports

    /// Number of jobs in each state, zero included.
    func statusCounts() throws -> [JobState: Int]
    /// The job, its answer and its metrics.
    func show(jobID: Int64) throws -> JobDetails
    /// Answered jobs whose result was written at or after `since`, oldest first.
    func results(since: Double, limit: Int) throws -> [JobDetails]
    /// Aggregates of done jobs per decoding mode.
    func metricsSummary(since: Double) throws -> [ModeSummary]
    /// Waits until another connection changed the queue or `timeout` passed.
    func waitForChange(timeout: Double, pollInterval: Double, stopFlag: (any StopRequest)?) throws -> Bool

    // MARK: Workers

    /// Records a worker process (replacing a row with the same id), the store it keeps documents
    /// in, and its lease length (its heartbeat comes at least once per third of it).
    func registerWorker(id: String, identity: ProcessIdentity, storeID: String?, leaseSeconds: Double) throws
    /// Updates a worker's heartbeat time.
    func workerHeartbeat(id: String) throws
    /// Removes a worker's row; a job it still holds goes back to the queue as a failed attempt.
    func unregisterWorker(id: String) throws
    /// Every registered worker.
    func workers() throws -> [WorkerRecord]
    /// Takes back the jobs of this host's workers whose process no longer runs.
    @discardableResult
    func recoverFromDeadWorkers(
        liveness: (ProcessIdentity) -> ProcessIdentity.Liveness) throws -> DeadWorkerRecovery
    /// Running jobs whose lease owner is no registered worker.
    func strandedJobs() throws -> [StrandedJob]

    // MARK: Document affinity

    /// Records that the store `storeID` now holds the documents `stored` and no longer holds
    /// `evicted` (unknown documents are ignored).
    func recordHoldings(storeID: String, stored: Set<Int64>, evicted: Set<Int64>) throws
    /// Every recorded holding, by store and document.
    func holdings() throws -> [DocumentHolding]
}

// MARK: - Defaults

extension QueueBackend {
    /// Claims the next eligible job in claim order, or nil.
    public func claim(workerID: String, leaseSeconds: Double) throws -> ClaimedJob? {
        try claim(workerID: workerID, leaseSeconds: leaseSeconds, preferDocument: nil, affinity: nil)
    }

    /// Claims the next eligible job, a job of `preferDocument` first, or nil.
    public func claim(workerID: String, leaseSeconds: Double, preferDocument: Int64?) throws -> ClaimedJob? {
        try claim(workerID: workerID, leaseSeconds: leaseSeconds, preferDocument: preferDocument, affinity: nil)
    }

    /// Records a worker process with no store, and the default lease of `WorkerOptions`.
    public func registerWorker(id: String, identity: ProcessIdentity) throws {
        try registerWorker(id: id, identity: identity, storeID: nil, leaseSeconds: WorkerOptions().leaseSeconds)
    }

    /// Claims up to `limit` queued jobs of one document, whatever their settings.
    public func claimBatch(workerID: String, documentID: Int64, limit: Int,
                           leaseSeconds: Double) throws -> [ClaimedJob] {
        try claimBatch(workerID: workerID, documentID: documentID, limit: limit,
                       leaseSeconds: leaseSeconds, like: nil)
    }

    /// Returns the running jobs whose lease expired by now to the queue.
    @discardableResult
    public func requeueExpired() throws -> Int { try requeueExpired(now: nil) }

    /// Records a transient failed attempt.
    @discardableResult
    public func fail(jobID: Int64, owner: String, attempt: Int, error: String) throws -> FailureDisposition {
        try fail(jobID: jobID, owner: owner, attempt: attempt, error: error, kind: .transient)
    }

    /// Every answered job, oldest first, at most 1,000.
    public func results(since: Double = 0) throws -> [JobDetails] { try results(since: since, limit: 1000) }

    /// Aggregates over every done job per decoding mode.
    public func metricsSummary() throws -> [ModeSummary] { try metricsSummary(since: 0) }

    /// Takes back the jobs of this host's dead workers, asking the system which still run.
    @discardableResult
    public func recoverFromDeadWorkers() throws -> DeadWorkerRecovery {
        try recoverFromDeadWorkers(liveness: { $0.liveness() })
    }
}

extension JobQueue: QueueBackend {}
