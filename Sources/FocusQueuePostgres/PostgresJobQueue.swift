import FocusQueue
import FocusSQLite
import Foundation
import Logging

/// The job queue on a PostgreSQL server, shared by workers on several hosts: the same lifecycle
/// as the SQLite `JobQueue` (see `QueueBackend`), with claims that lock rows with
/// `FOR UPDATE SKIP LOCKED`, so workers never wait on each other's claims.
///
/// A `PostgresJobQueue` owns one connection and belongs to one thread at a time; every call
/// waits for the server. Writes run in `READ COMMITTED` transactions whose fences (state, lease
/// owner, attempt) are re-checked by the server on the row it locks.
public final class PostgresJobQueue: QueueBackend {
    /// Backoff of transient failures.
    public let retryPolicy: RetryPolicy
    /// Current time in Unix seconds; injectable so tests can move time.
    public let clock: () -> Double
    /// Uniform random numbers in [0, 1) for backoff jitter.
    let random: () -> Double
    let session: PostgresSession
    /// Where the queue lives, without the password.
    public var location: PostgresLocation { session.location }
    /// The NOTIFY channel of submissions (see `waitForChange`).
    static let channel = "focus_jobs"
    /// Set when a notification arrived on `channel` since the last wait.
    let notifications = NotificationFlag()

    /// Connects to the database at `location` and applies the embedded migrations.
    /// - Throws: `PostgresQueueError` (unreachable, credentials, migration), `QueueError.schemaTooNew`.
    public init(location: PostgresLocation, retryPolicy: RetryPolicy = RetryPolicy(),
                clock: @escaping () -> Double = { Date().timeIntervalSince1970 },
                random: @escaping () -> Double = { Double.random(in: 0..<1) },
                logger: Logger = Logger(label: "focus.postgres")) throws {
        session = try PostgresSession(location: location, logger: logger)
        self.retryPolicy = retryPolicy
        self.clock = clock
        self.random = random
        try PostgresMigrations.migrate(session)
    }

    /// The schema version of the connected database.
    public func schemaVersion() throws -> Int { try PostgresMigrations.version(session) }

    // MARK: - Documents

    /// Registers a document by content hash and returns its id; a known SHA-256 returns the
    /// existing id, takes the new path, and gains `tokenCount` and `text` if it had none.
    @discardableResult
    public func registerDocument(_ document: NewDocument) throws -> Int64 {
        let sha = try document.checkedSHA256()
        return try session.transaction {
            guard let row = try session.fetchOne("""
                INSERT INTO documents (sha256, path, byte_size, token_count, created_at)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (sha256) DO UPDATE SET path = EXCLUDED.path,
                    token_count = coalesce(documents.token_count, EXCLUDED.token_count)
                RETURNING id
                """, [sha, document.path, document.byteSize, document.tokenCount, clock()])
            else { throw RowDecodingError.missingColumn("id", columns: []) }
            let id = try row.requiredInt64("id")
            if let text = document.text {
                try session.query("""
                    INSERT INTO document_texts (document_id, text) VALUES ($1, $2)
                    ON CONFLICT (document_id) DO NOTHING
                    """, [id, text])
            }
            return id
        }
    }

    /// The text stored for a document at submission, or nil for one registered without it.
    public func documentText(documentID: Int64) throws -> String? {
        try session.fetchOne("SELECT text FROM document_texts WHERE document_id = $1", [documentID])?.string("text")
    }

    /// Records the token count of a document once it has been tokenized.
    public func setTokenCount(documentID: Int64, tokens: Int) throws {
        let rows = try session.query("UPDATE documents SET token_count = $1 WHERE id = $2 RETURNING id",
                                     [tokens, documentID])
        if rows.isEmpty { throw QueueError.documentNotFound(id: documentID) }
    }

    // MARK: - Submission

    /// Submits one job; an idempotency key already in the queue returns the existing job.
    @discardableResult
    public func submit(_ job: NewJob) throws -> Submission {
        try submit(batch: [job])[0]
    }

    /// Submits jobs in one transaction, all-or-nothing, and wakes idle workers (`NOTIFY`)
    /// when it commits.
    @discardableResult
    public func submit(batch jobs: [NewJob]) throws -> [Submission] {
        try session.transaction {
            let now = clock()
            let submissions = try jobs.map { try insert($0, now: now) }
            if submissions.contains(where: \.isNew) { try session.query("NOTIFY \(Self.channel)") }
            return submissions
        }
    }

