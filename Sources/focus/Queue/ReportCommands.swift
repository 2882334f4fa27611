import ArgumentParser
import FocusQueue
import Foundation

/// `focus status`: jobs by state.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Count jobs by state.")
    @OptionGroup var queue: QueueOptions

    func run() throws {
        try withQueueExitCodes {
            let counts = try queue.open().statusCounts()
            for state in JobState.allCases { print("\(state.rawValue)\t\(counts[state] ?? 0)") }
        }
    }
}

/// `focus show ID`: one job with its answer and metrics.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one job, its answer and metrics.")
    @OptionGroup var queue: QueueOptions
    @Argument(help: "Job id.") var id: Int64

    func run() throws {
        try withQueueExitCodes {
            let details = try queue.open().show(jobID: id)
            print(jsonLine(ResultFormatter.dictionary(details)))
        }
    }
}

/// `focus results`: answers of finished jobs.
struct ResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "results", abstract: "Print answers of finished jobs.")
    @OptionGroup var queue: QueueOptions

    @Option(name: .long, help: "Only jobs finished after this time (Unix seconds or ISO 8601).")
    var since: String?

    @Option(name: .long, help: "table, json or csv.")
    var format: ResultFormat = .table

    @Option(
        name: .long,
        help: "Answer key (JSON: {\"key\": {\"answers\": [...]}}): score the jobs submitted with these keys.")
    var expected: String?

    func validate() throws {
        if expected != nil && format != .table {
            throw ValidationError("--expected prints a table: leave out --format or use --format table")
        }
        if let since, ResultFormatter.parseTime(since) == nil {
            throw ValidationError("--since: \"\(since)\" is neither Unix seconds nor an ISO 8601 time")
        }
    }

    func run() throws {
        try withQueueExitCodes {
            let key = try expected.map(AnswerKey.read)
            let rows = try queue.open().results(since: since.flatMap(ResultFormatter.parseTime) ?? 0)
            if let key {
                print(AnswerKey.render(key.score(rows)), terminator: "")
            } else {
                print(ResultFormatter.render(rows, as: format), terminator: "")
            }
        }
    }
}

/// `focus metrics`: throughput by mode.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics", abstract: "Summarise throughput by decoding mode.")
    @OptionGroup var queue: QueueOptions

    func run() throws {
        try withQueueExitCodes {
            let summaries = try queue.open().metricsSummary()
            print("mode\tjobs\tanswer_tokens\tmean_prefill_s\tmean_decode_s\tmean_tokens_per_s\tmean_density\tstore_hits")
            for s in summaries {
                let cells = [s.meanPrefillSeconds, s.meanDecodeSeconds, s.meanTokensPerSecond, s.meanAttentionDensity]
                    .map { $0.map { String(format: "%.3f", $0) } ?? "-" }
                print(([s.mode, "\(s.jobs)", "\(s.answerTokens)"] + cells + ["\(s.storeHits)"]).joined(separator: "\t"))
            }
        }
    }
}

/// `focus cancel ID`.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a queued or running job.")
    @OptionGroup var queue: QueueOptions
    @Argument(help: "Job id.") var id: Int64

    func run() throws {
        try withQueueExitCodes {
            let cancelled = try queue.open().cancel(jobID: id)
            print(cancelled ? "cancelled \(id)" : "job \(id) had already finished")
        }
    }
}

/// `focus retry ID`.
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retry", abstract: "Queue a failed, dead or cancelled job again.")
    @OptionGroup var queue: QueueOptions
    @Argument(help: "Job id.") var id: Int64

    func run() throws {
        try withQueueExitCodes {
            try queue.open().retry(jobID: id)
            print("queued \(id)")
        }
    }
}
