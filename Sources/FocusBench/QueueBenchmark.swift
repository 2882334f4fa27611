import FocusQueue
import Foundation

/// Measures the queue's own overhead, for the benchmark executable: the time to
/// submit jobs and to claim and complete them with a realistic answer and metrics,
/// on a fresh database file (WAL, `synchronous=NORMAL`, as in production).
enum QueueBenchmark {
    /// Timings of one run.
    struct Result: Sendable, Equatable {
        /// Jobs submitted, claimed and completed.
        let jobs: Int
        /// Seconds to submit all jobs in one batch transaction.
        let submitSeconds: Double
        /// Seconds for all claim + complete pairs (two write transactions per job).
        let claimCompleteSeconds: Double
        /// Milliseconds of queue overhead per job (claim + complete).
        var millisecondsPerJob: Double { claimCompleteSeconds * 1000 / Double(max(jobs, 1)) }
    }

    /// Submits `jobs` jobs to a new database in `directory`, then claims and completes
    /// each in turn from one worker; the database file is removed afterwards.
    /// - Parameter answerTokens: token ids stored with each answer.
    static func claimComplete(jobs: Int = 1000, answerTokens: Int = 64,
                                     directory: String) throws -> Result {
        let path = (directory as NSString)
            .appendingPathComponent("queue-bench-\(UUID().uuidString).sqlite")
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        return try claimComplete(on: JobQueue(path: path), jobs: jobs, answerTokens: answerTokens)
    }

    /// Submits `jobs` jobs to `queue` (an empty one), then claims and completes each in turn
    /// from one worker: the same measurement on any backend.
    static func claimComplete(on queue: any QueueBackend, jobs: Int = 1000,
                              answerTokens: Int = 64) throws -> Result {
        let document = try queue.registerDocument(NewDocument(
            sha256: String(repeating: "c", count: 64), path: "bench.txt", byteSize: 1 << 20,
            tokenCount: 250_000))
        let newJobs = (0..<jobs).map {
            NewJob(documentID: document, question: "Benchmark question number \($0)?",
                   modelDir: "models/bench", mode: "focus", modeParams: #"{"tau":0.9,"blocks":8}"#,
                   idempotencyKey: "bench-\($0)")
        }
        let outcome = JobOutcome(
            answer: String(repeating: "answer ", count: answerTokens),
            answerTokenIDs: Array(0..<answerTokens),
            metrics: JobMetrics(prefillSeconds: 1, storeHit: true, kvLoadSeconds: 0.1,
                                kvLoadBytes: 1 << 24, decodeSeconds: 2, answerTokens: answerTokens,
                                tokensPerSecond: 32, nfe: 64, steps: 64, blocksSelected: 8,
                                blocksTotal: 64, attentionDensity: 0.125, peakRSSBytes: 1 << 32))

        let submitStart = DispatchTime.now().uptimeNanoseconds
        try queue.submit(batch: newJobs)
        let claimStart = DispatchTime.now().uptimeNanoseconds
        var completed = 0
        while let job = try queue.claim(workerID: "bench", leaseSeconds: 300,
                                        preferDocument: document) {
            if try queue.complete(jobID: job.id, owner: "bench", attempt: job.attempt,
                                  outcome: outcome) {
                completed += 1
            }
        }
        let end = DispatchTime.now().uptimeNanoseconds
        guard completed == jobs else {
            throw BenchmarkError.usage("queue benchmark: completed \(completed) of \(jobs) jobs")
        }
        return Result(jobs: jobs, submitSeconds: Double(claimStart - submitStart) / 1e9,
                      claimCompleteSeconds: Double(end - claimStart) / 1e9)
    }
}
