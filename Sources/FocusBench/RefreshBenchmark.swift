import FocusDecoding
import FocusModel
import Foundation

/// What the block-start refresh costs a bidirectional model in `cached` mode at 8K tokens.
///
/// Fast-dLLM's `full` refresh recomputes the whole prompt at every block start, so an answer of
/// four blocks of 8 pays four forwards over the document where one block of 32 pays one. The
/// `after-document` refresh computes the document's KV once and recomputes only the question
/// and answer rows at block starts (an approximation for bidirectional models, whose document
/// rows would otherwise see the answer as it fills in). The suite times both refreshes at block
/// lengths 8 and 32, same steps and one token a step, on a generated bidirectional checkpoint.
struct RefreshBenchmark: BenchmarkSuite {
    let name = "refresh"
    let title = "Block-start refresh of a bidirectional model: cached decoding at block length 8 against 32"

    /// Block length 8 with the document-keeping refresh should take at most this many times
    /// block length 32 (whose one block start is a full forward either way).
    static let target = 1.3

    /// One block length and refresh.
    struct Run {
        var blockLength: Int
        var refresh: CacheRefresh
        var seconds: Double
        var forwardPasses: Int
        var tokens: [Int32]
    }

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        var spec = context.quick
            ? GeneratedModelSpec(hiddenSize: 256, layers: 4, heads: 4, mlp: 768, vocabulary: 4096)
            : GeneratedModelSpec.smallPrefill
        spec.maxSequenceLength = 16_384
        let model = try TransformerModel(directory: try spec.materialize(in: context))
        guard model.configuration.promptAttention != .blockCausal else {
            throw BenchmarkError.usage("\(spec.directoryName) is block-causal; the refresh suite needs a bidirectional model")
        }
        let documentLength = context.quick ? 1024 : 8192
        let answerLength = 32
        var generator = SplitMix64(seed: 11)
        let tokens = generator.benchmarkTokens(documentLength + 16)
        let prompt = DecodingPrompt(tokens: tokens, documentLength: documentLength)

        var runs: [Run] = []
        for blockLength in [32, 8] {
            for refresh in [CacheRefresh.full, .afterDocument] {
                var parameters = DecodingParameters(mode: .cached)
                parameters.generationLength = answerLength
                parameters.blockLength = blockLength
                parameters.steps = answerLength
                parameters.threshold = nil
                parameters.refresh = refresh
                context.log("cached, block length \(blockLength), refresh \(refresh.rawValue), \(documentLength) tokens")
                let started = Clock.now()
                let result = try BlockDecoder(model: model).decode(prompt, parameters: parameters)
                let seconds = Clock.now() - started
                context.log("  \(Format.number(seconds)) s, \(result.forwardPasses) forwards")
                runs.append(
                    Run(blockLength: blockLength, refresh: refresh, seconds: seconds, forwardPasses: result.forwardPasses,
                        tokens: result.generatedTokens))
            }
        }
        return report(runs, spec: spec, documentLength: documentLength)
    }

    private func report(_ runs: [Run], spec: GeneratedModelSpec, documentLength: Int) -> SuiteResult {
        let baseline = runs.first { $0.blockLength == 32 && $0.refresh == .full }
        func same(_ run: Run) -> Run? { runs.first { $0.blockLength == run.blockLength && $0.refresh == .full } }
        var values: [String: ResultJSON] = [
            "model": .string(spec.directoryName), "document_tokens": .number(Double(documentLength)),
            "target_ratio": .number(Self.target),
        ]
        var rows: [[String]] = []
        for run in runs {
            let ratio = baseline.map { run.seconds / $0.seconds } ?? .nan
            let identical = same(run).map { $0.tokens == run.tokens } ?? false
            values["block\(run.blockLength)_\(run.refresh.rawValue)"] = .object([
                "seconds": .number(run.seconds), "forward_passes": .number(Double(run.forwardPasses)),
                "ratio_to_block32_full": .number(ratio), "same_tokens_as_full_refresh": .bool(identical),
            ])
            let meets = run.blockLength == 8 && run.refresh == .afterDocument
                ? (ratio <= Self.target ? " (≤ \(Self.target)×: met)" : " (≤ \(Self.target)×: missed)") : ""
            rows.append([
                "\(run.blockLength)", run.refresh.rawValue, Format.number(run.seconds), "\(run.forwardPasses)",
                String(format: "%.2f×", ratio) + meets, identical ? "yes" : "no",
            ])
        }
        let table = ResultTable(
            title: "\(spec.directoryName) (bidirectional), \(documentLength)-token document, 32-token answer, "
                + "32 steps of one token",
            columns: ["block length", "refresh", "seconds", "forwards", "time vs block 32 full", "tokens as full refresh"],
            rows: rows)
        return SuiteResult(tables: [table], values: values)
    }
}
