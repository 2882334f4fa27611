import FocusSQLite
import Foundation

// MARK: - Reports

extension JobQueue {
    /// Number of jobs in each state; every state is present, zero included.
    public func statusCounts() throws -> [JobState: Int] {
        var counts = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
        for row in try database.fetchAll("SELECT state, jobs FROM queue_depth") {
            if let state = row.string("state").flatMap(JobState.init(rawValue:)) {
                counts[state] = try row.requiredInt("jobs")
            }
        }
        return counts
    }

    /// The job, its answer and its metrics.
    /// - Throws: `QueueError.jobNotFound`.
    public func show(jobID: Int64) throws -> JobDetails {
        try database.read {
            guard let row = try database.fetchOne(Self.jobSelect + " WHERE j.id = ?", [jobID]) else {
                throw QueueError.jobNotFound(id: jobID)
            }
            let result = try database.fetchOne(
                "SELECT job_id, answer, answer_token_ids, created_at FROM results WHERE job_id = ?",
                [jobID]).map { try Self.result(from: $0) }
            let metrics = try database.fetchOne(
                "SELECT * FROM job_metrics WHERE job_id = ?", [jobID]).map { try Self.metrics(from: $0) }
            return JobDetails(job: try Self.record(from: row), result: result, metrics: metrics)
        }
    }

    /// Answered jobs whose result was written at or after `since` (Unix seconds), oldest
    /// first, at most `limit`.
    public func results(since: Double = 0, limit: Int = 1000) throws -> [JobDetails] {
        try database.read {
            try database.fetchAll("""
                SELECT r.job_id, r.answer, r.answer_token_ids, r.created_at, m.*
                FROM results r LEFT JOIN job_metrics m ON m.job_id = r.job_id
                WHERE r.created_at >= ? ORDER BY r.created_at, r.job_id LIMIT ?
                """, [since, limit]).map { row in
                let jobID = try row.requiredInt64("job_id")
                guard let jobRow = try database.fetchOne(Self.jobSelect + " WHERE j.id = ?",
                                                         [jobID]) else {
                    throw QueueError.jobNotFound(id: jobID)
                }
                return JobDetails(job: try Self.record(from: jobRow), result: try Self.result(from: row),
                                  metrics: row.string("model") == nil ? nil : try Self.metrics(from: row))
            }
        }
    }

    /// Aggregates of done jobs per decoding mode, optionally only those finished at or
    /// after `since` (Unix seconds).
    public func metricsSummary(since: Double = 0) throws -> [ModeSummary] {
        try database.fetchAll("""
            SELECT j.mode AS mode, count(*) AS jobs,
                   coalesce(sum(m.answer_tokens), 0) AS answer_tokens,
                   avg(m.prefill_s) AS prefill_s, avg(m.decode_s) AS decode_s,
                   avg(m.tokens_per_s) AS tokens_per_s,
                   avg(m.attention_density) AS attention_density,
                   coalesce(sum(m.store_hit), 0) AS store_hits
            FROM jobs j JOIN job_metrics m ON m.job_id = j.id
            WHERE j.state = 'done' AND j.finished_at >= ?
            GROUP BY j.mode ORDER BY j.mode
            """, [since]).map { row in
            ModeSummary(mode: try row.requiredString("mode"), jobs: try row.requiredInt("jobs"),
                        answerTokens: try row.requiredInt("answer_tokens"),
                        meanPrefillSeconds: row.double("prefill_s"),
                        meanDecodeSeconds: row.double("decode_s"),
                        meanTokensPerSecond: row.double("tokens_per_s"),
                        meanAttentionDensity: row.double("attention_density"),
                        storeHits: try row.requiredInt("store_hits"))
        }
    }

    // MARK: - Waiting

    /// Waits until another connection commits to the database or `timeout` seconds
    /// pass, and tells which happened. It polls `PRAGMA data_version` (a counter kept
    /// in the WAL index in shared memory: no disk I/O) every `pollInterval` seconds and
    /// sleeps in between, so an idle daemon costs negligible CPU and notices a
    /// submission within `pollInterval`. Commits of this same connection do not count.
    ///
    /// Changes are counted from the last claim of this queue (whose transaction
    /// records the version) or the previous wait, so a submission that lands between
    /// an empty claim and this call is not missed: the call then returns at once.
    ///
    /// With a `stopFlag`, the wait also ends (returning false) within `pollInterval`
    /// of a stop request.
    public func waitForChange(timeout: Double, pollInterval: Double = 0.25,
                              stopFlag: StopFlag? = nil) throws -> Bool {
        let start = try observedDataVersion ?? database.dataVersion()
        let deadline = Date().timeIntervalSince1970 + timeout
        while true {
            let current = try database.dataVersion()
            observedDataVersion = current
            if current != start { return true }
            let remaining = deadline - Date().timeIntervalSince1970
            if remaining <= 0 || stopFlag?.isRequested == true { return false }
            Thread.sleep(forTimeInterval: min(pollInterval, remaining))
        }
    }

    // MARK: - Row mapping

    static let jobSelect = """
        SELECT j.*, d.path AS document_path FROM jobs j JOIN documents d ON d.id = j.document_id
        """

    static func record(from row: Row) throws -> JobRecord {
        guard let state = JobState(rawValue: try row.requiredString("state")) else {
            throw RowDecodingError.missingValue(column: "state", type: "job state")
        }
        return JobRecord(
            id: try row.requiredInt64("id"), documentID: try row.requiredInt64("document_id"),
            documentPath: try row.requiredString("document_path"), question: try row.requiredString("question"),
            modelDir: try row.requiredString("model_dir"), mode: try row.requiredString("mode"),
            modeParams: try row.requiredString("mode_params"), priority: try row.requiredInt("priority"),
            state: state, attempt: try row.requiredInt("attempt"), maxAttempts: try row.requiredInt("max_attempts"),
            idempotencyKey: row.string("idempotency_key"), leaseOwner: row.string("lease_owner"),
            leaseExpiresAt: row.double("lease_expires_at"),
            nextAttemptAt: try row.requiredDouble("next_attempt_at"), lastError: row.string("last_error"),
            createdAt: try row.requiredDouble("created_at"), startedAt: row.double("started_at"),
            finishedAt: row.double("finished_at"))
    }

    static func result(from row: Row) throws -> JobResult {
        JobResult(jobID: try row.requiredInt64("job_id"), answer: try row.requiredString("answer"),
                  answerTokenIDs: parseIntArray(try row.requiredString("answer_token_ids")),
                  createdAt: try row.requiredDouble("created_at"))
    }

    static func metrics(from row: Row) throws -> JobMetrics {
        JobMetrics(
            queueWaitSeconds: row.double("queue_wait_s"), prefillSeconds: row.double("prefill_s"),
            storeHit: row.bool("store_hit"), kvLoadSeconds: row.double("kv_load_s"),
            kvLoadBytes: row.int("kv_load_bytes"), decodeSeconds: row.double("decode_s"),
            answerTokens: row.int("answer_tokens"), tokensPerSecond: row.double("tokens_per_s"),
            nfe: row.int("nfe"), steps: row.int("steps"), blocksSelected: row.int("blocks_selected"),
            blocksTotal: row.int("blocks_total"), attentionDensity: row.double("attention_density"),
            peakRSSBytes: row.int("peak_rss_bytes"), model: try row.requiredString("model"),
            mode: try row.requiredString("mode"), modeParams: try row.requiredString("mode_params"))
    }

    static func parseIntArray(_ json: String) -> [Int] {
        json.split(whereSeparator: { "[], \n".contains($0) }).compactMap { Int($0) }
    }
}
