// MARK: - Retry policy

/// Exponential backoff with jitter for transient failures: after attempt `n` the job
/// waits `min(maxDelay, baseDelay * 2^(n-1))`, scaled by a random factor in
/// `[1 - jitter, 1 + jitter)` so failed jobs of a burst do not retry in lockstep.
public struct RetryPolicy: Sendable, Equatable {
    /// Delay after the first failed attempt, seconds.
    public var baseDelay: Double
    /// Longest delay, seconds.
    public var maxDelay: Double
    /// Fraction in [0, 1].
    public var jitter: Double

    /// A policy; `jitter` is clamped to [0, 1].
    public init(baseDelay: Double = 10, maxDelay: Double = 900, jitter: Double = 0.25) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay after failed attempt `attempt` (1-based) for a uniform `unit` in [0, 1).
    public func delay(afterAttempt attempt: Int, unit: Double) -> Double {
        let exponent = Double(max(attempt, 1) - 1)
        let raw = min(maxDelay, baseDelay * Double.pow2(min(exponent, 60)))
        return raw * (1 - jitter + 2 * jitter * unit)
    }
}

extension Double {
    static func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }
}

/// What `fail` did with the job.
public enum FailureDisposition: Sendable, Equatable {
    /// Back in the queue, eligible again at `nextAttemptAt` (Unix seconds).
    case retryScheduled(nextAttemptAt: Double)
    /// Attempts exhausted; `last_error` keeps the error.
    case dead
    /// Permanent failure; `last_error` keeps the reason.
    case failed
    /// The fence failed (cancelled, or reclaimed by another worker): nothing written.
    case fenced
}

// MARK: - Lifecycle

