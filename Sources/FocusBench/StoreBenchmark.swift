import FocusEngine
import FocusStore
import Foundation

/// The document store on the default model's real KV: compression of each number format, the
/// speed of reading an entry back, the time a second question saves, and the peak memory of a
/// prefill against the document's length.
struct StoreBenchmark: BenchmarkSuite {
    let name = "store"
    let title = "Document store: compression, read speed, second question, prefill memory"

    /// Decoded f32 KV per second and core that reading an entry should reach.
    static let readTarget = 1.0
    /// First question (prefill) over second question (stored KV) at the longest length.
    static let secondQuestionTarget = 20.0
    /// The embedded model whose KV is measured.
    static let modelPath = "models/focus-qa-small"

    var childCommands: [String: ([String]) throws -> ResultJSON] {
        [StoreQuestionBenchmark.childCommand: StoreQuestionBenchmark.child]
    }

    /// One number format's entry of the same document.
    struct FormatRun {
        var format: KVNumberFormat
        var tokens: Int
        var layers: Int
        var kvDim: Int
        /// Prefill seconds (f32), or seconds to encode the f32 KV again (f16, int8).
        var writeSeconds: Double
        var compressedBytes: Int64
        var decodedBytes: Int64
        var diskBytes: Int64
        /// Best of 3 reads of every layer with `readLayer`, one thread (CPU time of that thread).
        var read: Timing

