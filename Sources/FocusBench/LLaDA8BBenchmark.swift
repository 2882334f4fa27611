import FocusModel
import Foundation

/// LLaDA-8B's layer shapes (d 4096, 32 heads, MLP 12,288, vocabulary 126,464) on a generated
/// two-layer bf16 checkpoint and its 8-bit copy (`focus quantize`): per-layer prefill and
/// decoding-step times, extrapolated to LLaDA-8B's 32 layers, and the step's weight bytes
/// against a measured copy bandwidth.
struct LLaDA8BBenchmark: BenchmarkSuite {
    let name = "llada8b"
    let title = "LLaDA-8B layer shapes: bf16 and int8 weights"

    /// Layers of the real model that the per-layer times are scaled to.
    static let realLayers = 32
    /// An 8-bit decoding step should be at least this many times faster than a bf16 one.
    static let int8Target = 1.8

    /// One weight format's measurements.
    struct Run {
        var format: String
        var rows: Int
        var layerWeightBytes: Int
        var headWeightBytes: Int
        var prefillPerLayer: Double
        var stepPerLayer: Double
        var head: Double
        /// A decoding step of the real model: 32 layers and the head over the active rows.
        var step: Double { Double(LLaDA8BBenchmark.realLayers) * stepPerLayer + head }
        var stepBytes: Int { LLaDA8BBenchmark.realLayers * layerWeightBytes + headWeightBytes }
    }

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let spec = context.quick
            ? GeneratedModelSpec(hiddenSize: 256, layers: 2, heads: 4, mlp: 768, vocabulary: 4096)
            : GeneratedModelSpec(hiddenSize: 4096, layers: 2, heads: 32, mlp: 12_288, vocabulary: 126_464)
        let (prompt, activeCounts) = context.quick ? (128, [8, 32]) : (1024, [8, 32])
        let bf16 = try spec.materialize(in: context)
        let int8 = bf16.deletingLastPathComponent().appendingPathComponent(bf16.lastPathComponent + "-int8")
        if !FileManager.default.fileExists(atPath: int8.appendingPathComponent("config.json").path) {
            try? FileManager.default.removeItem(at: int8)
            let started = Clock.now()
            let summary = try ModelQuantizer.quantize(model: bf16, to: int8)
            context.log("quantized \(summary.quantizedTensors) tensors in \(Format.number(Clock.now() - started)) s")
        }
        let bandwidth = CopyBandwidth.measure(bytes: context.quick ? 64 << 20 : 1 << 30)
        context.log("copy bandwidth: \(Format.number(bandwidth / 1e9)) GB/s")
        var runs: [Run] = []
        for (format, directory) in [("bf16", bf16), ("int8", int8)] {
            let model = try TransformerModel(directory: directory, residency: .streamed)
            let cache = prefill(model, spec: spec, prompt: prompt)
            context.log("\(format): prefill \(Format.number(cache.seconds)) s/layer")
            for active in activeCounts {
                let run = measure(model, format: format, spec: spec, kv: cache, active: active)
                context.log("\(format), \(active) rows: step \(Format.number(run.step)) s (extrapolated)")
                runs.append(run)
            }
        }
        return SuiteResult(
            tables: [table(runs, spec: spec, prompt: prompt, bandwidth: bandwidth)],
            values: values(runs, bandwidth: bandwidth))
    }

    /// Layer 0 over a `prompt`-token prefill (timed once) and the KV it produced.
    func prefill(_ model: TransformerModel, spec: GeneratedModelSpec, prompt: Int) -> (keys: Matrix, values: Matrix, seconds: Double) {
        let d = spec.hiddenSize
        let hidden = Matrix(rows: prompt, columns: d)
        let input = RandomMatrix.make(count: prompt * d, seed: 41, scale: 0.1)
        defer { input.deallocate() }
        hidden.data.update(from: input, count: prompt * d)
        var kv: (keys: Matrix, values: Matrix)?
        let timing = Timing.measure {
            kv = model.runLayer(0, hidden: hidden, positions: (0..<prompt).map(Int32.init))
        }
        return (kv!.keys, kv!.values, timing.wall)
    }

    /// Times a step of `active` rows through layer 1 attending to the prefill's KV, and the head
    /// over the active rows; best of 3.
    func measure(
        _ model: TransformerModel, format: String, spec: GeneratedModelSpec,
        kv cache: (keys: Matrix, values: Matrix, seconds: Double), active: Int
    ) -> Run {
        let d = spec.hiddenSize
        let prompt = cache.keys.rows
        let input = RandomMatrix.make(count: active * d, seed: 41, scale: 0.1)
        defer { input.deallocate() }
        let context = [KVSegment(keys: cache.keys.data, values: cache.values.data, rows: prompt, stride: cache.keys.columns)]
        let rows = Matrix(rows: active, columns: d)
        let positions = (0..<active).map { Int32(prompt + $0) }
        let step = Timing.best(of: 3) {
            rows.data.update(from: input, count: active * d)
            model.runLayer(1, hidden: rows, positions: positions, context: context)
        }
        let head = Timing.best(of: 3) { _ = model.logits(hidden: rows, rows: Array(0..<active)) }
        let bytesPerWeight = format == "int8" ? 1.0 + 4.0 / Double(Int8Weight.blockSize) : 2.0
        let layerParameters = 4 * d * d + 3 * d * spec.mlp
        return Run(
            format: format, rows: active, layerWeightBytes: Int(Double(layerParameters) * bytesPerWeight),
            headWeightBytes: Int(Double(spec.vocabulary * d) * bytesPerWeight),
            prefillPerLayer: cache.seconds, stepPerLayer: step.wall, head: head.wall)
    }

    private func table(_ runs: [Run], spec: GeneratedModelSpec, prompt: Int, bandwidth: Double) -> ResultTable {
        ResultTable(
            title: "d \(spec.hiddenSize), \(spec.heads) heads, MLP \(spec.mlp), vocabulary \(spec.vocabulary); "
                + "\(spec.layers) generated layers, times per layer measured and EXTRAPOLATED to \(Self.realLayers) layers; "
                + "prefill \(prompt) tokens, step of the active rows against \(prompt) cached; "
                + "copy bandwidth \(Format.number(bandwidth / 1e9)) GB/s",
            columns: [
                "weights", "active rows", "prefill s/layer", "prefill s ×\(Self.realLayers) (extrapolated)", "step s/layer", "head s",
                "step s ×\(Self.realLayers) + head (extrapolated)", "weight GB/step", "% of bandwidth limit",
                "step speed vs bf16", "target",
            ],
            rows: runs.map { run in
                let limit = Double(run.stepBytes) / bandwidth
                let speedup = runs.first { $0.format == "bf16" && $0.rows == run.rows }.map { $0.step / run.step } ?? 1
                return [
                    run.format, "\(run.rows)", Format.number(run.prefillPerLayer), Format.number(Double(Self.realLayers) * run.prefillPerLayer),
                    Format.number(run.stepPerLayer), Format.number(run.head), Format.number(run.step),
                    Format.number(Double(run.stepBytes) / 1e9), Format.percent(limit / run.step),
                    String(format: "%.2f×", speedup),
                    run.format == "int8"
                        ? "≥ \(Format.number(Self.int8Target))×: \(Format.verdict(speedup >= Self.int8Target))" : "—",
                ]
            })
    }

    private func values(_ runs: [Run], bandwidth: Double) -> [String: ResultJSON] {
        var values: [String: ResultJSON] = ["copy_bandwidth_bytes_per_second": .number(bandwidth)]
        for run in runs {
            values["\(run.format)_rows\(run.rows)"] = .object([
                "prefill_seconds_per_layer": .number(run.prefillPerLayer), "step_seconds_per_layer": .number(run.stepPerLayer),
                "head_seconds": .number(run.head), "step_seconds_extrapolated_32_layers": .number(run.step),
                "step_weight_bytes": .number(Double(run.stepBytes)),
                "share_of_bandwidth_limit": .number(Double(run.stepBytes) / bandwidth / run.step),
            ])
        }
        return values
    }
}

/// `memcpy` throughput of a buffer far larger than the caches: bytes copied per second.
enum CopyBandwidth {
    /// A byte of every copy, kept so that no copy can be optimised away.
    nonisolated(unsafe) static var sink: UInt8 = 0

    static func measure(bytes: Int) -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer {
            source.deallocate()
            target.deallocate()
        }
        source.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        target.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        var round: UInt8 = 1
        let timing = Timing.best(of: 3) {
            source.storeBytes(of: round, toByteOffset: bytes - 1, as: UInt8.self)
            memcpy(target, source, bytes)
            sink = sink &+ target.load(fromByteOffset: bytes - 1, as: UInt8.self)
            round &+= 1
        }
        return Double(bytes) / timing.wall
    }
}
