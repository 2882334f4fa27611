import FocusQueue
import FocusQueuePostgres
import Foundation

/// The queue on PostgreSQL, on a server of its own in a temporary folder: claim + lease +
/// complete per job against SQLite, a thousand one-token jobs drained by 1, 2 and 4 worker
/// processes, and the CPU an idle daemon uses while it waits on `LISTEN`.
struct PostgresQueueBenchmark: BenchmarkSuite {
    let name = "queue-postgres"
    let title = "Queue on PostgreSQL: overhead per job, drains by several workers, idle daemon"

    /// Worker process counts of the drains.
    static let workerCounts = [1, 2, 4]

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let jobs = context.quick ? 100 : 1000
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("focus-bench-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let server = try TemporaryPostgresServer()
        defer { server.stop() }

        let sqlite = try QueueBenchmark.claimComplete(jobs: jobs, directory: work.path)
        let postgres = try QueueBenchmark.claimComplete(
            on: PostgresJobQueue(location: server.createDatabase()), jobs: jobs)
        context.log("queue-postgres: claim + complete \(Format.number(postgres.millisecondsPerJob)) ms/job "
            + "(SQLite \(Format.number(sqlite.millisecondsPerJob)))")

        let focus = try PipelineTools.focusBinary(context)
        let model = try PipelineTools.tinyModel(context)
        let pipeline = PipelineBenchmark()
        var drains: [(workers: Int, run: PipelineBenchmark.DrainRun)] = []
        for workers in Self.workerCounts {
            let folder = work.appendingPathComponent("drain-\(workers)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let drain = try pipeline.measureDrain(
                focus: focus, model: model, jobs: jobs, work: folder, context: context,
                database: server.createDatabase().description, workers: workers)
            context.log("queue-postgres: \(workers) worker(s) drained \(drain.done) of \(drain.jobs) jobs "
                + "in \(Format.number(drain.drainSeconds)) s")
            drains.append((workers, drain))
        }
        let idle = try pipeline.measureIdle(
            focus: focus, work: work, window: context.quick ? 2 : PipelineBenchmark.idleWindow,
            database: server.createDatabase().description)
        context.log("queue-postgres: idle daemon \(Format.number(idle.cpuSeconds)) CPU s over \(Format.number(idle.window)) s")

        let rows: [[String]] = [
            ["claim + lease + complete, \(jobs) jobs, one worker", "\(Format.number(postgres.millisecondsPerJob)) ms/job",
             "SQLite: \(Format.number(sqlite.millisecondsPerJob)) ms/job"],
        ] + drains.map { workers, drain in
            ["`focus run --drain` × \(workers), \(drain.jobs) one-token jobs",
             "\(Format.number(Double(drain.done) / drain.drainSeconds)) jobs/s",
             "\(drain.done) of \(drain.jobs) done in \(Format.number(drain.drainSeconds)) s"]
        } + [
            ["idle `focus daemon`, \(Format.number(idle.window)) s", "\(String(format: "%.2f", idle.share * 100)) % of one core",
             Format.verdict(idle.share < PipelineBenchmark.idleTarget) + " (< 1 %)"],
        ]
        return SuiteResult(
            tables: [ResultTable(title: "PostgreSQL", columns: ["Measurement", "Result", "Compared with"], rows: rows)],
            values: [
                "claim_complete_ms_per_job": .object([
                    "postgres": .number(postgres.millisecondsPerJob), "sqlite": .number(sqlite.millisecondsPerJob),
                ]),
                "drain_jobs_per_second": .object(Dictionary(uniqueKeysWithValues: drains.map { workers, drain in
                    ("\(workers)", ResultJSON.number(Double(drain.done) / drain.drainSeconds))
                })),
                "idle_daemon_share_of_one_core": .number(idle.share),
            ])
    }
}
