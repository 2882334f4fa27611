import FocusQueue
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The job queue and the `focus` worker around it: the queue's own overhead per job, a thousand
/// one-token jobs drained end to end by the real binary, and the CPU an idle daemon uses.
struct PipelineBenchmark: BenchmarkSuite {
    let name = "queue"
    let title = "Queue: overhead per job, a thousand jobs end to end, idle daemon"

    /// Claim + complete milliseconds per job.
    static let overheadTarget = 5.0
    /// Seconds for `focus run --drain` over the thousand jobs.
    static let drainTarget = 30.0
    /// Share of one core an idle daemon may use.
    static let idleTarget = 0.01
    /// Seconds the idle daemon's CPU time is sampled over.
    static let idleWindow = 10.0

    /// The end-to-end run.
    struct DrainRun {
        var jobs: Int
        var documents: Int
        var submitSeconds: Double
        var drainSeconds: Double
        var drainCPUSeconds: Double
        var counts: [String: Int]
        var done: Int { counts["done"] ?? 0 }
    }

    /// The idle daemon's sample.
    struct IdleRun {
        var window: Double
        var cpuSeconds: Double
        var exitSeconds: Double
        var exitStatus: Int32
        var exitedBeforeTimeout: Bool
        var share: Double { cpuSeconds / window }
    }

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let jobs = context.quick ? 100 : 1000
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("focus-bench-queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        let overhead = try QueueBenchmark.claimComplete(jobs: jobs, directory: work.path)
        context.log(
            "queue: \(jobs) jobs submitted in \(Format.number(overhead.submitSeconds)) s, claim + complete \(Format.number(overhead.millisecondsPerJob)) ms/job")

        let focus = try PipelineTools.focusBinary(context)
        let model = try PipelineTools.tinyModel(context)
        let drain = try measureDrain(focus: focus, model: model, jobs: jobs, work: work, context: context)
        context.log(
            "queue: drained \(drain.done) of \(drain.jobs) jobs in \(Format.number(drain.drainSeconds)) s (\(Format.number(drain.drainCPUSeconds)) CPU s)")
        let idle = try measureIdle(focus: focus, work: work, window: context.quick ? 2 : Self.idleWindow)
        context.log(
            "queue: idle daemon \(Format.number(idle.cpuSeconds)) CPU s over \(Format.number(idle.window)) s; "
                + "exited \(idle.exitStatus) \(Format.number(idle.exitSeconds)) s after SIGTERM")

        return SuiteResult(
            tables: [targetTable(overhead: overhead, drain: drain, idle: idle), detailTable(drain: drain, idle: idle)],
            values: [
                "claim_complete": .object([
                    "jobs": .number(Double(overhead.jobs)), "submit_seconds": .number(overhead.submitSeconds),
                    "claim_complete_seconds": .number(overhead.claimCompleteSeconds),
                    "ms_per_job": .number(overhead.millisecondsPerJob),
                ]),
                "drain": .object([
                    "jobs": .number(Double(drain.jobs)), "documents": .number(Double(drain.documents)),
                    "submit_seconds": .number(drain.submitSeconds), "drain_seconds": .number(drain.drainSeconds),
                    "drain_cpu_seconds": .number(drain.drainCPUSeconds),
                    "states": .object(drain.counts.mapValues { .number(Double($0)) }),
                ]),
                "idle_daemon": .object([
                    "window_seconds": .number(idle.window), "cpu_seconds": .number(idle.cpuSeconds),
                    "share_of_one_core": .number(idle.share), "exit_status": .number(Double(idle.exitStatus)),
                    "exit_seconds_after_sigterm": .number(idle.exitSeconds),
                    "exited_before_timeout": .bool(idle.exitedBeforeTimeout),
                ]),
            ])
    }

    // MARK: - End to end

