import FocusQueue
import FocusQueuePostgres
import Foundation

/// The cost of a claim with document affinity, on SQLite and on PostgreSQL: jobs over ten
/// documents, three other live workers whose stores hold three documents each, and one worker
/// claiming and completing every job it may take, with affinity and in plain queue order.
struct AffinityQueueBenchmark: BenchmarkSuite {
    let name = "queue-affinity"
    let title = "Queue: claims with document affinity"

    /// Documents of the jobs, and how many of them the other workers' stores hold.
    static let documents = 10
    static let heldElsewhere = 9

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let jobs = context.quick ? 100 : 1000
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("focus-bench-affinity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let server = try TemporaryPostgresServer()
        defer { server.stop() }

        var rows: [[String]] = []
        var values: [String: ResultJSON] = [:]
        for backend in ["sqlite", "postgres"] {
            var perJob: [String: Double] = [:]
            for affinity in [false, true] {
                let queue: any QueueBackend = backend == "sqlite"
                    ? try JobQueue(path: work.appendingPathComponent("\(affinity)-\(UUID().uuidString).sqlite").path)
                    : try PostgresJobQueue(location: server.createDatabase())
                let result = try Self.measure(queue, jobs: jobs, affinity: affinity)
                perJob[affinity ? "affinity" : "plain"] = result.millisecondsPerJob
                context.log("queue-affinity: \(backend) \(affinity ? "affinity" : "plain") claims: "
                    + "\(result.jobs) jobs, \(Format.number(result.millisecondsPerJob)) ms/job")
            }
            let plain = perJob["plain"] ?? 0, affinity = perJob["affinity"] ?? 0
            rows.append([backend == "sqlite" ? "SQLite" : "PostgreSQL", "\(Format.number(affinity)) ms/job",
                         "\(Format.number(plain)) ms/job", "\(Format.number(affinity / max(plain, 1e-9)))×"])
            values[backend] = .object(["affinity_ms_per_job": .number(affinity), "plain_ms_per_job": .number(plain)])
        }
        return SuiteResult(
            tables: [ResultTable(
                title: "Claim + complete per job, \(jobs) jobs over \(Self.documents) documents, "
                    + "\(Self.heldElsewhere) of them held by three other live workers",
                columns: ["Database", "With affinity", "Queue order", "Ratio"], rows: rows)],
            values: values)
    }

    /// Claims and completes, from one worker, every job of `queue` (fresh) it may claim: with
    /// affinity, the jobs of the one document no other store holds, then the others' jobs once
    /// they waited (the wait is a microsecond, so every candidate query runs in full).
    static func measure(_ queue: any QueueBackend, jobs: Int, affinity: Bool) throws -> QueueBenchmark.Result {
        let documents = try (0..<Self.documents).map { index in
            try queue.registerDocument(NewDocument(
                sha256: String(repeating: "a", count: 56) + String(format: "%08x", index), path: "doc\(index).txt",
                byteSize: 1 << 20, tokenCount: 250_000))
        }
        for worker in 0..<3 {
            let store = "other\(worker):/store"
            try queue.registerWorker(id: "other\(worker)", identity: ProcessIdentity.current(), storeID: store,
                                     leaseSeconds: 3600)
            try queue.recordHoldings(storeID: store, stored: Set(documents[(worker * 3)..<(worker * 3 + 3)]), evicted: [])
        }
        try queue.submit(batch: (0..<jobs).map {
            NewJob(documentID: documents[$0 % documents.count], question: "Benchmark question number \($0)?",
                   modelDir: "models/bench", mode: "stored", modeParams: #"{"blocks":8}"#)
        })
        let preference = affinity ? AffinityClaim(storeID: "bench:/store", waitSeconds: 1e-6) : nil
        let outcome = JobOutcome(answer: "answer", answerTokenIDs: [1], metrics: JobMetrics(storeHit: true, answerTokens: 1))
        let start = DispatchTime.now().uptimeNanoseconds
        var completed = 0
        while let job = try queue.claim(workerID: "bench", leaseSeconds: 300, preferDocument: nil, affinity: preference) {
            if try queue.complete(jobID: job.id, owner: "bench", attempt: job.attempt, outcome: outcome) { completed += 1 }
        }
        let end = DispatchTime.now().uptimeNanoseconds
        guard completed == jobs else {
            throw BenchmarkError.usage("queue-affinity: completed \(completed) of \(jobs) jobs")
        }
        return QueueBenchmark.Result(jobs: jobs, submitSeconds: 0, claimCompleteSeconds: Double(end - start) / 1e9)
    }
}
