import Foundation

// MARK: - Submission checks

extension NewDocument {
    /// The document's SHA-256 in lowercase, after checking it and the size.
    /// - Throws: `QueueError.invalidField` for a hash that is not 64 hex digits or a negative size.
    public func checkedSHA256() throws -> String {
        let sha = sha256.lowercased()
        guard sha.count == 64, sha.allSatisfy({ $0.isHexDigit }) else {
            throw QueueError.invalidField(field: "sha256", reason: "expected 64 hex digits, got \"\(sha256)\"")
        }
        guard byteSize >= 0 else {
            throw QueueError.invalidField(field: "byte_size", reason: "negative (\(byteSize))")
        }
        return sha
    }
}

extension NewJob {
    /// Checks the fields every queue requires: a question, a mode, a model, at least one
    /// attempt, and mode parameters that `isValidJSON` accepts (each database checks JSON its way).
    /// - Throws: `QueueError.invalidField` naming the first bad field.
    public func validate(isValidJSON: (String) throws -> Bool) throws {
        if question.trimmingWhitespace().isEmpty {
            throw QueueError.invalidField(field: "question", reason: "empty")
        }
        if mode.isEmpty { throw QueueError.invalidField(field: "mode", reason: "empty") }
        if modelDir.isEmpty { throw QueueError.invalidField(field: "model_dir", reason: "empty") }
        if maxAttempts < 1 {
            throw QueueError.invalidField(field: "max_attempts", reason: "must be at least 1, got \(maxAttempts)")
        }
        if try !isValidJSON(modeParams) {
            throw QueueError.invalidField(field: "mode_params", reason: "not valid JSON: \(modeParams)")
        }
    }
}

// MARK: - Failures

extension RetryPolicy {
    /// What a failed attempt leads to: `failed` for a permanent error, `dead` after the last
    /// attempt, otherwise a retry at `now` plus the backoff for `unit` (uniform in [0, 1)).
    public func disposition(kind: FailureKind, attempt: Int, maxAttempts: Int, now: Double,
                            unit: @autoclosure () -> Double) -> FailureDisposition {
        if kind == .permanent { return .failed }
        if attempt >= maxAttempts { return .dead }
        return .retryScheduled(nextAttemptAt: now + delay(afterAttempt: attempt, unit: unit()))
    }
}

// MARK: - Dead workers

extension DeadWorkerRecovery {
    /// The text kept as `last_error` of a job taken back from a dead worker, before the attempt number.
    public static func reason(for worker: WorkerRecord) -> String {
        "worker \(worker.id) (pid \(worker.identity.pid) on \(worker.identity.host)) died during attempt "
    }

    /// The text kept as `last_error` of a job its worker held when it stopped, before the attempt number.
    public static func stopReason(workerID: String) -> String {
        "worker \(workerID) stopped during attempt "
    }
}

extension DeadWorkerRecovery {
    /// What taking back the jobs of `dead` workers did: `takeBack` requeues one worker's jobs and
    /// removes its row, returning the jobs requeued and the jobs now dead, or nil for a worker
    /// another process already took care of.
    public static func collect(_ dead: [WorkerRecord],
                               takeBack: (WorkerRecord) throws -> (requeued: Int, dead: Int)?) rethrows
        -> DeadWorkerRecovery {
        var recovery = DeadWorkerRecovery()
        for worker in dead {
            guard let taken = try takeBack(worker) else { continue }
            recovery.jobsRequeued += taken.requeued
            recovery.jobsDead += taken.dead
            recovery.workersRemoved.append(worker.id)
        }
        return recovery
    }
}

// MARK: - Cancel and retry

extension JobState {
    /// Whether cancelling a job in this state changes it: true for a queued or running job, false
    /// for one already cancelled.
    /// - Throws: `QueueError.invalidState` for a done, failed or dead job.
    public func checkCancellable(jobID: Int64) throws -> Bool {
        switch self {
        case .queued, .running: return true
        case .cancelled: return false
        case .done, .failed, .dead: throw QueueError.invalidState(id: jobID, state: self, action: "cancel")
        }
    }

    /// Checks that a job in this state may be retried by hand (failed, dead or cancelled).
    /// - Throws: `QueueError.invalidState` for a queued, running or done job.
    public func checkRetryable(jobID: Int64) throws {
        guard [.failed, .dead, .cancelled].contains(self) else {
            throw QueueError.invalidState(id: jobID, state: self, action: "retry")
        }
    }
}
