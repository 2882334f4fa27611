import FocusDecoding
import FocusModel
import Foundation

/// Sixteen questions about one document at LLaDA-8B's layer shapes (the generated two-layer
/// checkpoint of the `llada8b` suite, bf16 and its 8-bit copy): decoded one after another
/// against together, in `stored` mode, same tokens required. A step of one question reads every
/// weight for a few rows; together, the sixteen questions' rows share one read. Two row counts:
/// Focus's defaults (two predicted positions widened by one neighbour: about 7 rows a step),
/// where sixteen questions together make a step compute-bound, and one row a step, where it
/// stays bound by reading the weights.
struct LLaDA8BBatchBenchmark: BenchmarkSuite {
    let name = "llada8b-batch"
    let title = "LLaDA-8B layer shapes: sixteen questions about one document, one at a time against together"

    /// Questions per second together should be at least this multiple of one at a time.
    static let target = 8.0

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let spec = context.quick
            ? GeneratedModelSpec(hiddenSize: 256, layers: 2, heads: 4, mlp: 768, vocabulary: 4096)
            : GeneratedModelSpec(hiddenSize: 4096, layers: 2, heads: 32, mlp: 12_288, vocabulary: 126_464)
        let (documentLength, answerLength, questions) = context.quick ? (128, 4, 4) : (512, 8, 16)
        let bf16 = try spec.materialize(in: context)
        let int8 = bf16.deletingLastPathComponent().appendingPathComponent(bf16.lastPathComponent + "-int8")
        if !FileManager.default.fileExists(atPath: int8.appendingPathComponent("config.json").path) {
            try? FileManager.default.removeItem(at: int8)
            _ = try ModelQuantizer.quantize(model: bf16, to: int8)
        }
        var runs: [(label: String, key: String, run: BatchBenchmark.Run)] = []
        for (format, directory) in [("bf16", bf16), ("int8", int8)] {
            let model = try TransformerModel(directory: directory, residency: .streamed)
            var generator = SplitMix64(seed: 5)
            let document = generator.benchmarkTokens(documentLength)
            context.log("\(format): prefilling a \(documentLength)-token document")
            let source = model.prefilledDocument(document)
            let prompts = (0..<questions).map { _ in
                DecodingPrompt(tokens: document + generator.benchmarkTokens(16), documentLength: documentLength)
            }
            for (rowsLabel, predicted, window) in [("Focus defaults", 2, 1), ("one row a step", 1, 0)] {
                var parameters = DecodingParameters(mode: .stored)
                parameters.threshold = nil
                parameters.generationLength = answerLength
                parameters.blockLength = answerLength
                parameters.steps = answerLength
                parameters.focus.blockSize = 64
                parameters.focus.predictedCount = predicted
                parameters.focus.window = window
                let label = "\(format), \(rowsLabel) (predicted \(predicted), window \(window))"
                let run = try BatchBenchmark().measure(
                    label, model: model, source: source, prompts: prompts,
                    parameters: parameters, context: context, repetitions: 1)
                context.log("\(label): \(String(format: "%.2f", run.speedup))× together")
                runs.append((label, "\(format)_predicted\(predicted)_window\(window)", run))
            }
        }
        let table = ResultTable(
            title: "d \(spec.hiddenSize), \(spec.layers) generated layers, \(spec.heads) heads, MLP \(spec.mlp), vocabulary "
                + "\(spec.vocabulary), weights streamed; \(documentLength)-token document, \(questions) questions, "
                + "\(answerLength)-token answers, one token a step; one run each",
            columns: [
                "weights, rows a step", "questions", "q/s one at a time", "q/s together", "speedup", "same tokens",
                "row-layers computed (alone / together)", "target",
            ],
            rows: runs.map { label, _, run in
                [
                    label, "\(run.questions)", Format.number(Double(run.questions) / run.sequentialSeconds),
                    Format.number(Double(run.questions) / run.batchedSeconds), String(format: "%.2f×", run.speedup),
                    run.identical ? "yes" : "no", "\(run.computedRowsSequential) / \(run.computedRowsBatched)",
                    "≥ \(Format.number(Self.target))×: \(Format.verdict(run.speedup >= Self.target && run.identical))",
                ]
            })
        var values: [String: ResultJSON] = ["model": .string(spec.directoryName)]
        for (_, key, run) in runs {
            values[key] = .object([
                "questions": .number(Double(run.questions)), "sequential_seconds": .number(run.sequentialSeconds),
                "batched_seconds": .number(run.batchedSeconds), "speedup": .number(run.speedup),
                "identical_tokens": .bool(run.identical),
                "computed_rows_sequential": .number(Double(run.computedRowsSequential)),
                "computed_rows_batched": .number(Double(run.computedRowsBatched)),
            ])
        }
        return SuiteResult(tables: [table], values: values)
    }
}