extension JobQueue {
    /// Completes a job: in ONE transaction writes the answer, the metrics and
    /// `state = 'done'`, fenced on `lease_owner` and `attempt` (and the job still
    /// running). Returns false and writes nothing when the fence fails: the job was
    /// cancelled, or its lease expired and it was claimed again.
    ///
    /// Owners must be unique per process run (see `Worker.makeID()`): after `retry`
    /// resets the attempt count, only the owner tells an old claim from a new one.
    public func complete(jobID: Int64, owner: String, attempt: Int,
                         outcome: JobOutcome) throws -> Bool {
        try database.write {
            let now = clock()
            guard let job = try database.fetchOne("""
                UPDATE jobs SET state = 'done', finished_at = ?1, lease_expires_at = NULL,
                                last_error = NULL
                WHERE id = ?2 AND state = 'running' AND lease_owner = ?3 AND attempt = ?4
                RETURNING created_at, started_at, model_dir, mode, mode_params
                """, [now, jobID, owner, attempt]) else { return false }
            try database.execute("""
                INSERT INTO results (job_id, answer, answer_token_ids, created_at)
                VALUES (?, ?, ?, ?)
                """, [jobID, outcome.answer, QueueRowMapping.jsonArray(outcome.answerTokenIDs), now])
            let metrics = outcome.metrics
            let queueWait = metrics.queueWaitSeconds
                ?? (job.double("started_at") ?? now) - (job.double("created_at") ?? now)
            try database.execute("""
                INSERT INTO job_metrics (job_id, queue_wait_s, prefill_s, store_hit, kv_load_s,
                    kv_load_bytes, decode_s, answer_tokens, tokens_per_s, nfe, steps,
                    blocks_selected, blocks_total, attention_density, peak_rss_bytes,
                    model, mode, mode_params)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [jobID, queueWait, metrics.prefillSeconds, metrics.storeHit,
                      metrics.kvLoadSeconds, metrics.kvLoadBytes, metrics.decodeSeconds,
                      metrics.answerTokens, metrics.tokensPerSecond, metrics.nfe, metrics.steps,
                      metrics.blocksSelected, metrics.blocksTotal, metrics.attentionDensity,
                      metrics.peakRSSBytes, try metrics.model ?? job.requiredString("model_dir"),
                      try metrics.mode ?? job.requiredString("mode"),
                      try metrics.modeParams ?? job.requiredString("mode_params")])
            return true
        }
    }

    /// Records a failed attempt, fenced like `complete`. A transient failure goes back
    /// to the queue with exponential backoff and jitter until `max_attempts`, then the
    /// job is `dead`; a permanent failure (bad input) is `failed` at once. The error
    /// text is kept in `last_error` in every case.
    @discardableResult
    public func fail(jobID: Int64, owner: String, attempt: Int, error: String,
                     kind: FailureKind = .transient) throws -> FailureDisposition {
        try database.write {
            let now = clock()
            guard let row = try database.fetchOne("""
                SELECT max_attempts FROM jobs
                WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempt = ?
                """, [jobID, owner, attempt]) else { return .fenced }
            let maxAttempts = row.int("max_attempts") ?? 1
            let disposition = retryPolicy.disposition(kind: kind, attempt: attempt, maxAttempts: maxAttempts,
                                                      now: now, unit: random())
            switch disposition {
            case .retryScheduled(let next):
                try database.execute("""
                    UPDATE jobs SET state = 'queued', lease_expires_at = NULL,
                                    next_attempt_at = ?, last_error = ?
                    WHERE id = ?
                    """, [next, error, jobID])
            case .dead, .failed:
                let state: JobState = disposition == .dead ? .dead : .failed
                try database.execute("""
                    UPDATE jobs SET state = ?, lease_expires_at = NULL, finished_at = ?,
                                    last_error = ?
                    WHERE id = ?
                    """, [state.rawValue, now, error, jobID])
            case .fenced:
                break
            }
            return disposition
        }
    }

    /// Gives a claimed job back to the queue without counting the attempt (for a
    /// worker that stops before finishing). Fenced like `complete`.
    public func release(jobID: Int64, owner: String, attempt: Int) throws -> Bool {
        try database.write {
            try database.execute("""
                UPDATE jobs SET state = 'queued', attempt = attempt - 1, lease_owner = NULL,
                                lease_expires_at = NULL, started_at = NULL, next_attempt_at = ?
                WHERE id = ? AND state = 'running' AND lease_owner = ? AND attempt = ?
                """, [clock(), jobID, owner, attempt])
            return database.changes == 1
        }
    }

    /// Cancels a queued or running job. A running job's later completion or failure is
    /// fenced out, and its worker learns of it at its next lease extension.
    /// - Returns: true when the job was cancelled now, false when already cancelled.
    /// - Throws: `QueueError.jobNotFound`; `QueueError.invalidState` for a job that is
    ///   already done, failed or dead.
    @discardableResult
    public func cancel(jobID: Int64) throws -> Bool {
        try database.write {
            guard try currentState(jobID).checkCancellable(jobID: jobID) else { return false }
            try database.execute("""
                UPDATE jobs SET state = 'cancelled', lease_expires_at = NULL, finished_at = ?
                WHERE id = ?
                """, [clock(), jobID])
            return true
        }
    }

    /// Puts a failed, dead or cancelled job back in the queue with its attempt count
    /// reset to 0 (its `last_error` stays until it next finishes).
    /// - Throws: `QueueError.jobNotFound`; `QueueError.invalidState` for a job that is
    ///   queued, running or done.
    public func retry(jobID: Int64) throws {
        try database.write {
            try currentState(jobID).checkRetryable(jobID: jobID)
            try database.execute("""
                UPDATE jobs SET state = 'queued', attempt = 0, lease_owner = NULL,
                                lease_expires_at = NULL, next_attempt_at = ?,
                                started_at = NULL, finished_at = NULL
                WHERE id = ?
                """, [clock(), jobID])
        }
    }

    func currentState(_ jobID: Int64) throws -> JobState {
        guard let text = try database.fetchOne("SELECT state FROM jobs WHERE id = ?",
                                               [jobID])?.string("state") else {
            throw QueueError.jobNotFound(id: jobID)
        }
        return JobState(rawValue: text) ?? .failed
    }

}
