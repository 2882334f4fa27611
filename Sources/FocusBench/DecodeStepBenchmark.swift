import FocusModel
import Foundation

/// A `stored`-mode decoding step at 8K tokens against the memory-bandwidth limit: every layer
/// over the step's few active rows (the first `FocusParameters.denseLayers` layers attending to
/// the whole document KV, the others to sinks and kept blocks), then the head over the rows
/// whose logits are used. The limit is the weight bytes a step reads divided by a copy
/// bandwidth measured in the same run. The few-row kernel and the `cblas_sgemm` path it
/// replaced are timed side by side, f32 and bf16 weights.
struct DecodeStepBenchmark: BenchmarkSuite {
    let name = "decodestep"
    let title = "Stored-mode decoding step at 8K tokens against the memory-bandwidth limit"

    /// A step should reach this share of the bandwidth limit.
    static let target = 0.70
    /// Layers attending to the whole document; the others see sinks and kept blocks.
    static let denseLayers = 2
    /// Sink rows and kept 64-row blocks of a sparse layer (the `stored` mode's defaults).
    static let sinks = 16
    static let keptBlocks = 8
    static let blockRows = 64

    /// One weight format, row count and kernel.
    struct Run {
        var format: String
        var rows: Int
        var kernel: String
        var layers: Double
        var head: Double
        /// CPU seconds over wall seconds of the step: near the core count on a quiet machine.
        var coresBusy: Double
        var weightBytes: Int
        var step: Double { layers + head }
    }

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let document = context.quick ? 1024 : 8192
        let rowCounts = context.quick ? [4, 32] : [8, 32]
        let base = context.quick
            ? GeneratedModelSpec(hiddenSize: 256, layers: 4, heads: 4, mlp: 704, vocabulary: 8192)
            : GeneratedModelSpec(hiddenSize: 1024, layers: 8, heads: 16, mlp: 2816, vocabulary: 126_464)
        let bandwidth = CopyBandwidth.measure(bytes: context.quick ? 64 << 20 : 1 << 30)
        context.log("copy bandwidth: \(Format.number(bandwidth / 1e9)) GB/s")
        let saved = FewRowProduct.maxRows
        defer { FewRowProduct.maxRows = saved }
        var runs: [Run] = []
        for format in ["f32", "bf16"] {
            var spec = base
            spec.dataType = format
            let model = try TransformerModel(directory: try spec.materialize(in: context), residency: .streamed)
            let kv = RandomDocumentKV(rows: document, width: model.configuration.kvDimension)
            for rows in rowCounts {
                for (kernel, limit) in [("sgemm", 0), ("few-row", max(saved, rows))] {
                    FewRowProduct.maxRows = limit
                    let run = measure(model, format: format, rows: rows, kernel: kernel, kv: kv)
                    context.log(
                        "\(format), \(rows) rows, \(kernel): layers \(Format.number(run.layers)) s, head \(Format.number(run.head)) s")
                    runs.append(run)
                }
            }
        }
        let title = "d \(base.hiddenSize), \(base.layers) layers, \(base.heads) heads, MLP \(base.mlp), vocabulary "
            + "\(base.vocabulary), weights streamed; \(document)-token document KV, layers 0–\(Self.denseLayers - 1) dense, "
            + "the rest \(Self.sinks) sinks + \(Self.keptBlocks) blocks of \(Self.blockRows); head over every active row; "
            + "copy bandwidth \(Format.number(bandwidth / 1e9)) GB/s; best of 3"
        return SuiteResult(tables: [table(runs, title: title, bandwidth: bandwidth)], values: values(runs, bandwidth: bandwidth))
    }

    /// Best of 3 of every layer over `rows` rows, then of the head over the same rows.
    func measure(_ model: TransformerModel, format: String, rows: Int, kernel: String, kv: RandomDocumentKV) -> Run {
        let c = model.configuration
        let d = c.hiddenSize
        let hidden = Matrix(rows: rows, columns: d)
        let input = RandomMatrix.make(count: rows * d, seed: 51, scale: 0.1)
        defer { input.deallocate() }
        let positions = (0..<rows).map { Int32(kv.rows + $0) }
        let dense = [kv.segment(0..<kv.rows)]
        let sparse = [kv.segment(0..<Self.sinks)]
            + (0..<Self.keptBlocks).map { b in
                let start = (b + 1) * kv.rows / (Self.keptBlocks + 1)
                return kv.segment(start..<(start + Self.blockRows))
            }
        let layers = Timing.best(of: 3) {
            hidden.data.update(from: input, count: rows * d)
            for layer in 0..<c.layerCount {
                model.runLayer(layer, hidden: hidden, positions: positions, context: layer < Self.denseLayers ? dense : sparse)
            }
        }
        let head = Timing.best(of: 3) { _ = model.logits(hidden: hidden, rows: Array(0..<rows)) }
        let bytesPerWeight = format == "bf16" ? 2 : 4
        let layerParameters = 2 * d * d + 2 * d * c.kvDimension + 3 * d * c.intermediateSize
        let weightBytes = (c.layerCount * layerParameters + c.vocabularySize * d) * bytesPerWeight
        return Run(format: format, rows: rows, kernel: kernel, layers: layers.wall, head: head.wall,
            coresBusy: (layers.cpu + head.cpu) / (layers.wall + head.wall), weightBytes: weightBytes)
    }

    private func table(_ runs: [Run], title: String, bandwidth: Double) -> ResultTable {
        ResultTable(
            title: title,
            columns: [
                "weights", "active rows", "kernel", "layers s", "head s", "step s", "cores busy", "weight GB/step", "weight GB/s",
                "% of bandwidth limit", "vs sgemm", "target",
            ],
            rows: runs.map { run in
                let share = Double(run.weightBytes) / bandwidth / run.step
                let baseline = runs.first { $0.format == run.format && $0.rows == run.rows && $0.kernel == "sgemm" }
                return [
                    run.format, "\(run.rows)", run.kernel, Format.number(run.layers), Format.number(run.head),
                    Format.number(run.step), Format.number(run.coresBusy), Format.number(Double(run.weightBytes) / 1e9),
                    Format.number(Double(run.weightBytes) / run.step / 1e9), Format.percent(share),
                    baseline.map { String(format: "%.2f×", $0.step / run.step) } ?? "—",
                    run.kernel == "few-row" ? "≥ \(Format.percent(Self.target)): \(Format.verdict(share >= Self.target))" : "baseline",
                ]
            })
    }

    private func values(_ runs: [Run], bandwidth: Double) -> [String: ResultJSON] {
        var values: [String: ResultJSON] = ["copy_bandwidth_bytes_per_second": .number(bandwidth)]
        values["steps"] = .array(
            runs.map { run in
                .object([
                    "weights": .string(run.format), "rows": .number(Double(run.rows)), "kernel": .string(run.kernel),
                    "layers_seconds": .number(run.layers), "head_seconds": .number(run.head),
                    "step_seconds": .number(run.step), "cores_busy": .number(run.coresBusy), "weight_bytes": .number(Double(run.weightBytes)),
                    "share_of_bandwidth_limit": .number(Double(run.weightBytes) / bandwidth / run.step),
                ])
            })
        return values
    }
}

/// Random K and V rows standing in for a stored document's KV (shared by every layer).
final class RandomDocumentKV {
    let rows: Int
    let width: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    init(rows: Int, width: Int) {
        self.rows = rows
        self.width = width
        keys = RandomMatrix.make(count: rows * width, seed: 61)
        values = RandomMatrix.make(count: rows * width, seed: 62)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    func segment(_ range: Range<Int>) -> KVSegment {
        KVSegment(keys: keys + range.lowerBound * width, values: values + range.lowerBound * width, rows: range.count, stride: width)
    }
}
