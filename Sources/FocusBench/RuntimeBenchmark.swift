import FocusModel
import Foundation

/// The CPU runtime: matrix-product throughput, prefill speed, dense attention and the resident
/// memory of a streamed checkpoint, all in one process so their ratios are comparable.
struct RuntimeBenchmark: BenchmarkSuite {
    let name = "runtime"
    let title = "Runtime: sgemm, prefill, attention, memory"

    /// Linear layers should reach this share of the sgemm rate.
    static let linearTarget = 0.70
    /// Dense attention should take at most this multiple of its FLOPs at the sgemm rate.
    static let attentionTarget = 2.0
    /// Seconds one prompt length's forward may take (`--quick`: 0.5, so that every path runs); beyond it, a few layers are
    /// timed and scaled to the whole model, or, when one layer takes over half of it, the
    /// forward is composed from its timed parts.
    static func prefillBudget(quick: Bool) -> Double { quick ? 0.5 : 150 }
    /// Seconds of repeated forwards per prompt length (at most 3 runs, at least 1).
    static let repetitionBudget = 40.0

    var childCommands: [String: ([String]) throws -> ResultJSON] {
        [MemoryBenchmark.childCommand: MemoryBenchmark.child]
    }

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let prefillTokens = context.quick ? [256, 1024] : [1024, 4096, 16384]
        let denseTokens = prefillTokens.last ?? 1024

        let gemmAtStart = GemmBenchmark().run(context)

        let attention = AttentionBenchmark()
        var attentionRuns: [Int: AttentionBenchmark.Run] = [:]
        for n in prefillTokens {
            let run = attention.measure(tokens: n, repetitions: n >= 16384 ? 1 : 2)
            context.log("attention \(n)×\(n): \(Format.number(run.timing.wall)) s, \(Format.number(run.gflops)) GFLOP/s")
            attentionRuns[n] = run
        }
        let tileCosts = [32, Attention.tileRows].map { attention.tileCost(tokens: denseTokens, tileRows: $0) }

        let prefill = try PrefillBenchmark(spec: .smallPrefill, context: context)
        prefill.warmUp()
        var prefillRuns: [PrefillBenchmark.Run] = []
        let budget = Self.prefillBudget(quick: context.quick)
        for n in prefillTokens {
            let attentionPerLayer = attentionRuns[n]?.timing.wall ?? 0
            let layerSeconds = prefill.estimatedLayerSeconds(
                tokens: n, gflops: 0.5 * gemmAtStart.reference, attentionPerLayer: attentionPerLayer)
            let forwardSeconds = layerSeconds * Double(prefill.spec.layers)
            let repetitions = max(1, min(3, Int(Self.repetitionBudget / max(forwardSeconds, 1e-3))))
            let previous = prefillRuns.last
            let layers: Int
            if forwardSeconds <= budget {
                layers = prefill.spec.layers
            } else if layerSeconds <= budget / 2 || previous == nil {
                layers = max(1, Int(budget / layerSeconds))
            } else {
                layers = 0
            }
            let otherEstimate = previous.map { max(0, $0.otherSeconds) * Double(n) / Double($0.tokens) } ?? 0
            context.log(
                "prefill \(n) tokens: about \(Format.number(forwardSeconds)) s, \(repetitions) run(s) of \(layers) of \(prefill.spec.layers) layers")
            let run = try prefill.measure(
                tokens: n, repetitions: repetitions, attentionPerLayer: attentionPerLayer, measuredLayers: layers,
                otherEstimate: otherEstimate)
            context.log("prefill \(n): \(Format.number(run.tokensPerSecond)) tokens/s, linear \(Format.number(run.linearGFlops)) GFLOP/s")
            prefillRuns.append(run)
        }

        let memory = try MemoryBenchmark(tokens: context.quick ? 64 : 256).run(context)
        context.log("memory: peak \(Format.bytes(memory.peakResident)) for \(Format.bytes(memory.checkpointBytes)) of weights")

