import FocusQueue
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// MARK: - The binary

/// Finds the built `focus` executable.
enum FocusBinary {
    /// The package root (this file is `Tests/FocusCLITests/CLIHarness.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Candidates, best first: `$FOCUS_BINARY`, next to the test bundle (the build folder
    /// `swift test` runs from), then `.build/release/focus` under the package root.
    static var candidates: [URL] {
        var list: [URL] = []
        if let explicit = ProcessInfo.processInfo.environment["FOCUS_BINARY"] {
            list.append(URL(fileURLWithPath: explicit))
        }
        let bundle = Bundle.main.bundleURL
        list.append(bundle.appendingPathComponent("focus"))
        list.append(bundle.deletingLastPathComponent().appendingPathComponent("focus"))
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        list.append(executable.deletingLastPathComponent().appendingPathComponent("focus"))
        list.append(packageRoot.appendingPathComponent(".build/release/focus"))
        return list
    }

    /// The first candidate that is an executable file.
    static let url: URL? = candidates.first { candidate in
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory)
            && !isDirectory.boolValue && FileManager.default.isExecutableFile(atPath: candidate.path)
    }

    /// The executable, or a test failure listing where it was looked for.
    static func require(sourceLocation: SourceLocation = #_sourceLocation) throws -> URL {
        try #require(url, "focus binary not found; looked at \(candidates.map(\.path))", sourceLocation: sourceLocation)
    }
}

// MARK: - Results

/// What a finished `focus` process left behind.
struct CommandResult: CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    let stdout: String
    let stderr: String

    /// Non-empty stdout lines.
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    var description: String {
        "focus \(arguments.joined(separator: " ")) → \(status)\nstdout: \(stdout)\nstderr: \(stderr)"
    }
}

/// A `focus` process started in the background; `stop()` always kills it.
final class BackgroundFocus {
    let process: Process
    let stderrURL: URL

    init(process: Process, stderrURL: URL) {
        self.process = process
        self.stderrURL = stderrURL
    }

    var pid: Int32 { process.processIdentifier }

    /// Sends `signal` and waits up to `timeout` seconds; returns the exit status, nil on timeout.
    func signalAndWait(_ signal: Int32, timeout: Double) -> Int32? {
        kill(pid, signal)
        return wait(timeout: timeout)
    }

    /// Waits up to `timeout` seconds for the process to exit.
    func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Kills the process if it still runs (SIGKILL) and reaps it.
    func stop() {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
}

// MARK: - Workspace

/// A temporary folder with a queue database, a document store and (on request) a tiny model,
/// in which `focus` runs. Removed on deinit.
final class Workspace {
    let root: URL
    private var runCount = 0

