import Foundation

// MARK: - Suites

/// A group of measurements that `focus-bench` runs and writes to `<name>.json` and `<name>.md`.
///
/// To add a suite (tokenizer, store, queue, ...), write one file with a type conforming to this
/// protocol and add one line to `BenchmarkRegistry.suites`.
protocol BenchmarkSuite {
    /// File stem of the results and the name `--only` selects it by (`runtime`, `tokenizer`, ...).
    var name: String { get }
    /// Heading of the suite's Markdown report.
    var title: String { get }
    /// Runs every measurement of the suite.
    func run(_ context: BenchmarkContext) throws -> SuiteResult
    /// Subcommands run in a child process (`focus-bench --child NAME ARGS...`), for measurements
    /// that need a fresh process, such as peak memory. Each prints its result as JSON.
    var childCommands: [String: ([String]) throws -> ResultJSON] { get }
}

extension BenchmarkSuite {
    var childCommands: [String: ([String]) throws -> ResultJSON] { [:] }
}

/// Every suite `focus-bench` knows, in the order they run.
enum BenchmarkRegistry {
    static let suites: [any BenchmarkSuite] = [
        RuntimeBenchmark(),
        FusedAttentionBenchmark(),
        DecodeStepBenchmark(),
        RefreshBenchmark(),
        LLaDA8BBenchmark(),
        LLaDA8BBatchBenchmark(),
        TokenizerBenchmark(),
        StoreBenchmark(),
        PipelineBenchmark(),
        PostgresQueueBenchmark(),
        AffinityQueueBenchmark(),
        BatchBenchmark(),
    ]
}

// MARK: - Context

/// What every suite may use: where to write, where to cache generated inputs, how large to go.
struct BenchmarkContext {
    /// Directory receiving `<suite>.json` and `<suite>.md`.
    let outputDirectory: URL
    /// Directory for generated checkpoints and other inputs reused between runs.
    let cacheDirectory: URL
    /// Root of the repository (holds `Tests/ReferenceTools`).
    let repositoryRoot: URL
    /// Small sizes only: a smoke test of the benchmark code, not a measurement.
    let quick: Bool

    /// Progress on standard error (standard output carries the tables).
    func log(_ message: String) {
        FileHandle.standardError.write(Data("[focus-bench] \(message)\n".utf8))
    }

    /// Runs `focus-bench --child command arguments...` and returns the JSON it prints.
    func runChild(_ command: String, arguments: [String]) throws -> ResultJSON {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let output = try ExternalCommand.run(executable, arguments: ["--child", command] + arguments)
        guard let line = output.split(separator: "\n").last,
            let value = try? JSONDecoder().decode(ResultJSON.self, from: Data(line.utf8))
        else {
            throw BenchmarkError.invalidChildOutput(command: command, output: output)
        }
        return value
    }
}

// MARK: - Results

/// What a suite measured: tables for people, values for machines.
struct SuiteResult {
    var tables: [ResultTable]
    /// Every number, keyed by what it is (units in the key names).
    var values: [String: ResultJSON]
}

/// A Markdown table.
struct ResultTable {
    var title: String
    var columns: [String]
    var rows: [[String]]

    /// GitHub-flavoured Markdown, preceded by a `###` heading.
    var markdown: String {
        var lines = ["### \(title)", "", "| " + columns.joined(separator: " | ") + " |"]
        lines.append("|" + columns.map { _ in "---" }.joined(separator: "|") + "|")
        for row in rows { lines.append("| " + row.joined(separator: " | ") + " |") }
        return lines.joined(separator: "\n")
    }

    var json: ResultJSON {
        .object([
            "title": .string(title), "columns": .array(columns.map(ResultJSON.string)),
            "rows": .array(rows.map { .array($0.map(ResultJSON.string)) }),
        ])
    }
}

// MARK: - Errors

/// Failures of the benchmark driver, each naming what went wrong.
enum BenchmarkError: Error, CustomStringConvertible {
    case usage(String)
    case commandFailed(command: String, status: Int32, output: String)
    case invalidChildOutput(command: String, output: String)
    case unknownChild(String)

    var description: String {
        switch self {
        case .usage(let message): return "usage: \(message)"
        case .commandFailed(let command, let status, let output):
            return "\(command) exited with status \(status):\n\(output.suffix(2000))"
        case .invalidChildOutput(let command, let output):
            return "child \(command) printed no JSON result:\n\(output.suffix(2000))"
        case .unknownChild(let name): return "no child command named \(name)"
        }
    }
}

// MARK: - External commands

/// Runs other programs (the checkpoint generator, `focus-bench` children).
enum ExternalCommand {
    /// Runs `executable arguments...` (looked up on PATH when not absolute) and returns standard
    /// output; standard error passes through. Throws when the exit status is not 0.
    static func run(_ executable: String, arguments: [String]) throws -> String {
        let process = Process()
        if executable.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw BenchmarkError.commandFailed(
                command: ([executable] + arguments).joined(separator: " "),
                status: process.terminationStatus, output: output)
        }
        return output
    }
}