        let gemm = GemmBenchmark.best(gemmAtStart, GemmBenchmark().run(context))
        let dense = attentionRuns[denseTokens]!
        return SuiteResult(
            tables: [
                summaryTable(gemm: gemm, prefill: prefillRuns, dense: dense, memory: memory),
                prefillTable(prefillRuns, spec: prefill.spec, gemm: gemm),
                attentionTable(dense: dense, costs: tileCosts, benchmark: attention, gemm: gemm),
                memoryTable(memory),
            ],
            values: values(gemm: gemm, prefill: prefillRuns, dense: dense, costs: tileCosts, memory: memory))
    }

    // MARK: - Tables

    private func summaryTable(
        gemm: GemmBenchmark.Result, prefill: [PrefillBenchmark.Run], dense: AttentionBenchmark.Run,
        memory: MemoryBenchmark.Result
    ) -> ResultTable {
        var rows = gemm.rates.map { rate in
            ["sgemm \(rate.shape.label)", "\(Format.number(rate.gflops)) GFLOP/s", "yardstick (best of 5, at start and end)", "—"]
        }
        for run in prefill {
            let share = run.linearGFlops / gemm.reference
            rows.append([
                "linear layers, prefill \(run.tokens) tokens",
                "\(Format.number(run.linearGFlops)) GFLOP/s = \(Format.percent(share)) of sgemm",
                "≥ \(Format.percent(Self.linearTarget))", Format.verdict(share >= Self.linearTarget),
            ])
        }
        let ideal = dense.flops / (gemm.reference * 1e9)
        rows.append([
            "dense attention \(dense.tokens)×\(dense.tokens), 16 heads × 64",
            "\(Format.number(dense.timing.wall)) s = \(Format.number(dense.timing.wall / ideal))× its FLOPs at sgemm rate (\(Format.number(ideal)) s)",
            "≤ \(Format.number(Self.attentionTarget))×", Format.verdict(dense.timing.wall <= Self.attentionTarget * ideal),
        ])
        rows.append([
            "peak RSS, streamed bf16 (\(Format.bytes(memory.checkpointBytes)))",
            "\(Format.bytes(memory.peakResident)) = \(String(format: "%.3f", memory.ratio))× checkpoint",
            "≤ 1.15× + buffers (\(Format.bytes(memory.allowance)))", Format.verdict(memory.meetsTarget),
        ])
        return ResultTable(title: "Targets", columns: ["Measurement", "Result", "Target", "Verdict"], rows: rows)
    }

    private func prefillTable(_ runs: [PrefillBenchmark.Run], spec: GeneratedModelSpec, gemm: GemmBenchmark.Result) -> ResultTable {
        ResultTable(
            title: "Prefill: d \(spec.hiddenSize), \(spec.layers) layers, \(spec.heads) heads, mlp \(spec.mlp), vocab \(spec.vocabulary), weights widened to f32",
            columns: [
                "tokens", "runs", "forward s", "tokens/s", "cores busy", "linear s", "linear GFLOP/s", "% sgemm",
                "attention s", "attention GFLOP/s", "other s", "all-FLOP GFLOP/s",
            ],
            rows: runs.map { run in
                [
                    "\(run.tokens)", runsLabel(run), Format.number(run.forward.wall), Format.number(run.tokensPerSecond),
                    Format.number(run.forward.coresUsed), Format.number(run.linearSeconds), Format.number(run.linearGFlops),
                    Format.percent(run.linearGFlops / gemm.reference), Format.number(run.attentionSeconds),
                    Format.number(run.attentionGFlops), Format.number(run.otherSeconds), Format.number(run.modelGFlops),
                ]
            })
    }

    private func runsLabel(_ run: PrefillBenchmark.Run) -> String {
        if run.measuredLayers == 0 { return "0: linear + attention timed, rest scaled from the shorter prompt" }
        if run.measuredLayers < run.layers { return "1 of \(run.measuredLayers)/\(run.layers) layers, scaled" }
        return "\(run.repetitions)"
    }

    private func attentionTable(
        dense: AttentionBenchmark.Run, costs: [AttentionBenchmark.TileCost], benchmark: AttentionBenchmark,
        gemm: GemmBenchmark.Result
    ) -> ResultTable {
        var rows = costs.map { cost in
            [
                "\(cost.tileRows)-row tiles, 1 thread (projected)", Format.number(cost.scores * 1e3),
                Format.number(cost.softmax * 1e3), Format.number(cost.weighted * 1e3),
                Format.percent(cost.softmax / cost.total),
                Format.number(cost.productGFlops(tokens: dense.tokens, headDimension: benchmark.headDimension)),
                Format.number(benchmark.projectedSeconds(tokens: dense.tokens, cost: cost)),
            ]
        }
        rows.append([
            "Attention.compute, \(ComputeThreads.count) workers (measured)", "—", "—", "—", "—",
            Format.number(dense.gflops), Format.number(dense.timing.wall),
        ])
        return ResultTable(
            title: "Dense attention \(dense.tokens)×\(dense.tokens): where a tile's time goes (1-thread sgemm: \(Format.number(gemm.singleThread)) GFLOP/s)",
            columns: ["", "QKᵀ ms/tile", "softmax ms/tile", "P·V ms/tile", "softmax share", "GFLOP/s", "whole call s"],
            rows: rows)
    }

    private func memoryTable(_ memory: MemoryBenchmark.Result) -> ResultTable {
        let parameters = String(format: "%.2f B", Double(memory.parameters) / 1e9)
        return ResultTable(
            title: "Memory: \(parameters) parameters, bf16, forward over \(memory.tokens) tokens in a child process",
            columns: ["residency", "weights", "peak RSS", "RSS / weights", "allowance", "load s", "forward s"],
            rows: [
                [
                    "streamed (measured)", Format.bytes(memory.checkpointBytes), Format.bytes(memory.peakResident),
                    String(format: "%.3f", memory.ratio), Format.bytes(memory.allowance),
                    Format.number(memory.loadSeconds), Format.number(memory.forwardSeconds),
                ],
                [
                    "widened (estimate, not run)", Format.bytes(memory.checkpointBytes), Format.bytes(memory.widenedEstimate),
                    String(format: "%.3f", Double(memory.widenedEstimate) / Double(memory.checkpointBytes)), "—", "—", "—",
                ],
            ])
    }

    // MARK: - Values

    private func values(
        gemm: GemmBenchmark.Result, prefill: [PrefillBenchmark.Run], dense: AttentionBenchmark.Run,
        costs: [AttentionBenchmark.TileCost], memory: MemoryBenchmark.Result
    ) -> [String: ResultJSON] {
        var values = GemmBenchmark.values(gemm)
        values["prefill"] = .array(
            prefill.map { run in
                .object([
                    "tokens": .number(Double(run.tokens)), "repetitions": .number(Double(run.repetitions)),
                    "measured_layers": .number(Double(run.measuredLayers)), "layers": .number(Double(run.layers)),
                    "forward_seconds": .number(run.forward.wall), "cores_busy": .number(run.forward.coresUsed),
                    "tokens_per_second": .number(run.tokensPerSecond),
                    "linear_seconds": .number(run.linearSeconds), "linear_gflops": .number(run.linearGFlops),
                    "linear_share_of_sgemm": .number(run.linearGFlops / gemm.reference),
                    "attention_seconds": .number(run.attentionSeconds), "attention_gflops": .number(run.attentionGFlops),
                    "other_seconds": .number(run.otherSeconds), "all_flops_gflops": .number(run.modelGFlops),
                ])
            })
        let ideal = dense.flops / (gemm.reference * 1e9)
        values["dense_attention"] = .object([
            "tokens": .number(Double(dense.tokens)), "seconds": .number(dense.timing.wall),
            "flops": .number(dense.flops), "gflops": .number(dense.gflops),
            "seconds_at_sgemm_rate": .number(ideal), "ratio_to_sgemm_time": .number(dense.timing.wall / ideal),
            "cores_busy": .number(dense.timing.coresUsed),
            "tile_costs": .array(
                costs.map { cost in
                    .object([
                        "tile_rows": .number(Double(cost.tileRows)), "scores_seconds": .number(cost.scores),
                        "softmax_seconds": .number(cost.softmax), "weighted_seconds": .number(cost.weighted),
                    ])
                }),
        ])
        values["memory_streamed"] = .object([
            "checkpoint_bytes": .number(Double(memory.checkpointBytes)), "parameters": .number(Double(memory.parameters)),
            "peak_resident_bytes": .number(Double(memory.peakResident)),
            "resident_after_load_bytes": .number(Double(memory.residentAfterLoad)),
            "baseline_peak_bytes": .number(Double(memory.baselineResident)),
            "working_buffer_bytes": .number(Double(memory.workingBuffers)),
            "allowance_bytes": .number(Double(memory.allowance)), "ratio": .number(memory.ratio),
            "widened_estimate_bytes": .number(Double(memory.widenedEstimate)),
            "load_seconds": .number(memory.loadSeconds), "forward_seconds": .number(memory.forwardSeconds),
        ])
        return values
    }
}