    /// A fresh workspace. With `createSchema`, the queue database is created and migrated with
    /// FocusQueue first, so that the tests of other behaviour do not depend on the command line
    /// migrating a new database (which `QueueCommandTests.freshDatabase` checks on its own).
    init(_ label: String = #function, createSchema: Bool = true) throws {
        let name = label.filter { $0.isLetter || $0.isNumber }
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("focus-cli-tests-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if createSchema {
            try FileManager.default.createDirectory(
                at: URL(fileURLWithPath: db).deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = try JobQueue(path: db)
        }
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// The queue database.
    var db: String { root.appendingPathComponent("queue/focus.sqlite").path }
    /// The document store.
    var store: String { root.appendingPathComponent("store").path }

    /// Another queue than the SQLite file `db` (a `postgres://` URL), when set.
    var queueLocation: String?

    /// `--db DB`, the options every queue command takes here.
    var dbArguments: [String] { ["--db", queueLocation ?? db] }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    /// Writes `text` to `name` under the workspace and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    /// Writes `data` to `name` under the workspace and returns its path.
    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let url = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        return url.path
    }

    /// A tiny model directory `name` (see `TinyModel`).
    func model(_ name: String = "model", maxSequenceLength: Int? = nil, focusDenseLayers: Int? = nil) throws -> String {
        let directory = root.appendingPathComponent(name)
        try TinyModel.write(to: directory, maxSequenceLength: maxSequenceLength, focusDenseLayers: focusDenseLayers)
        return directory.path
    }

    // MARK: Running

    private func makeProcess(
        _ arguments: [String], shellSetup: String? = nil, environment extra: [String: String] = [:],
        stdoutURL: URL, stderrURL: URL
    ) throws -> Process {
        let process = Process()
        if let shellSetup {
            // `sh -c 'SETUP; exec "$0" "$@"' focus ARGS…`: focus runs with the shell's umask and limits.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", shellSetup + "; exec \"$0\" \"$@\"", try FocusBinary.require().path] + arguments
        } else {
            process.executableURL = try FocusBinary.require()
            process.arguments = arguments
        }
        process.currentDirectoryURL = root
        var environment = ProcessInfo.processInfo.environment
        environment["FOCUS_STORE"] = store
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment.removeValue(forKey: "FOCUS_DB")
        environment.removeValue(forKey: "FOCUS_MODEL")
        process.environment = environment.merging(extra) { $1 }
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        return process
    }

    private func nextOutputURLs() -> (URL, URL) {
        runCount += 1
        let folder = root.appendingPathComponent("runs")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return (folder.appendingPathComponent("\(runCount).out"), folder.appendingPathComponent("\(runCount).err"))
    }

    /// Runs `focus arguments` to completion (killed after `timeout` seconds, which fails the test).
    /// With `shellSetup`, a shell runs those commands first (`umask 000`, `ulimit -f 1`) and then
    /// becomes focus.
    @discardableResult
    func run(_ arguments: [String], stdin: Data? = nil, shellSetup: String? = nil,
             environment: [String: String] = [:], timeout: Double = 30,
             sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let (stdoutURL, stderrURL) = nextOutputURLs()
        let process = try makeProcess(arguments, shellSetup: shellSetup, environment: environment,
                                      stdoutURL: stdoutURL, stderrURL: stderrURL)
        let input = Pipe()
        process.standardInput = input
        try spawn(process, blockingTerminationSignals: false)
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            Issue.record("focus \(arguments.joined(separator: " ")) ran past \(timeout) s", sourceLocation: sourceLocation)
        }
        process.waitUntilExit()
        return CommandResult(
            arguments: arguments, status: process.terminationStatus,
            stdout: (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")
    }

    /// Starts `focus arguments` in the background. Call `stop()` on the result (use `defer`).
    /// With `blockingTerminationSignals`, the child starts with SIGTERM and SIGINT blocked, as it
    /// inherits them from a parent thread that blocks them.
    func start(_ arguments: [String], blockingTerminationSignals: Bool = false) throws -> BackgroundFocus {
        let (stdoutURL, stderrURL) = nextOutputURLs()
        let process = try makeProcess(arguments, stdoutURL: stdoutURL, stderrURL: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try spawn(process, blockingTerminationSignals: blockingTerminationSignals)
        return BackgroundFocus(process: process, stderrURL: stderrURL)
    }

    /// Starts `process` with SIGTERM and SIGINT unblocked (or blocked) in its initial signal
    /// mask. A child inherits the mask of the thread that spawns it, and the test runner's
    /// worker threads block most signals, so the mask is set explicitly around the spawn.
    private func spawn(_ process: Process, blockingTerminationSignals: Bool) throws {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        var previous = sigset_t()
        pthread_sigmask(blockingTerminationSignals ? SIG_BLOCK : SIG_UNBLOCK, &signals, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try process.run()
    }

    // MARK: Common steps

    /// Submits one question about `document` with `model`; returns the printed job id.
    func submit(document: String, question: String, model: String, extra: [String] = [],
                sourceLocation: SourceLocation = #_sourceLocation) throws -> Int64 {
        let result = try run(
            ["submit"] + dbArguments + ["--model", model, "--document", document, "--question", question] + extra,
            sourceLocation: sourceLocation)
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        let line = try #require(result.lines.first, "\(result)", sourceLocation: sourceLocation)
        return try #require(Int64(line), "\(result)", sourceLocation: sourceLocation)
    }

    /// `focus run --drain` with this workspace's database and store.
    func drain(extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        try run(["run", "--drain"] + dbArguments + ["--store", store] + extra, sourceLocation: sourceLocation)
    }

    /// The counts printed by `focus status`, by state.
    func status(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Int] {
        let result = try run(["status"] + dbArguments, sourceLocation: sourceLocation)
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        var counts: [String: Int] = [:]
        for line in result.lines {
            let cells = line.split(separator: "\t")
            if cells.count == 2, let count = Int(cells[1]) { counts[String(cells[0])] = count }
        }
        return counts
    }

    /// The one JSON object printed by `focus show ID`.
    func show(_ id: Int64, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let result = try run(["show"] + dbArguments + ["\(id)"], sourceLocation: sourceLocation)
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)",
            sourceLocation: sourceLocation)
    }

    /// A short English document.
    static let document = """
        The river town kept its records in a stone house by the bridge. Every spring the water rose and \
        the clerks carried the ledgers to the upper floor. In the year of the great flood the bridge was \
        closed for forty days, and the market moved to the hill behind the church.
        """
}