        var ratio: Double { Double(decodedBytes) / Double(compressedBytes) }
        var diskRatio: Double { Double(decodedBytes) / Double(diskBytes) }
        /// Decoded f32 bytes per wall second, in GB/s (lower when others compete for the core).
        var readGBPerSecond: Double { Double(decodedBytes) / 1e9 / read.wall }
        /// Decoded f32 bytes per CPU second of the reading thread: GB/s per core.
        var readGBPerCoreSecond: Double { Double(decodedBytes) / 1e9 / read.cpu }
    }

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let modelDirectory = context.repositoryRoot.appendingPathComponent(Self.modelPath)
        let formatSet = context.quick ? "test-2k" : "test-8k"
        let formats = try measureFormats(modelDirectory: modelDirectory, set: formatSet, context: context)
        let lengths = context.quick ? ["test-2k"] : ["test-2k", "test-8k", "test-32k"]
        var questions: [StoreQuestionBenchmark.Result] = []
        for set in lengths {
            let store = try temporaryDirectory("questions-\(set)")
            defer { try? FileManager.default.removeItem(at: store) }
            context.log("store: \(set), first question (prefill) and second question (stored) in a child process")
            let file = context.repositoryRoot.appendingPathComponent("jobs/eval/\(set).jsonl")
            let report = try context.runChild(
                StoreQuestionBenchmark.childCommand, arguments: [modelDirectory.path, file.path, store.path])
            let result = try StoreQuestionBenchmark.Result(set: set, report: report)
            context.log(
                "store \(set): \(result.tokens) tokens, first \(Format.number(result.firstSeconds)) s, second \(Format.number(result.secondSeconds)) s, "
                    + "peak \(Format.bytes(result.firstPeak)) / \(Format.bytes(result.secondPeak))")
            questions.append(result)
        }
        return SuiteResult(
            tables: [
                targetTable(formats: formats, questions: questions),
                formatTable(formats, set: formatSet),
                StoreQuestionBenchmark.questionTable(questions),
                StoreQuestionBenchmark.memoryTable(questions),
            ],
            values: [
                "formats": .array(formats.map(value)),
                "questions": .array(questions.map(\.json)),
                "read_target_gb_per_second": .number(Self.readTarget),
                "second_question_target_ratio": .number(Self.secondQuestionTarget),
            ])
    }

    // MARK: - Formats and reads

    /// Prefills the first document of `set` once, in f32, and writes the same KV again as f16 and
    /// int8 entries (what a prefill in those formats would write: the writer encodes the f32 KV
    /// the model computes), then times reading every layer of each entry back.
    private func measureFormats(modelDirectory: URL, set: String, context: BenchmarkContext) throws -> [FormatRun] {
        let loaded = try LoadedModel(directory: modelDirectory)
        let example = try EvaluationDocuments.load(set, context: context)[0]
        let prompt = try QAEngine(loaded: loaded, store: nil).prompt(document: example.document, question: example.question)
        let documentIDs = Array(prompt.tokens[..<prompt.documentLength])
        let directory = try temporaryDirectory("formats")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let prefiller = DocumentPrefiller(loaded: loaded, store: store)
        var options = PrefillOptions()
        options.numberFormat = .f32
        let (exact, report) = try prefiller.prefill(documentIDs: documentIDs, options: options)
        defer { exact.close() }
        var runs = [try formatRun(exact, writeSeconds: report.seconds, context: context)]
        for format in [KVNumberFormat.f16, .int8] {
            options.numberFormat = format
            let started = Clock.now()
            let document = try reencode(exact, as: format, key: prefiller.key(documentIDs: documentIDs, options: options), store: store)
            defer { document.close() }
            runs.append(try formatRun(document, writeSeconds: Clock.now() - started, context: context))
        }
        return runs
    }

    /// Writes `source`'s KV, decoded to f32 layer by layer, as a new entry in `format`.
    private func reencode(_ source: StoredDocument, as format: KVNumberFormat, key: StoreKey, store: DocumentStore) throws -> StoredDocument {
        var header = source.manifest.header
        header.numberFormat = format
        let count = header.tokenCount * header.kvDim
        let keys = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer {
            keys.deallocate()
            values.deallocate()
        }
        return try store.write(key, header: header) { writer in
            for layer in 0..<header.layers {
                _ = try source.readLayer(layer: layer, keys: keys, values: values)
                try writer.appendLayer(
                    layer, keys: UnsafeBufferPointer(start: keys, count: count), values: UnsafeBufferPointer(start: values, count: count))
            }
            try writer.setSinks(source.manifest.sinks)
        }
    }

    private func formatRun(_ document: StoredDocument, writeSeconds: Double, context: BenchmarkContext) throws -> FormatRun {
        let manifest = document.manifest
        let run = FormatRun(
            format: manifest.numberFormat, tokens: manifest.tokenCount, layers: manifest.layers, kvDim: manifest.kvDim,
            writeSeconds: writeSeconds, compressedBytes: manifest.compressedBytes, decodedBytes: manifest.decodedBytes,
            diskBytes: try Self.bytesOnDisk(document.path), read: try readAll(document))
        context.log(
            "store \(run.format.rawValue): \(run.tokens) tokens written in \(Format.number(run.writeSeconds)) s, "
                + "ratio \(Format.number(run.ratio))×, read \(Format.number(run.readGBPerCoreSecond)) GB/s per core")
        return run
    }

    /// Best of 3 decodes of every layer of `document` into f32 buffers, on this thread.
    private func readAll(_ document: StoredDocument) throws -> Timing {
        let count = document.manifest.tokenCount * document.manifest.kvDim
        let keys = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer {
            keys.deallocate()
            values.deallocate()
        }
        var best: Timing?
        for _ in 0..<3 {
            let cpu0 = Self.threadCPU()
            let wall0 = Clock.now()
            for layer in 0..<document.manifest.layers {
                _ = try document.readLayer(layer: layer, keys: keys, values: values)
            }
            let timing = Timing(wall: Clock.now() - wall0, cpu: Self.threadCPU() - cpu0)
            if best == nil || timing.wall < best!.wall { best = timing }
        }
        return best!
    }

    /// CPU seconds used by the calling thread.
    static func threadCPU() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// Sum of the sizes of the files under `path` (the entry's blocks, keys and manifest).
    static func bytesOnDisk(_ path: String) throws -> Int64 {
        let manager = FileManager.default
        var total: Int64 = 0
        for name in try manager.subpathsOfDirectory(atPath: path) {
            let attributes = try manager.attributesOfItem(atPath: path + "/" + name)
            if attributes[.type] as? FileAttributeType == .typeRegular {
                total += (attributes[.size] as? NSNumber)?.int64Value ?? 0
            }
        }
        return total
    }

    private func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("focus-bench-store-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    // MARK: - Tables

    private func targetTable(formats: [FormatRun], questions: [StoreQuestionBenchmark.Result]) -> ResultTable {
        var rows = formats.map { run in
            [
                "read \(run.format.rawValue) entry (\(run.tokens) tokens, all layers), 1 thread",
                "\(Format.number(run.readGBPerCoreSecond)) GB/s of f32 KV per core (\(Format.number(run.readGBPerSecond)) per wall s)",
                "≥ \(Format.number(Self.readTarget)) GB/s per core",
                Format.verdict(run.readGBPerCoreSecond >= Self.readTarget),
            ]
        }
        for run in formats {
            rows.append([
                "compression \(run.format.rawValue) vs f32 KV", "\(Format.number(run.ratio))× (\(Format.number(run.diskRatio))× counting every file)",
                "—", "—",
            ])
        }
        if let longest = questions.last {
            rows.append([
                "second question at \(longest.tokens) tokens (new engine, KV from disk)",
                "\(Format.number(longest.firstSeconds)) s / \(Format.number(longest.secondSeconds)) s = \(Format.number(longest.ratio))×",
                "≥ \(Format.number(Self.secondQuestionTarget))×", Format.verdict(longest.ratio >= Self.secondQuestionTarget),
            ])
        }
        return ResultTable(title: "Targets", columns: ["Measurement", "Result", "Target", "Verdict"], rows: rows)
    }

    private func formatTable(_ runs: [FormatRun], set: String) -> ResultTable {
        let shape = runs.first.map { "\($0.tokens) tokens, \($0.layers) layers, kv dim \($0.kvDim)" } ?? ""
        return ResultTable(
            title: "Number formats: first document of \(set) (\(shape)), focus-qa-small's real KV, prefilled once in f32 "
                + "and encoded again as f16 and int8; reads from the page cache, one thread",
            columns: [
                "format", "written in s", "f32 KV", "blocks", "ratio", "all files", "ratio (all files)", "read s (best of 3)",
                "thread CPU s", "GB/s per core", "GB/s per wall s",
            ],
            rows: runs.map { run in
                [
                    run.format.rawValue, Format.number(run.writeSeconds), Format.bytes(Int(run.decodedBytes)),
                    Format.bytes(Int(run.compressedBytes)), Format.number(run.ratio) + "×", Format.bytes(Int(run.diskBytes)),
                    Format.number(run.diskRatio) + "×", Format.number(run.read.wall), Format.number(run.read.cpu),
                    Format.number(run.readGBPerCoreSecond), Format.number(run.readGBPerSecond),
                ]
            })
    }

    private func value(_ run: FormatRun) -> ResultJSON {
        .object([
            "format": .string(run.format.rawValue), "tokens": .number(Double(run.tokens)),
            "layers": .number(Double(run.layers)), "kv_dim": .number(Double(run.kvDim)),
            "write_seconds": .number(run.writeSeconds), "decoded_f32_bytes": .number(Double(run.decodedBytes)),
            "compressed_bytes": .number(Double(run.compressedBytes)), "disk_bytes": .number(Double(run.diskBytes)),
            "compression_ratio": .number(run.ratio), "disk_ratio": .number(run.diskRatio),
            "read_seconds": .number(run.read.wall), "read_thread_cpu_seconds": .number(run.read.cpu),
            "read_gb_per_second": .number(run.readGBPerSecond), "read_gb_per_core_second": .number(run.readGBPerCoreSecond),
        ])
    }
}
