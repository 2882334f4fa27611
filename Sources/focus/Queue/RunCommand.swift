import ArgumentParser
import FocusEngine
import FocusQueue
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

    @Flag(name: .shortAndLong, help: "Print a summary even on success.")
    var verbose = false

    func validate() throws {
        if batch <= 0 { throw ValidationError("--batch must be positive") }
        if !drain && maxJobs == nil && maxTime == nil {
            throw ValidationError("give --drain, --max-jobs or --max-time (use `focus daemon` to run forever)")
        }
        if let maxJobs, maxJobs <= 0 { throw ValidationError("--max-jobs must be positive") }
        if leaseSeconds < 5 { throw ValidationError("--lease-seconds must be at least 5") }
    }

    func run() throws {
        try withQueueExitCodes {
            let lock: RunLock
            do {
                lock = try RunLock(databasePath: queue.path)
            } catch {
                throw QueueFailure(error)
            }
            defer { lock.unlock() }
            let report = try runWorker(
                queue: queue, store: store, quiet: !verbose,
                options: WorkerOptions(leaseSeconds: leaseSeconds, drain: drain, maxJobs: maxJobs, maxTime: maxTime,
                                       stopBehavior: .releaseCurrent, batchSize: batch))
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
        abstract: "Process jobs as they arrive; SIGTERM or SIGINT releases the current job and exits.")

    @OptionGroup var queue: QueueOptions
    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Lease length in seconds.")
    var leaseSeconds: Double = 600

    @Option(name: .long, help: "Claim up to N queued jobs of the same document at once and decode them together (stored mode).")
    var batch = 1

    func validate() throws {
        if batch <= 0 { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        try withQueueExitCodes {
            _ = try runWorker(
                queue: queue, store: store, quiet: false,
                options: WorkerOptions(leaseSeconds: leaseSeconds, drain: false, stopBehavior: .releaseCurrent, batchSize: batch))
        }
    }
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
    let processor = EngineJobProcessor(storeDirectory: store.directory, storeBudget: store.storeBudget)
    let stop = StopFlag()
    stop.stopOnSignals([SIGTERM, SIGINT])
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
