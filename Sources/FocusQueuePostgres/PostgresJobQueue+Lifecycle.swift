import FocusQueue

// MARK: - Leases and outcomes

extension PostgresJobQueue {
    /// Returns running jobs whose lease expired before `now` to the queue; an expired lease
    /// counts as a failed attempt, so on the last attempt the job becomes `dead`.
    /// - Returns: the number of jobs changed.
    @discardableResult
    public func requeueExpired(now: Double? = nil) throws -> Int {
        try session.transaction { try requeueExpiredRows(now: now ?? clock()) }
    }

    @discardableResult
    func requeueExpiredRows(now: Double) throws -> Int {
        try session.query("""
            UPDATE jobs SET
                state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'queued' END,
                finished_at = CASE WHEN attempt >= max_attempts THEN $1 ELSE NULL END,
                last_error = 'lease of ' || lease_owner || ' expired during attempt ' || attempt,
                lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = $1
            WHERE state = 'running' AND lease_expires_at < $1
            RETURNING id
            """, [now]).count
    }

    /// Extends the lease of a job still held by `owner` in `attempt`; false (nothing written)
    /// when the fence fails: the job was cancelled, or its lease expired and it was claimed again.
    public func extendLease(jobID: Int64, owner: String, attempt: Int, leaseSeconds: Double) throws -> Bool {
        try !session.query("""
            UPDATE jobs SET lease_expires_at = $1
            WHERE id = $2 AND state = 'running' AND lease_owner = $3 AND attempt = $4
            RETURNING id
            """, [clock() + leaseSeconds, jobID, owner, attempt]).isEmpty
    }

    /// Completes a job: in one transaction writes the answer, the metrics and `done`, fenced on
    /// lease owner and attempt. Returns false and writes nothing when the fence fails, so a
    /// worker that lost its lease never overwrites the result of the one that took over.
    public func complete(jobID: Int64, owner: String, attempt: Int, outcome: JobOutcome) throws -> Bool {
        try session.transaction {
            let now = clock()
            guard let job = try session.fetchOne("""
                UPDATE jobs SET state = 'done', finished_at = $1, lease_expires_at = NULL, last_error = NULL
                WHERE id = $2 AND state = 'running' AND lease_owner = $3 AND attempt = $4
                RETURNING created_at, started_at, model_dir, mode, mode_params
                """, [now, jobID, owner, attempt]) else { return false }
            try session.query("""
                INSERT INTO results (job_id, answer, answer_token_ids, created_at) VALUES ($1, $2, $3, $4)
                """, [jobID, outcome.answer, QueueRowMapping.jsonArray(outcome.answerTokenIDs), now])
            let metrics = outcome.metrics
            let queueWait = metrics.queueWaitSeconds
                ?? (job.double("started_at") ?? now) - (job.double("created_at") ?? now)
            try session.query("""
                INSERT INTO job_metrics (job_id, queue_wait_s, prefill_s, store_hit, kv_load_s,
                    kv_load_bytes, decode_s, answer_tokens, tokens_per_s, nfe, steps,
                    blocks_selected, blocks_total, attention_density, peak_rss_bytes,
                    model, mode, mode_params)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
                """, [jobID, queueWait, metrics.prefillSeconds, metrics.storeHit, metrics.kvLoadSeconds,
                      metrics.kvLoadBytes, metrics.decodeSeconds, metrics.answerTokens, metrics.tokensPerSecond,
                      metrics.nfe, metrics.steps, metrics.blocksSelected, metrics.blocksTotal,
                      metrics.attentionDensity, metrics.peakRSSBytes,
                      try metrics.model ?? job.requiredString("model_dir"), try metrics.mode ?? job.requiredString("mode"),
                      try metrics.modeParams ?? job.requiredString("mode_params")])
            return true
        }
    }

