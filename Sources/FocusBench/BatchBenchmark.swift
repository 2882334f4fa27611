import FocusDecoding
import FocusModel
import Foundation

/// Many questions about one document: decoded one after another (`BlockDecoder`) against decoded
/// together (`BatchDecoder`), on a generated model large enough that a decoding step is bound by
/// reading the weights, as LLaDA-8B's steps are on a CPU. Both read the same document KV, held in
/// memory so that only decoding is timed.
struct BatchBenchmark: BenchmarkSuite {
    let name = "batch"
    let title = "Batched (FOCUS) decoding: questions per second, one at a time against together"

    /// One configuration's timings.
    struct Run {
        var label: String
        var questions: Int
        var sequentialSeconds: Double
        var batchedSeconds: Double
        var identical: Bool
        var evictedRows: Int
        var computedRowsSequential: Int
        var computedRowsBatched: Int
        var speedup: Double { sequentialSeconds / batchedSeconds }
    }

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let spec = context.quick
            ? GeneratedModelSpec(hiddenSize: 256, layers: 4, heads: 4, mlp: 768, vocabulary: 4096)
            : GeneratedModelSpec.smallPrefill
        let model = try TransformerModel(directory: try spec.materialize(in: context))
        let documentLength = context.quick ? 256 : 1024
        var generator = SplitMix64(seed: 3)
        let document = generator.benchmarkTokens(documentLength)
        context.log("prefilling a \(documentLength)-token document on \(spec.directoryName)")
        let source = model.prefilledDocument(document)
        let sizes = context.quick ? [4] : [4, 16]
        var runs: [Run] = []
        for count in sizes {
            let prompts = (0..<count).map { _ in DecodingPrompt(tokens: document + generator.benchmarkTokens(16), documentLength: documentLength) }
            var focus = DecodingParameters(mode: .stored)
            focus.threshold = nil
            focus.focus.blockSize = 64
            runs.append(try measure("stored (Focus sparse)", model: model, source: source, prompts: prompts, parameters: focus, context: context))
            var cached = DecodingParameters(mode: .cached)
            cached.threshold = nil
            runs.append(try measure("cached", model: model, source: source, prompts: prompts, parameters: cached, context: context))
            cached.eviction = EvictionParameters()
            runs.append(try measure("cached + eviction 1.5×", model: model, source: source, prompts: prompts, parameters: cached, context: context))
        }
        var values: [String: ResultJSON] = [
            "model": .string(spec.directoryName), "document_tokens": .number(Double(documentLength)),
        ]
        var rows: [[String]] = []
        for run in runs {
            let key = "\(run.label.replacingOccurrences(of: " ", with: "_"))_n\(run.questions)"
            values[key] = .object([
                "questions": .number(Double(run.questions)), "sequential_seconds": .number(run.sequentialSeconds),
                "batched_seconds": .number(run.batchedSeconds), "speedup": .number(run.speedup),
                "identical_tokens": .bool(run.identical), "evicted_rows": .number(Double(run.evictedRows)),
                "computed_rows_sequential": .number(Double(run.computedRowsSequential)),
                "computed_rows_batched": .number(Double(run.computedRowsBatched)),
            ])
            rows.append([
                run.label, "\(run.questions)",
                Format.number(Double(run.questions) / run.sequentialSeconds), Format.number(Double(run.questions) / run.batchedSeconds),
                String(format: "%.2f×", run.speedup), run.identical ? "yes" : "no",
                "\(run.computedRowsSequential) / \(run.computedRowsBatched)",
            ])
        }
        let table = ResultTable(
            title: "\(spec.directoryName), \(documentLength)-token document, 16-token answers, one token a step",
            columns: ["mode", "questions", "q/s one at a time", "q/s together", "speedup", "same tokens", "rows computed (alone / together)"],
            rows: rows)
        return SuiteResult(tables: [table], values: values)
    }

    /// Times the questions one at a time, then together (each best of `repetitions`), and
    /// compares tokens.
    func measure(
        _ label: String, model: TransformerModel, source: DocumentKVSource, prompts: [DecodingPrompt],
        parameters: DecodingParameters, context: BenchmarkContext, repetitions: Int = 2
    ) throws -> Run {
        context.log("\(label): \(prompts.count) questions")
        var alone: [DecodingResult] = []
        var together: [DecodingResult] = []
        var sequential = Double.infinity
        var batched = Double.infinity
        for _ in 0..<repetitions {
            let t0 = Clock.now()
            alone = try prompts.map { try BlockDecoder(model: model, documentSource: source).decode($0, parameters: parameters) }
            let t1 = Clock.now()
            together = try BatchDecoder(model: model, documentSource: source).decode(prompts, parameters: parameters)
            let t2 = Clock.now()
            sequential = min(sequential, t1 - t0)
            batched = min(batched, t2 - t1)
        }
        return Run(
            label: label, questions: prompts.count, sequentialSeconds: sequential, batchedSeconds: batched,
            identical: alone.map(\.generatedTokens) == together.map(\.generatedTokens),
            evictedRows: together.reduce(0) { $0 + $1.evictedRows },
            computedRowsSequential: alone.reduce(0) { $0 + $1.computedRows },
            computedRowsBatched: together.reduce(0) { $0 + $1.computedRows })
    }
}
