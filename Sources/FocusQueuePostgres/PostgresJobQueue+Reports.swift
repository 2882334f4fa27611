import FocusQueue
import Foundation

// MARK: - Reports

extension PostgresJobQueue {
    /// Number of jobs in each state; every state is present, zero included.
    public func statusCounts() throws -> [JobState: Int] {
        try QueueRowMapping.statusCounts(session.query("SELECT state, jobs::bigint AS jobs FROM queue_depth"))
    }

    /// The job, its answer and its metrics.
    /// - Throws: `QueueError.jobNotFound`.
    public func show(jobID: Int64) throws -> JobDetails {
        guard let row = try session.fetchOne(QueueRowMapping.jobSelect + " WHERE j.id = $1", [jobID]) else {
            throw QueueError.jobNotFound(id: jobID)
        }
        let result = try session.fetchOne(
            "SELECT job_id, answer, answer_token_ids, created_at FROM results WHERE job_id = $1", [jobID])
        let metrics = try session.fetchOne("SELECT * FROM job_metrics WHERE job_id = $1", [jobID])
        return JobDetails(job: try QueueRowMapping.record(from: row),
                          result: try result.map { try QueueRowMapping.result(from: $0) },
                          metrics: try metrics.map { try QueueRowMapping.metrics(from: $0) })
    }

    /// Answered jobs whose result was written at or after `since` (Unix seconds), oldest first,
    /// at most `limit`.
    public func results(since: Double = 0, limit: Int = 1000) throws -> [JobDetails] {
        try session.query("""
            SELECT j.*, d.path AS document_path, r.answer, r.answer_token_ids, r.created_at AS result_created_at
            FROM results r JOIN jobs j ON j.id = r.job_id JOIN documents d ON d.id = j.document_id
            WHERE r.created_at >= $1 ORDER BY r.created_at, r.job_id LIMIT $2
            """, [since, limit]).map { row in
            let result = JobResult(
                jobID: try row.requiredInt64("id"), answer: try row.requiredString("answer"),
                answerTokenIDs: QueueRowMapping.parseIntArray(try row.requiredString("answer_token_ids")),
                createdAt: try row.requiredDouble("result_created_at"))
            let metrics = try session.fetchOne("SELECT * FROM job_metrics WHERE job_id = $1", [result.jobID])
            return JobDetails(job: try QueueRowMapping.record(from: row), result: result,
                              metrics: try metrics.map { try QueueRowMapping.metrics(from: $0) })
        }
    }

    /// Aggregates of done jobs per decoding mode, optionally only those finished at or after `since`.
    public func metricsSummary(since: Double = 0) throws -> [ModeSummary] {
        try session.query("""
            SELECT j.mode AS mode, count(*)::bigint AS jobs,
                   coalesce(sum(m.answer_tokens), 0)::bigint AS answer_tokens,
                   avg(m.prefill_s)::float8 AS prefill_s, avg(m.decode_s)::float8 AS decode_s,
                   avg(m.tokens_per_s)::float8 AS tokens_per_s,
                   avg(m.attention_density)::float8 AS attention_density,
                   count(*) FILTER (WHERE m.store_hit)::bigint AS store_hits
            FROM jobs j JOIN job_metrics m ON m.job_id = j.id
            WHERE j.state = 'done' AND j.finished_at >= $1
            GROUP BY j.mode ORDER BY j.mode
            """, [since]).map { try QueueRowMapping.modeSummary(from: $0) }
    }

    // MARK: - Waiting

    /// Waits until another connection submits, retries or releases a job (`NOTIFY` on the
    /// queue's channel) or `timeout` seconds pass, and tells which happened. The wait costs no
    /// queries: the connection `LISTEN`s, and the server's notification wakes it.
    ///
    /// The first call starts listening and returns true at once, so the caller claims again
    /// with the listener in place: a submission between that claim and the next wait is not
    /// missed. With a `stopFlag`, the wait also ends (false) within `pollInterval` of a stop request.
    public func waitForChange(timeout: Double, pollInterval: Double = 0.25, stopFlag: (any StopRequest)? = nil) throws -> Bool {
        if try startListening() { return true }
        let deadline = Date().timeIntervalSince1970 + timeout
        while true {
            if notifications.take() { return true }
            let remaining = deadline - Date().timeIntervalSince1970
            if remaining <= 0 || stopFlag?.isRequested == true { return false }
            notifications.wait(seconds: min(pollInterval, remaining))
        }
    }

    // MARK: - Workers