    /// Records a failed attempt, fenced like `complete`: a transient failure goes back to the
    /// queue with backoff and jitter until `max_attempts`, then `dead`; a permanent one is
    /// `failed` at once. The error text is kept in `last_error`.
    @discardableResult
    public func fail(jobID: Int64, owner: String, attempt: Int, error: String,
                     kind: FailureKind = .transient) throws -> FailureDisposition {
        try session.transaction {
            let now = clock()
            guard let row = try session.fetchOne("""
                SELECT max_attempts FROM jobs
                WHERE id = $1 AND state = 'running' AND lease_owner = $2 AND attempt = $3 FOR UPDATE
                """, [jobID, owner, attempt]) else { return .fenced }
            let disposition = retryPolicy.disposition(kind: kind, attempt: attempt,
                                                      maxAttempts: row.int("max_attempts") ?? 1,
                                                      now: now, unit: random())
            switch disposition {
            case .retryScheduled(let next):
                try session.query("""
                    UPDATE jobs SET state = 'queued', lease_expires_at = NULL, next_attempt_at = $1, last_error = $2
                    WHERE id = $3
                    """, [next, error, jobID])
            case .dead, .failed:
                let state: JobState = disposition == .dead ? .dead : .failed
                try session.query("""
                    UPDATE jobs SET state = $1, lease_expires_at = NULL, finished_at = $2, last_error = $3
                    WHERE id = $4
                    """, [state.rawValue, now, error, jobID])
            case .fenced:
                break
            }
            return disposition
        }
    }

    /// Gives a claimed job back to the queue without counting the attempt (a worker that
    /// stops before finishing), fenced like `complete`, and wakes idle workers.
    public func release(jobID: Int64, owner: String, attempt: Int) throws -> Bool {
        try session.transaction {
            let released = try !session.query("""
                UPDATE jobs SET state = 'queued', attempt = attempt - 1, lease_owner = NULL,
                                lease_expires_at = NULL, started_at = NULL, next_attempt_at = $1
                WHERE id = $2 AND state = 'running' AND lease_owner = $3 AND attempt = $4
                RETURNING id
                """, [clock(), jobID, owner, attempt]).isEmpty
            if released { try session.query("NOTIFY \(Self.channel)") }
            return released
        }
    }

    /// Cancels a queued or running job; a running job's later completion is fenced out.
    /// - Returns: true when cancelled now, false when it already was.
    /// - Throws: `QueueError.jobNotFound`; `QueueError.invalidState` for a done, failed or dead job.
    @discardableResult
    public func cancel(jobID: Int64) throws -> Bool {
        try session.transaction {
            guard try lockedState(jobID).checkCancellable(jobID: jobID) else { return false }
            try session.query("""
                UPDATE jobs SET state = 'cancelled', lease_expires_at = NULL, finished_at = $1 WHERE id = $2
                """, [clock(), jobID])
            return true
        }
    }

    /// Puts a failed, dead or cancelled job back in the queue with its attempts reset to 0.
    /// - Throws: `QueueError.jobNotFound`; `QueueError.invalidState` for a queued, running or done job.
    public func retry(jobID: Int64) throws {
        try session.transaction {
            try lockedState(jobID).checkRetryable(jobID: jobID)
            try session.query("""
                UPDATE jobs SET state = 'queued', attempt = 0, lease_owner = NULL, lease_expires_at = NULL,
                                next_attempt_at = $1, started_at = NULL, finished_at = NULL
                WHERE id = $2
                """, [clock(), jobID])
            try session.query("NOTIFY \(Self.channel)")
        }
    }

    /// The job's state, its row locked until the transaction ends.
    private func lockedState(_ jobID: Int64) throws -> JobState {
        guard let text = try session.fetchOne("SELECT state FROM jobs WHERE id = $1 FOR UPDATE",
                                              [jobID])?.string("state") else {
            throw QueueError.jobNotFound(id: jobID)
        }
        return JobState(rawValue: text) ?? .failed
    }
}
