import FocusSQLite
import Foundation

/// The job queue on one SQLite database: submission, claims with leases, fenced
/// completion, retries, cancellation and reports.
///
/// Every write runs in a `BEGIN IMMEDIATE` transaction. A `JobQueue` owns one
/// connection and belongs to one thread at a time; workers in other threads or
/// processes open their own `JobQueue` on the same file.
public final class JobQueue {
    /// The connection, for queries the queue does not cover (read-only use advised).
    public let database: Database
    /// Backoff of transient failures.
    public let retryPolicy: RetryPolicy
    /// Current time in Unix seconds; injectable so tests can move time.
    public let clock: () -> Double
    /// Uniform random numbers in [0, 1) for backoff jitter.
    let random: () -> Double
    /// `PRAGMA data_version` as of the last claim or wait; see `waitForChange`.
    var observedDataVersion: Int64?

    /// Opens (creating when missing) the queue database at `path` and applies the
    /// embedded migrations.
    /// - Throws: `QueueError.notADatabase`, `QueueError.schemaTooNew`,
    ///   `QueueError.migrationFailed` or `DatabaseError`.
    public convenience init(path: String, retryPolicy: RetryPolicy = RetryPolicy(),
                            clock: @escaping () -> Double = { Date().timeIntervalSince1970 },
                            random: @escaping () -> Double = { Double.random(in: 0..<1) }) throws {
        let database: Database
        do {
            database = try Database(path: path)
        } catch let error as DatabaseError where error.isNotADatabase {
            throw QueueError.notADatabase(path: path)
        }
        try Migrations.migrate(database)
        self.init(database: database, retryPolicy: retryPolicy, clock: clock, random: random)
    }

    /// Wraps an open, migrated connection.
    public init(database: Database, retryPolicy: RetryPolicy = RetryPolicy(),
                clock: @escaping () -> Double = { Date().timeIntervalSince1970 },
                random: @escaping () -> Double = { Double.random(in: 0..<1) }) {
        self.database = database
        self.retryPolicy = retryPolicy
        self.clock = clock
        self.random = random
    }

    // MARK: - Documents

    /// Registers a document by content hash and returns its id; a document with the
    /// same SHA-256 returns the existing id, takes the new path, and gains `tokenCount` and
    /// `text` if it had none. The text is stored once per SHA-256.
    @discardableResult
    public func registerDocument(_ document: NewDocument) throws -> Int64 {
        let sha = try document.checkedSHA256()
        return try database.write {
            if let row = try database.fetchOne(
                "SELECT id FROM documents WHERE sha256 = ?", [sha]), let id = row.int64("id") {
                // The latest submission's path is the one most likely to still exist.
                try database.execute("UPDATE documents SET path = ? WHERE id = ? AND path <> ?", [document.path, id, document.path])
                if let tokens = document.tokenCount {
                    try database.execute(
                        "UPDATE documents SET token_count = ? WHERE id = ? AND token_count IS NULL",
                        [tokens, id])
                }
                try storeText(document.text, documentID: id)
                return id
            }
            try database.execute("""
                INSERT INTO documents (sha256, path, byte_size, token_count, created_at)
                VALUES (?, ?, ?, ?, ?)
                """, [sha, document.path, document.byteSize, document.tokenCount, clock()])
            let id = database.lastInsertRowID
            try storeText(document.text, documentID: id)
            return id
        }
    }

    /// Keeps a document's text unless it already has one (same SHA-256, same text).
    private func storeText(_ text: String?, documentID: Int64) throws {
        guard let text else { return }
        try database.execute(
            "INSERT OR IGNORE INTO document_texts (document_id, text) VALUES (?, ?)", [documentID, text])
    }

    /// The text stored for a document at submission, or nil for one registered without it.
    public func documentText(documentID: Int64) throws -> String? {
        try database.fetchOne("SELECT text FROM document_texts WHERE document_id = ?", [documentID])?.string("text")
    }

