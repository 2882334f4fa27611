import FocusModel
import Foundation

/// Attention and prefill against the matrix-product rate: the fused kernel beside the streaming
/// kernel it replaced, each timed in the same process, so that the ratios between them and to
/// `cblas_sgemm` measured at the start of the suite are comparable.
struct FusedAttentionBenchmark: BenchmarkSuite {
    let name = "fused"
    let title = "Fused attention: attention and prefill as a share of the sgemm rate"

    /// Prefill (all FLOPs over wall time) should reach this share of the sgemm rate.
    static let prefillTarget = 0.70
    /// Layers of the d 1024 model a prefill runs before its time is scaled to all layers.
    static let measuredLayers = 2

    /// One kernel's attention call over `tokens` rows.
    struct AttentionRun {
        var pattern: String
        var tokens: Int
        var kernel: Attention.Kernel
        var seconds: Double
        /// FLOPs of the full `n × n` product pair (masked or not), so patterns compare by time.
        var flops: Double
        var gflops: Double { flops / seconds / 1e9 }
    }

    /// Times both kernels; the sgemm yardstick is the better of runs at the start and the end
    /// of the suite, as in the runtime suite.
    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let tokens = context.quick ? [512, 1024] : [8192, 16384]
        let kernels: [Attention.Kernel] = [.streaming, .fused]
        let saved = Attention.kernel
        defer { Attention.kernel = saved }
        let gemmAtStart = GemmBenchmark().run(context)

        var attention: [AttentionRun] = []
        let dense = AttentionBenchmark()
        for n in tokens {
            for pattern in ["dense", "block-causal 32"] {
                let visible: [Int32]? = pattern == "dense" ? nil : (0..<n).map { Int32(min(n, ($0 / 32 + 1) * 32)) }
                for kernel in kernels {
                    Attention.kernel = kernel
                    let timing = dense.time(tokens: n, visibleKeys: visible, repetitions: n >= 16384 ? 1 : 2)
                    let run = AttentionRun(
                        pattern: pattern, tokens: n, kernel: kernel, seconds: timing.wall,
                        flops: 4 * Double(n) * Double(n) * Double(dense.width))
                    context.log("attention \(pattern) \(n), \(kernel.rawValue): \(Format.number(run.seconds)) s")
                    attention.append(run)
                }
            }
        }

        let prefill = try PrefillBenchmark(spec: .smallPrefill, context: context)
        let layers = context.quick ? prefill.spec.layers : Self.measuredLayers
        prefill.warmUp()
        var prefills: [(Attention.Kernel, PrefillBenchmark.Run)] = []
        for n in tokens {
            for kernel in kernels {
                Attention.kernel = kernel
                let run = try prefill.measure(
                    tokens: n, repetitions: 1, attentionPerLayer: 0,
                    measuredLayers: layers, otherEstimate: 0)
                context.log("prefill \(n), \(kernel.rawValue): \(Format.number(run.forward.wall)) s")
                prefills.append((kernel, run))
            }
        }
        let gemm = GemmBenchmark.best(gemmAtStart, GemmBenchmark().run(context))
        return SuiteResult(
            tables: [
                attentionTable(attention, gemm: gemm),
                prefillTable(prefills, spec: prefill.spec, measuredLayers: layers, gemm: gemm),
            ],
            values: values(attention, prefills, gemm: gemm))
    }

    private func attentionTable(_ runs: [AttentionRun], gemm: GemmBenchmark.Result) -> ResultTable {
        ResultTable(
            title: "Attention, 16 heads × 64 (sgemm \(Format.number(gemm.reference)) GFLOP/s in this run)",
            columns: ["pattern", "tokens", "kernel", "s", "full-product GFLOP/s", "% sgemm", "time vs streaming"],
            rows: runs.map { run in
                let baseline = runs.first { $0.pattern == run.pattern && $0.tokens == run.tokens && $0.kernel == .streaming }
                return [
                    run.pattern, "\(run.tokens)", run.kernel.rawValue, Format.number(run.seconds),
                    Format.number(run.gflops), Format.percent(run.gflops / gemm.reference),
                    baseline.map { String(format: "%.2f×", run.seconds / $0.seconds) } ?? "—",
                ]
            })
    }

    private func prefillTable(
        _ runs: [(Attention.Kernel, PrefillBenchmark.Run)], spec: GeneratedModelSpec, measuredLayers: Int,
        gemm: GemmBenchmark.Result
    ) -> ResultTable {
        ResultTable(
            title: "Prefill, d \(spec.hiddenSize), \(spec.layers) layers, \(spec.heads) heads, mlp \(spec.mlp): "
                + "\(measuredLayers) layers timed and scaled to \(spec.layers)",
            columns: ["tokens", "kernel", "forward s", "tokens/s", "all-FLOP GFLOP/s", "% sgemm", "target", "verdict"],
            rows: runs.map { kernel, run in
                let share = run.modelGFlops / gemm.reference
                return [
                    "\(run.tokens)", kernel.rawValue, Format.number(run.forward.wall), Format.number(run.tokensPerSecond),
                    Format.number(run.modelGFlops), Format.percent(share), "≥ \(Format.percent(Self.prefillTarget))",
                    kernel == .fused ? Format.verdict(share >= Self.prefillTarget) : "baseline",
                ]
            })
    }

    private func values(
        _ attention: [AttentionRun], _ prefills: [(Attention.Kernel, PrefillBenchmark.Run)], gemm: GemmBenchmark.Result
    ) -> [String: ResultJSON] {
        var values = GemmBenchmark.values(gemm)
        values["attention"] = .array(
            attention.map { run in
                .object([
                    "pattern": .string(run.pattern), "tokens": .number(Double(run.tokens)),
                    "kernel": .string(run.kernel.rawValue), "seconds": .number(run.seconds),
                    "share_of_sgemm": .number(run.gflops / gemm.reference),
                ])
            })
        values["prefill"] = .array(
            prefills.map { kernel, run in
                .object([
                    "tokens": .number(Double(run.tokens)), "kernel": .string(kernel.rawValue),
                    "measured_layers": .number(Double(run.measuredLayers)), "layers": .number(Double(run.layers)),
                    "forward_seconds": .number(run.forward.wall), "all_flops_gflops": .number(run.modelGFlops),
                    "share_of_sgemm": .number(run.modelGFlops / gemm.reference),
                ])
            })
        return values
    }
}

extension AttentionBenchmark {
    /// Best wall time of `Attention.compute` over `n` rows against the same `n` keys under
    /// `visibleKeys`, with whichever kernel `Attention.kernel` selects.
    func time(tokens n: Int, visibleKeys: [Int32]?, repetitions: Int) -> Timing {
        let q = RandomMatrix.make(count: n * width, seed: 11)
        let k = RandomMatrix.make(count: n * width, seed: 12)
        let v = RandomMatrix.make(count: n * width, seed: 13)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: n * width)
        defer { [q, k, v, out].forEach { $0.deallocate() } }
        let segment = KVSegment(keys: k, values: v, rows: n, stride: width)
        return Timing.best(of: repetitions) {
            Attention.compute(
                queries: q, rows: n, segments: [segment], headCount: heads, kvHeadCount: heads,
                headDimension: headDimension, options: AttentionOptions(visibleKeys: visibleKeys), output: out)
        }
    }
}