    /// Submits `jobs` one-token questions about a few short documents and times `focus run --drain`
    /// in `workers` processes at once, on `database` (default: a new SQLite file in `work`).
    func measureDrain(focus: String, model: URL, jobs: Int, work: URL, context: BenchmarkContext,
                      database: String? = nil, workers: Int = 1) throws -> DrainRun {
        let documents = PipelineTools.documents
        for (index, text) in documents.enumerated() {
            try text.write(to: work.appendingPathComponent("document-\(index).txt"), atomically: true, encoding: .utf8)
        }
        let lines = try (0..<jobs).map { index -> String in
            let object: [String: Any] = [
                "document": "document-\(index % documents.count).txt",
                "question": "Which place is named in sentence \(index)?", "key": "bench-\(index)",
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
        let batch = work.appendingPathComponent("batch.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: batch, atomically: true, encoding: .utf8)
        let database = database ?? work.appendingPathComponent("drain.sqlite").path

        let submitStart = Clock.now()
        _ = try PipelineTools.run(
            focus,
            [
                "submit", "--batch", batch.path, "--db", database, "--model", model.path, "--gen-length", "1",
                "--block-length", "1", "--steps", "1",
            ], log: work.appendingPathComponent("submit.log"))
        let submitSeconds = Clock.now() - submitStart

        context.log("queue: focus run --drain over \(jobs) jobs, \(workers) worker process(es)")
        let children0 = PipelineTools.childrenCPU()
        let drainStart = Clock.now()
        let failures = FailureList()
        DispatchQueue.concurrentPerform(iterations: workers) { index in
            let store = work.appendingPathComponent("store-\(index)").path
            do {
                _ = try PipelineTools.run(
                    focus, ["run", "--drain", "--db", database, "--store", store],
                    log: work.appendingPathComponent("drain-\(index).log"))
            } catch {
                failures.append(error)
            }
        }
        if let failure = failures.first { throw failure }
        let drainSeconds = Clock.now() - drainStart
        let cpu = PipelineTools.childrenCPU() - children0

        let status = try PipelineTools.run(focus, ["status", "--db", database], log: work.appendingPathComponent("status.log"))
        var counts: [String: Int] = [:]
        for line in status.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count == 2, let count = Int(fields[1]) { counts[String(fields[0])] = count }
        }
        return DrainRun(
            jobs: jobs, documents: documents.count, submitSeconds: submitSeconds, drainSeconds: drainSeconds,
            drainCPUSeconds: cpu, counts: counts)
    }

    // MARK: - Idle daemon

    /// Starts `focus daemon` on an empty queue, samples its CPU time over `window` seconds, then
    /// sends SIGTERM and waits for it to exit.
    func measureIdle(focus: String, work: URL, window: Double, database: String? = nil) throws -> IdleRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: focus)
        process.arguments = [
            "daemon", "--db", database ?? work.appendingPathComponent("idle.sqlite").path,
            "--store", work.appendingPathComponent("idle-store").path,
        ]
        let log = work.appendingPathComponent("daemon.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        defer { try? logHandle.close() }
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        let pid = process.processIdentifier
        defer { if process.isRunning { kill(pid, SIGKILL) } }

        Thread.sleep(forTimeInterval: 2)
        guard process.isRunning, let before = PipelineTools.cpuSeconds(pid: pid) else {
            throw BenchmarkError.commandFailed(
                command: "focus daemon", status: process.isRunning ? 0 : process.terminationStatus,
                output: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
        }
        let sampleStart = Clock.now()
        Thread.sleep(forTimeInterval: window)
        guard let after = PipelineTools.cpuSeconds(pid: pid) else {
            throw BenchmarkError.commandFailed(
                command: "focus daemon", status: process.terminationStatus,
                output: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
        }
        let sampled = Clock.now() - sampleStart

        let termStart = Clock.now()
        kill(pid, SIGTERM)
        while process.isRunning && Clock.now() - termStart < 15 { Thread.sleep(forTimeInterval: 0.02) }
        let exited = !process.isRunning
        return IdleRun(
            window: sampled, cpuSeconds: after - before, exitSeconds: Clock.now() - termStart,
            exitStatus: exited ? process.terminationStatus : -1, exitedBeforeTimeout: exited)
    }

    // MARK: - Tables

    private func targetTable(overhead: QueueBenchmark.Result, drain: DrainRun, idle: IdleRun) -> ResultTable {
        let allDone = drain.done == drain.jobs
        let cleanExit = idle.exitedBeforeTimeout && idle.exitStatus == 0
        return ResultTable(
            title: "Targets",
            columns: ["Measurement", "Result", "Target", "Verdict"],
            rows: [
                [
                    "claim + lease + complete, \(overhead.jobs) jobs, one worker (FocusQueue)",
                    "\(Format.number(overhead.millisecondsPerJob)) ms/job", "≤ \(Format.number(Self.overheadTarget)) ms",
                    Format.verdict(overhead.millisecondsPerJob <= Self.overheadTarget),
                ],
                [
                    "`focus run --drain`, \(drain.jobs) one-token jobs, tiny model",
                    "\(Format.number(drain.drainSeconds)) s (\(Format.number(drain.drainSeconds * 1000 / Double(drain.jobs))) ms/job), "
                        + "\(drain.done) of \(drain.jobs) done",
                    "≤ \(Format.number(Self.drainTarget)) s, all done",
                    Format.verdict(drain.drainSeconds <= Self.drainTarget && allDone),
                ],
                [
                    "idle `focus daemon`, empty queue, \(Format.number(idle.window)) s",
                    "\(String(format: "%.2f", idle.share * 100)) % of one core (\(Int((idle.cpuSeconds * PipelineTools.clockTicks).rounded())) "
                        + "clock ticks; one tick is \(String(format: "%.2f", 100 / PipelineTools.clockTicks / idle.window)) %)",
                    "< \(Format.percent(Self.idleTarget))",
                    Format.verdict(idle.share < Self.idleTarget),
                ],
                [
                    "daemon after SIGTERM", idle.exitedBeforeTimeout
                        ? "exited with status \(idle.exitStatus) in \(Format.number(idle.exitSeconds)) s" : "still running after 15 s",
                    "exits, status 0", Format.verdict(cleanExit),
                ],
            ])
    }

    private func detailTable(drain: DrainRun, idle: IdleRun) -> ResultTable {
        let states = drain.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return ResultTable(
            title: "End to end: d 64, 2 layers, vocab 300 (generated, f32), tiny tokenizer, \(drain.documents) documents, "
                + "gen length 1, stored mode",
            columns: ["jobs", "submit s", "drain s", "drain CPU s", "jobs/s", "queue states after", "idle daemon CPU s"],
            rows: [
                [
                    "\(drain.jobs)", Format.number(drain.submitSeconds), Format.number(drain.drainSeconds),
                    Format.number(drain.drainCPUSeconds), Format.number(Double(drain.jobs) / drain.drainSeconds), states,
                    String(format: "%.3f", idle.cpuSeconds),
                ]
            ])
    }
}

/// Errors of the worker processes of one measurement, collected from several threads.
final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []

    func append(_ error: Error) {
        lock.lock()
        errors.append(error)
        lock.unlock()
    }

    var first: Error? {
        lock.lock()
        defer { lock.unlock() }
        return errors.first
    }
}