    /// Records the token count of a document once it has been tokenized.
    public func setTokenCount(documentID: Int64, tokens: Int) throws {
        try database.write {
            try database.execute("UPDATE documents SET token_count = ? WHERE id = ?",
                                 [tokens, documentID])
            if database.changes == 0 { throw QueueError.documentNotFound(id: documentID) }
        }
    }

    // MARK: - Submission

    /// Submits one job. With an idempotency key already in the queue, returns the
    /// existing job's id (`isNew == false`) and writes nothing.
    @discardableResult
    public func submit(_ job: NewJob) throws -> Submission {
        try database.write { try insert(job, now: clock()) }
    }

    /// Submits jobs in ONE transaction, all-or-nothing: if any job is invalid (missing
    /// document, empty question, bad JSON, ...) the error is thrown and none of the
    /// batch is kept. Idempotency keys behave as in `submit(_:)`, including a key
    /// repeated inside the batch.
    @discardableResult
    public func submit(batch jobs: [NewJob]) throws -> [Submission] {
        try database.write {
            let now = clock()
            return try jobs.map { try insert($0, now: now) }
        }
    }

    private func insert(_ job: NewJob, now: Double) throws -> Submission {
        try job.validate { try database.fetchOne("SELECT json_valid(?) AS ok", [$0])?.bool("ok") == true }
        if let key = job.idempotencyKey,
           let existing = try database.fetchOne(
               "SELECT id FROM jobs WHERE idempotency_key = ?", [key])?.int64("id") {
            return Submission(jobID: existing, isNew: false)
        }
        guard try database.fetchOne("SELECT 1 AS found FROM documents WHERE id = ?",
                                    [job.documentID]) != nil else {
            throw QueueError.documentNotFound(id: job.documentID)
        }
        try database.execute("""
            INSERT INTO jobs (document_id, question, model_dir, mode, mode_params, priority,
                              max_attempts, idempotency_key, next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [job.documentID, job.question, job.modelDir, job.mode, job.modeParams,
                  job.priority, job.maxAttempts, job.idempotencyKey, now, now])
        return Submission(jobID: database.lastInsertRowID, isNew: true)
    }

    // MARK: - Claims

    /// Claims the next eligible job for `workerID` with a lease of `leaseSeconds`, or
    /// returns nil when none is eligible. Expired leases are returned to the queue
    /// first, in the same transaction. With `preferDocument`, a queued job of that
    /// document is taken before any other, so a worker keeps a prefilled document. With
    /// `affinity`, jobs of documents the worker's store holds come first (`AffinityClaim`).
    ///
    /// The claim is one indexed `UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING`
    /// that walks the partial index `jobs_claim` in claim order (no sort, no `OR`).
    public func claim(workerID: String, leaseSeconds: Double, preferDocument: Int64?,
                      affinity: AffinityClaim?) throws -> ClaimedJob? {
        try database.write {
            let now = clock()
            observedDataVersion = try database.dataVersion()
            try requeueExpiredRows(now: now)
            if let documentID = preferDocument {
                let jobs = try claimRows(documentID: documentID, limit: 1, workerID: workerID,
                                         leaseSeconds: leaseSeconds, now: now)
                if let job = jobs.first { return job }
            }
            if let affinity {
                return try claimedJobs(database.fetchAll(
                    AffinityClaimSQL.statement(placeholder: "?", lock: "", returning: QueueRowMapping.claimedColumns),
                    [workerID, now + leaseSeconds, now, affinity.storeID, now - affinity.waitSeconds])).first
            }
            let rows = try database.fetchAll(Self.claimSQL(
                where: "SELECT id FROM jobs WHERE state = 'queued' AND next_attempt_at <= ?3 "
                    + "ORDER BY priority DESC, next_attempt_at, id LIMIT 1", comparison: "="),
                [workerID, now + leaseSeconds, now])
            return try claimedJobs(rows).first
        }
    }

    /// Claims up to `limit` queued jobs of one document at once, in claim order, so
    /// the document is prefilled once for all of them. With `like`, only jobs with that
    /// job's model, mode and settings are claimed (jobs a processor can answer together).
    /// Expired leases are returned to the queue first.
    public func claimBatch(workerID: String, documentID: Int64, limit: Int,
                           leaseSeconds: Double, like template: ClaimedJob? = nil) throws -> [ClaimedJob] {
        guard limit > 0 else { return [] }
        return try database.write {
            let now = clock()
            observedDataVersion = try database.dataVersion()
            try requeueExpiredRows(now: now)
            return try claimRows(documentID: documentID, limit: limit, workerID: workerID,
                                 leaseSeconds: leaseSeconds, now: now, like: template)
        }
    }

    private func claimRows(documentID: Int64, limit: Int, workerID: String,
                           leaseSeconds: Double, now: Double, like template: ClaimedJob? = nil) throws -> [ClaimedJob] {
        var values: [DatabaseValueConvertible] = [workerID, now + leaseSeconds, now, documentID, limit]
        var sameSettings = ""
        if let template {
            sameSettings = "AND model_dir = ?6 AND mode = ?7 AND mode_params = ?8 "
            values += [template.modelDir, template.mode, template.modeParams]
        }
        let rows = try database.fetchAll(Self.claimSQL(
            where: "SELECT id FROM jobs WHERE state = 'queued' AND document_id = ?4 " + sameSettings
                + "AND next_attempt_at <= ?3 ORDER BY priority DESC, next_attempt_at, id LIMIT ?5",
            comparison: "IN"), values)
        return QueueRowMapping.inClaimOrder(try claimedJobs(rows))
    }

    /// The claim statement: ?1 owner, ?2 lease expiry, ?3 now.
    static func claimSQL(where subquery: String, comparison: String) -> String {
        """
        UPDATE jobs SET state = 'running', lease_owner = ?1, lease_expires_at = ?2,
                        attempt = attempt + 1, started_at = ?3
        WHERE id \(comparison) (\(subquery))
        RETURNING \(QueueRowMapping.claimedColumns)
        """
    }

    private func claimedJobs(_ rows: [Row]) throws -> [ClaimedJob] {
        var documents: [Int64: (path: String, sha: String, text: String?)] = [:]
        return try rows.map { row in
            let documentID = try row.requiredInt64("document_id")
            if documents[documentID] == nil {
                documents[documentID] = try QueueRowMapping.document(
                    database.fetchOne(QueueRowMapping.documentSelect(parameter: "?"), [documentID]), id: documentID)
            }
            let document = documents[documentID]!
            return try QueueRowMapping.claimedJob(from: row, documentPath: document.path,
                                                  documentSHA256: document.sha, documentText: document.text)
        }
    }

    // MARK: - Leases

    /// Returns running jobs whose lease expired before `now` to the queue (an expired
    /// lease counts as a failed attempt: on the last attempt the job becomes `dead`).
    /// - Returns: the number of jobs changed.
    @discardableResult
    public func requeueExpired(now: Double? = nil) throws -> Int {
        try database.write { try requeueExpiredRows(now: now ?? clock()) }
    }

    @discardableResult
    private func requeueExpiredRows(now: Double) throws -> Int {
        try database.execute("""
            UPDATE jobs SET
                state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'queued' END,
                finished_at = CASE WHEN attempt >= max_attempts THEN ?1 ELSE NULL END,
                last_error = 'lease of ' || lease_owner || ' expired during attempt ' || attempt,
                lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ?1
            WHERE state = 'running' AND lease_expires_at < ?1
            """, [now])
        return database.changes
    }

    /// Extends the lease of a job still held by `owner` in `attempt` to
    /// now + `leaseSeconds`. Returns false (nothing written) when the fence fails:
    /// the job was cancelled, or its lease expired and another worker claimed it.
    public func extendLease(jobID: Int64, owner: String, attempt: Int,
                            leaseSeconds: Double) throws -> Bool {
        try database.write {
            try database.execute("""
                UPDATE jobs SET lease_expires_at = ?
                WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempt = ?
                """, [clock() + leaseSeconds, jobID, owner, attempt])
            return database.changes == 1
        }
    }
}