    /// Records a worker process (replacing a row with the same id), its store and lease length.
    public func registerWorker(id: String, identity: ProcessIdentity, storeID: String?, leaseSeconds: Double) throws {
        let now = clock()
        try session.query("""
            INSERT INTO workers (id, pid, host, started_at, heartbeat, boot_id, start_ticks, store_id, lease_seconds)
            VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)
            ON CONFLICT (id) DO UPDATE SET pid = EXCLUDED.pid, host = EXCLUDED.host,
                started_at = EXCLUDED.started_at, heartbeat = EXCLUDED.heartbeat,
                boot_id = EXCLUDED.boot_id, start_ticks = EXCLUDED.start_ticks,
                store_id = EXCLUDED.store_id, lease_seconds = EXCLUDED.lease_seconds
            """, [id, Int(identity.pid), identity.host, now, identity.bootID, identity.startTicks, storeID, leaseSeconds])
    }

    /// Updates a worker's heartbeat time.
    public func workerHeartbeat(id: String) throws {
        try session.query("UPDATE workers SET heartbeat = $1 WHERE id = $2", [clock(), id])
    }

    /// Removes a worker's row; a job it still holds goes back to the queue as a failed attempt.
    public func unregisterWorker(id: String) throws {
        try session.transaction {
            try requeueJobs(ofOwner: id, reason: DeadWorkerRecovery.stopReason(workerID: id), now: clock())
            try session.query("DELETE FROM workers WHERE id = $1", [id])
        }
    }

    /// Every registered worker, on every host.
    public func workers() throws -> [WorkerRecord] {
        try session.query("SELECT * FROM workers ORDER BY started_at, id").map { try QueueRowMapping.worker(from: $0) }
    }

    /// Takes back at once the jobs of workers of this host whose process no longer runs, and
    /// removes their rows; jobs of workers on other hosts come back when their leases expire.
    @discardableResult
    public func recoverFromDeadWorkers(
        liveness: (ProcessIdentity) -> ProcessIdentity.Liveness = { $0.liveness() }
    ) throws -> DeadWorkerRecovery {
        let dead = try workers().filter { liveness($0.identity) == .dead }
        guard !dead.isEmpty else { return DeadWorkerRecovery() }
        return try session.transaction {
            let now = clock()
            return try DeadWorkerRecovery.collect(dead) { worker in
                // The row is deleted once: of two workers recovering at once, one takes the jobs back.
                guard try !session.query("DELETE FROM workers WHERE id = $1 RETURNING id", [worker.id]).isEmpty
                else { return nil }
                if let store = worker.storeID {
                    try session.query(AffinityClaimSQL.dropOrphanedHoldings(placeholder: "$"), [store])
                }
                return try requeueJobs(ofOwner: worker.id, reason: DeadWorkerRecovery.reason(for: worker), now: now)
            }
        }
    }

    // MARK: - Document affinity

    /// Records the documents a store gained and lost, in one transaction.
    public func recordHoldings(storeID: String, stored: Set<Int64>, evicted: Set<Int64>) throws {
        guard !stored.isEmpty || !evicted.isEmpty else { return }
        try session.transaction {
            if !evicted.isEmpty {
                try session.query("DELETE FROM worker_documents WHERE store_id = $1 AND document_id = ANY($2)",
                                  [storeID, evicted.sorted()])
            }
            let added = stored.subtracting(evicted).sorted()
            if !added.isEmpty {
                try session.query("""
                    INSERT INTO worker_documents (store_id, document_id, recorded_at)
                    SELECT $1, id, $3 FROM documents WHERE id = ANY($2)
                    ON CONFLICT (store_id, document_id) DO UPDATE SET recorded_at = EXCLUDED.recorded_at
                    """, [storeID, added, clock()])
            }
        }
    }

    /// Every recorded holding, by store and document.
    public func holdings() throws -> [DocumentHolding] {
        try session.query("SELECT store_id, document_id FROM worker_documents ORDER BY store_id, document_id")
            .map { try QueueRowMapping.holding(from: $0) }
    }

    /// Running jobs whose lease owner is no registered worker, oldest lease first.
    public func strandedJobs() throws -> [StrandedJob] {
        try session.query("""
            SELECT id, lease_owner, lease_expires_at FROM jobs
            WHERE state = 'running' AND lease_owner NOT IN (SELECT id FROM workers)
            ORDER BY lease_expires_at, id
            """).map { try QueueRowMapping.strandedJob(from: $0) }
    }

    /// Puts the running jobs of `owner` back in the queue (or `dead` on their last attempt).
    @discardableResult
    private func requeueJobs(ofOwner owner: String, reason: String, now: Double) throws -> (requeued: Int, dead: Int) {
        let rows = try session.query("""
            UPDATE jobs SET
                state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'queued' END,
                finished_at = CASE WHEN attempt >= max_attempts THEN $1 ELSE NULL END,
                last_error = $3 || attempt,
                lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = $1
            WHERE state = 'running' AND lease_owner = $2
            RETURNING state
            """, [now, owner, reason])
        let dead = rows.filter { $0.string("state") == JobState.dead.rawValue }.count
        if rows.count > dead { try session.query("NOTIFY \(Self.channel)") }
        return (rows.count - dead, dead)
    }
}