    private func insert(_ job: NewJob, now: Double) throws -> Submission {
        try job.validate { text in
            guard let data = text.data(using: .utf8) else { return false }
            return (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
        }
        if let key = job.idempotencyKey,
           let existing = try session.fetchOne("SELECT id FROM jobs WHERE idempotency_key = $1", [key])?.int64("id") {
            return Submission(jobID: existing, isNew: false)
        }
        guard try session.fetchOne("SELECT 1 AS found FROM documents WHERE id = $1", [job.documentID]) != nil else {
            throw QueueError.documentNotFound(id: job.documentID)
        }
        let inserted = try session.fetchOne("""
            INSERT INTO jobs (document_id, question, model_dir, mode, mode_params, priority,
                              max_attempts, idempotency_key, next_attempt_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
            """, [job.documentID, job.question, job.modelDir, job.mode, job.modeParams, job.priority,
                  job.maxAttempts, job.idempotencyKey, now, now])
        if let id = inserted?.int64("id") { return Submission(jobID: id, isNew: true) }
        // Another submitter committed the same key meanwhile: its job is the one.
        guard let existing = try session.fetchOne("SELECT id FROM jobs WHERE idempotency_key = $1",
                                                  [job.idempotencyKey]) else {
            throw RowDecodingError.missingColumn("id", columns: [])
        }
        return Submission(jobID: try existing.requiredInt64("id"), isNew: false)
    }

    // MARK: - Claims

    /// Claims the next eligible job for `workerID` with a lease of `leaseSeconds`, or nil.
    /// Expired leases go back to the queue first, in the same transaction. With
    /// `preferDocument`, a queued job of that document is taken before any other. With
    /// `affinity`, jobs of documents the worker's store holds come first (`AffinityClaim`).
    ///
    /// The claim is one `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)
    /// RETURNING`, whose subquery walks the partial index `jobs_claim` in claim order.
    public func claim(workerID: String, leaseSeconds: Double, preferDocument: Int64?,
                      affinity: AffinityClaim?) throws -> ClaimedJob? {
        try session.transaction {
            let now = clock()
            try requeueExpiredRows(now: now)
            if let documentID = preferDocument,
               let job = try claimRows(documentID: documentID, limit: 1, workerID: workerID,
                                       leaseSeconds: leaseSeconds, now: now, like: nil).first {
                return job
            }
            if let affinity {
                return try claimedJobs(session.query(
                    AffinityClaimSQL.statement(placeholder: "$", lock: "FOR UPDATE OF j SKIP LOCKED",
                                               returning: QueueRowMapping.claimedColumns),
                    [workerID, now + leaseSeconds, now, affinity.storeID, now - affinity.waitSeconds])).first
            }
            return try claimedJobs(session.query(Self.claimSQL(
                where: "state = 'queued' AND next_attempt_at <= $3", comparison: "=", limit: "1"),
                [workerID, now + leaseSeconds, now])).first
        }
    }

    /// Claims up to `limit` queued jobs of one document at once, in claim order; with `like`,
    /// only jobs with that job's model, mode and settings.
    public func claimBatch(workerID: String, documentID: Int64, limit: Int, leaseSeconds: Double,
                           like template: ClaimedJob? = nil) throws -> [ClaimedJob] {
        guard limit > 0 else { return [] }
        return try session.transaction {
            let now = clock()
            try requeueExpiredRows(now: now)
            return try claimRows(documentID: documentID, limit: limit, workerID: workerID,
                                 leaseSeconds: leaseSeconds, now: now, like: template)
        }
    }

    private func claimRows(documentID: Int64, limit: Int, workerID: String, leaseSeconds: Double,
                           now: Double, like template: ClaimedJob?) throws -> [ClaimedJob] {
        var values: [(any PostgresBindable)?] = [workerID, now + leaseSeconds, now, documentID, limit]
        var condition = "state = 'queued' AND document_id = $4 AND next_attempt_at <= $3"
        if let template {
            condition += " AND model_dir = $6 AND mode = $7 AND mode_params = $8"
            values += [template.modelDir, template.mode, template.modeParams]
        }
        let rows = try session.query(Self.claimSQL(where: condition, comparison: "IN", limit: "$5"), values)
        return QueueRowMapping.inClaimOrder(try claimedJobs(rows))
    }

    /// The claim statement: $1 owner, $2 lease expiry, $3 now. The rows it takes are locked
    /// with `SKIP LOCKED`: a row another worker is claiming is passed over, never waited for.
    static func claimSQL(where condition: String, comparison: String, limit: String) -> String {
        """
        UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2,
                        attempt = attempt + 1, started_at = $3
        WHERE id \(comparison) (SELECT id FROM jobs WHERE \(condition)
                                ORDER BY priority DESC, next_attempt_at, id
                                LIMIT \(limit) FOR UPDATE SKIP LOCKED)
        RETURNING \(QueueRowMapping.claimedColumns)
        """
    }

    private func claimedJobs(_ rows: [PostgresQueueRow]) throws -> [ClaimedJob] {
        var documents: [Int64: (path: String, sha: String, text: String?)] = [:]
        return try rows.map { row in
            let documentID = try row.requiredInt64("document_id")
            if documents[documentID] == nil {
                documents[documentID] = try QueueRowMapping.document(
                    session.fetchOne(QueueRowMapping.documentSelect(parameter: "$1"), [documentID]), id: documentID)
            }
            let document = documents[documentID]!
            return try QueueRowMapping.claimedJob(from: row, documentPath: document.path,
                                                  documentSHA256: document.sha, documentText: document.text)
        }
    }
}
