import ArgumentParser
import FocusEngine
import FocusQueue
import FocusWorker
import Foundation
import Logging

/// `focus run --drain`: process the queue until it is empty, then exit (for cron).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Process queued jobs until the queue is empty (--drain) or a limit is reached.",
        discussion: "Exit codes: 0 done, 64 usage, 65 bad input, 74 I/O error, 75 another instance holds the lock.")

    @OptionGroup var queue: QueueOptions
    @OptionGroup var store: StoreOptions

    @Flag(name: .long, help: "Stop when no job is eligible.")
    var drain = false

    @Option(name: .long, help: "Stop after this many jobs.")
    var maxJobs: Int?

    @Option(name: .long, help: "Stop claiming after this many seconds.")
    var maxTime: Double?

    @Option(name: .long, help: "Lease length in seconds (extended while a job runs).")
    var leaseSeconds: Double = 600

    @Option(name: .long, help: "Claim up to N queued jobs of the same document at once and decode them together (stored mode).")
    var batch = 1

    @Option(name: .long, help: ArgumentHelp(
        "Document affinity: prefer jobs whose document this worker's store holds; a job waits at most this many "
            + "seconds for such a worker before any worker takes it (0: off).", valueName: "seconds"))
    var affinityWait: Double = 30

    @Flag(name: .shortAndLong, help: "Print a summary even on success.")
    var verbose = false

    func validate() throws {
        if batch <= 0 { throw ValidationError("--batch must be positive") }
        if !drain && maxJobs == nil && maxTime == nil {
            throw ValidationError("give --drain, --max-jobs or --max-time (use `focus daemon` to run forever)")
        }
        if let maxJobs, maxJobs <= 0 { throw ValidationError("--max-jobs must be positive") }
        try checkNumberOption(maxTime, "--max-time", .above(0))
        try checkNumberOption(leaseSeconds, "--lease-seconds", WorkerLease.seconds)
        try checkNumberOption(affinityWait, "--affinity-wait", WorkerLease.affinityWait)
    }

    func run() throws {
        try withQueueExitCodes {
            try queue.createFolder()
            // Only an SQLite queue has a lock file: workers share a PostgreSQL queue across hosts.
            var lock: RunLock?
            if let path = queue.path {
                do {
                    lock = try RunLock(databasePath: path)
                } catch {
                    throw QueueFailure(error)
                }
            }
            defer { lock?.unlock() }
            let report = try runWorker(
                queue: queue, store: store, quiet: !verbose,
                options: WorkerOptions(leaseSeconds: leaseSeconds, drain: drain, maxJobs: maxJobs, maxTime: maxTime,
                                       stopBehavior: .releaseCurrent, batchSize: batch,
                                       affinityWait: affinityWait))
            if report.stopReason == .queueEmpty, let first = report.stranded.first {
                let until = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: first.leaseExpiresAt))
                let message = "\(report.stranded.count) job(s) stay running under the lease of a worker that is gone "
                    + "(job \(first.jobID), lease of \(first.leaseOwner) until \(until)); run again once it expires"
                printError(queue.logFormat == .json ? jsonLine(["message": "focus run: " + message]) : "focus run: " + message)
                throw ExitCode(FocusExitCode.locked.rawValue)
            }
            if verbose || report.failed + report.dead > 0 {
                let counts: [String: Any] = [
                    "done": report.completed, "retried": report.retried, "failed": report.failed,
                    "dead": report.dead, "released": report.released,
                ]
                printError(
                    queue.logFormat == .json
                        ? jsonLine(counts.merging(["message": "focus run summary"]) { $1 })
                        : "focus run: \(report.completed) done, \(report.retried) retried, \(report.failed) failed, \(report.dead) dead, \(report.released) released")
            }
        }
    }
}

/// `focus daemon`: a long-running worker that waits for jobs without using the CPU.
struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Process jobs as they arrive; SIGTERM, SIGINT or SIGHUP releases the current job and exits.")

    @OptionGroup var queue: QueueOptions
    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Lease length in seconds.")
    var leaseSeconds: Double = 600

    @Option(name: .long, help: "Claim up to N queued jobs of the same document at once and decode them together (stored mode).")
    var batch = 1

    @Option(name: .long, help: ArgumentHelp(
        "Document affinity: prefer jobs whose document this worker's store holds; a job waits at most this many "
            + "seconds for such a worker before any worker takes it (0: off).", valueName: "seconds"))
    var affinityWait: Double = 30

    func validate() throws {
        if batch <= 0 { throw ValidationError("--batch must be positive") }
        try checkNumberOption(leaseSeconds, "--lease-seconds", WorkerLease.seconds)
        try checkNumberOption(affinityWait, "--affinity-wait", WorkerLease.affinityWait)
    }

    func run() throws {
        try withQueueExitCodes {
            _ = try runWorker(
                queue: queue, store: store, quiet: false,
                options: WorkerOptions(leaseSeconds: leaseSeconds, drain: false, stopBehavior: .releaseCurrent, batchSize: batch,
                                       affinityWait: affinityWait))
        }
    }
}

/// The accepted lease lengths of `run` and `daemon`: long enough for heartbeats to keep up, short
/// enough that a lease held by a worker on another host ends within a week.
enum WorkerLease {
    static let seconds = NumberRange<Double>.atLeast(5).atMost(7 * 86_400)
    /// The accepted affinity waits: none (off) up to a day.
    static let affinityWait = NumberRange<Double>.atLeast(0).atMost(86_400)
}

/// Runs a worker with the engine as its processor until its options say stop.
///
/// Several workers (daemons, drains) may share a database: leases and fenced completion keep
/// each job to one worker. `focus run` alone takes the run lock, so that overlapping cron runs
/// exit 75 instead of piling up. A `quiet` worker logs only warnings (cron mails any output).
func runWorker(
    queue options: QueueOptions, store: StoreOptions, quiet: Bool, options worker: WorkerOptions
) throws -> WorkerReport {
    let jobQueue = try options.open()
    let processor = EngineJobProcessor(
        storeDirectory: store.directory, storeBudget: store.storeBudget,
        storeDirectoryMode: StoreOptions.directoryMode(databasePath: options.path ?? store.directory.path),
        progressDisplay: { TerminalProgress(label: $0) })
    let stop = StopFlag()
    stop.stopOnSignals([SIGTERM, SIGINT, SIGHUP])
    var logger = Logger(label: "focus.worker") { label -> LogHandler in
        options.logFormat == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
    }
    logger.logLevel = quiet ? .warning : .info
    let runner = Worker(queue: jobQueue, processor: processor, options: worker, stopFlag: stop, logger: logger)
    do {
        return try runner.run()
    } catch {
        throw QueueFailure(error)
    }
}
