import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What the queue suite needs around the `focus` binary: the binary itself, a tiny model
/// directory it can load, short documents, and CPU-time readings of processes.
enum PipelineTools {
    // MARK: - The binary

    /// The `focus` executable next to this program, built first (same configuration) when it is
    /// missing or older than this program.
    static func focusBinary(_ context: BenchmarkContext) throws -> String {
        let own = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        let binary = own.deletingLastPathComponent().appendingPathComponent("focus").path
        if modificationDate(binary) ?? .distantPast < modificationDate(own.path) ?? .distantPast {
            let configuration = own.deletingLastPathComponent().lastPathComponent
            context.log("queue: building the focus binary (\(configuration))")
            _ = try ExternalCommand.run(
                "swift", arguments: ["build", "-c", configuration, "-Xswiftc", "-enable-testing", "--product", "focus"])
        }
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchmarkError.usage("no focus binary at \(binary) (swift build -c release --product focus)")
        }
        return binary
    }

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    // MARK: - The tiny model

    /// The random checkpoint (d 64, 2 layers, 4 heads, mlp 128, vocab 300, f32) the drain runs on.
    static let tinySpec = GeneratedModelSpec(
        hiddenSize: 64, layers: 2, heads: 4, mlp: 128, vocabulary: 300, dataType: "f32")

    /// Special ids of `Tests/Fixtures/tiny-tokenizer/tokenizer.json` the config must agree with.
    static let tinyConfigPatch: [String: Any] = [
        "mask_token_id": 299, "eos_token_id": 298, "bos_token_id": 294,
        "max_sequence_length": 8192, "prompt_attention": "block_causal",
    ]

    /// A model directory in the cache: the generated checkpoint's weights (linked), its config with
    /// the tiny tokenizer's special ids, and the tiny tokenizer. Assembled afresh on every run.
    static func tinyModel(_ context: BenchmarkContext) throws -> URL {
        let checkpoint = try tinySpec.materialize(in: context)
        let manager = FileManager.default
        let directory = context.cacheDirectory.appendingPathComponent("queue-model-" + tinySpec.directoryName)
        if manager.fileExists(atPath: directory.path) { try manager.removeItem(at: directory) }
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in try manager.contentsOfDirectory(atPath: checkpoint.path)
        where name.hasSuffix(".safetensors") || name == "model.safetensors.index.json" {
            try manager.createSymbolicLink(
                at: directory.appendingPathComponent(name), withDestinationURL: checkpoint.appendingPathComponent(name))
        }
        let configURL = checkpoint.appendingPathComponent("config.json")
        guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any] else {
            throw BenchmarkError.usage("\(configURL.path): not a JSON object")
        }
        config.merge(tinyConfigPatch) { _, patched in patched }
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("config.json"))
        try manager.copyItem(
            at: context.repositoryRoot.appendingPathComponent("Tests/Fixtures/tiny-tokenizer/tokenizer.json"),
            to: directory.appendingPathComponent("tokenizer.json"))
        return directory
    }

    // MARK: - Documents

    /// Four short English documents, a few sentences each.
    static let documents: [String] = {
        let people = ["The harbour master", "A young clerk", "The mayor", "Every fisherman", "The old miller"]
        let actions = ["counted the boats", "carried forty ledgers", "sold the salt", "repaired a stone wall", "hid seven nets"]
        let places = ["by the bridge", "near the church", "on the hill", "in the meadow", "behind the market"]
        return (0..<4).map { document in
            (0..<6).map { sentence in
                let index = document * 6 + sentence
                return "\(people[index % people.count]) \(actions[(index * 2 + 1) % actions.count]) "
                    + "\(places[(index * 3 + 2) % places.count]) in the year \(1700 + index * 7)."
            }.joined(separator: " ")
        }
    }()

    // MARK: - Processes

    /// Runs `executable arguments...`, standard error into `log`; returns standard output and
    /// throws with the log's tail when the exit status is not 0.
    static func run(_ executable: String, _ arguments: [String], log: URL) throws -> String {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        defer { try? logHandle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = logHandle
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let logText = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw BenchmarkError.commandFailed(
                command: ([executable] + arguments).joined(separator: " "), status: process.terminationStatus,
                output: String(decoding: output, as: UTF8.self) + logText)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// User + system CPU seconds of the waited-for children of this process.
    static func childrenCPU() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) * 1e-6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// User + system CPU seconds of process `pid` (`/proc/PID/stat` fields 14 and 15), or nil
    /// when it is gone.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name start at field 3 (state).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / clockTicks
    }

    /// Clock ticks per second, the unit of `/proc/PID/stat` CPU times.
    static let clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))
}
