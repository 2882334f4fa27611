import FocusSQLite
import Foundation

// MARK: - Reports

extension JobQueue {
    /// Number of jobs in each state; every state is present, zero included.
    public func statusCounts() throws -> [JobState: Int] {
        try QueueRowMapping.statusCounts(database.fetchAll("SELECT state, jobs FROM queue_depth"))
    }

    /// The job, its answer and its metrics.
    /// - Throws: `QueueError.jobNotFound`.
    public func show(jobID: Int64) throws -> JobDetails {
        try database.read {
            guard let row = try database.fetchOne(QueueRowMapping.jobSelect + " WHERE j.id = ?", [jobID]) else {
                throw QueueError.jobNotFound(id: jobID)
            }
            let result = try database.fetchOne(
                "SELECT job_id, answer, answer_token_ids, created_at FROM results WHERE job_id = ?",
                [jobID]).map { try QueueRowMapping.result(from: $0) }
            let metrics = try database.fetchOne(
                "SELECT * FROM job_metrics WHERE job_id = ?", [jobID]).map { try QueueRowMapping.metrics(from: $0) }
            return JobDetails(job: try QueueRowMapping.record(from: row), result: result, metrics: metrics)
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
                guard let jobRow = try database.fetchOne(QueueRowMapping.jobSelect + " WHERE j.id = ?",
                                                         [jobID]) else {
                    throw QueueError.jobNotFound(id: jobID)
                }
                return JobDetails(job: try QueueRowMapping.record(from: jobRow), result: try QueueRowMapping.result(from: row),
                                  metrics: row.string("model") == nil ? nil : try QueueRowMapping.metrics(from: row))
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
            """, [since]).map { try QueueRowMapping.modeSummary(from: $0) }
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
                              stopFlag: (any StopRequest)? = nil) throws -> Bool {
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
}
