import Foundation

// MARK: - Options

/// `focus-bench [--out DIR] [--cache DIR] [--only NAME,...] [--quick]`, or
/// `focus-bench --child COMMAND ARGS...` (used by suites to measure in a fresh process).
struct BenchmarkOptions {
    var output = URL(fileURLWithPath: "bench-results")
    var cache = URL(
        fileURLWithPath: ProcessInfo.processInfo.environment["FOCUS_BENCH_CACHE"] ?? "/tmp/focus-bench-cache")
    var only: Set<String>?
    var quick = false
    var child: (command: String, arguments: [String])?

    static let usage = """
        focus-bench [--out DIR] [--cache DIR] [--only SUITE,...] [--quick]
          --out DIR     results: <suite>.json and <suite>.md (default bench-results)
          --cache DIR   generated checkpoints, reused between runs (default $FOCUS_BENCH_CACHE
                        or /tmp/focus-bench-cache)
          --only LIST   suites to run, comma-separated (known: \(BenchmarkRegistry.suites.map(\.name).joined(separator: ", ")))
          --quick       small sizes: checks the benchmark code, measures nothing worth keeping
        """

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw BenchmarkError.usage("\(flag) needs a value\n\(Self.usage)") }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--out": output = URL(fileURLWithPath: try value(argument))
            case "--cache": cache = URL(fileURLWithPath: try value(argument))
            case "--only": only = Set(try value(argument).split(separator: ",").map(String.init))
            case "--quick": quick = true
            case "--child":
                child = (try value(argument), Array(rest))
                rest = []
            case "--help", "-h": throw BenchmarkError.usage(Self.usage)
            default: throw BenchmarkError.usage("unknown argument \(argument)\n\(Self.usage)")
            }
        }
        let known = Set(BenchmarkRegistry.suites.map(\.name))
        if let unknown = only?.subtracting(known).sorted().first {
            throw BenchmarkError.usage("no suite named \(unknown) (known: \(known.sorted().joined(separator: ", ")))")
        }
    }
}

// MARK: - Running

/// Runs the selected suites, writing each one's JSON and Markdown and printing its tables.
func runSuites(_ options: BenchmarkOptions) throws {
    let context = BenchmarkContext(
        outputDirectory: options.output, cacheDirectory: options.cache,
        repositoryRoot: URL(fileURLWithPath: FileManager.default.currentDirectoryPath), quick: options.quick)
    try FileManager.default.createDirectory(at: options.output, withIntermediateDirectories: true)
    for suite in BenchmarkRegistry.suites where options.only?.contains(suite.name) ?? true {
        context.log("suite \(suite.name)\(options.quick ? " (quick)" : "")")
        let machine = MachineFacts.collect()
        let started = Clock.now()
        let result = try suite.run(context)
        let seconds = Clock.now() - started
        var facts = machine
        facts["load_average_1min_after"] = .number(MachineFacts.loadAverage())
        let document: ResultJSON = .object([
            "suite": .string(suite.name), "quick": .bool(options.quick), "machine": .object(facts),
            "duration_seconds": .number(seconds), "results": .object(result.values),
            "tables": .array(result.tables.map(\.json)),
        ])
        let markdown = (["## \(suite.title)", "", MachineFacts.summary(machine) + String(format: "; %.0f s.", seconds)]
            + result.tables.map { "\n" + $0.markdown }).joined(separator: "\n") + "\n"
        try document.text.write(
            to: options.output.appendingPathComponent("\(suite.name).json"), atomically: true, encoding: .utf8)
        try markdown.write(to: options.output.appendingPathComponent("\(suite.name).md"), atomically: true, encoding: .utf8)
        print(markdown)
    }
}

/// Runs one suite's child command and prints its JSON result as the last line.
func runChild(_ command: String, arguments: [String]) throws {
    for suite in BenchmarkRegistry.suites {
        if let body = suite.childCommands[command] {
            let result = try body(arguments)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
    }
    throw BenchmarkError.unknownChild(command)
}

do {
    let options = try BenchmarkOptions(Array(CommandLine.arguments.dropFirst()))
    if let child = options.child {
        try runChild(child.command, arguments: child.arguments)
    } else {
        try runSuites(options)
    }
} catch {
    FileHandle.standardError.write(Data("focus-bench: \(error)\n".utf8))
    exit(1)
}
