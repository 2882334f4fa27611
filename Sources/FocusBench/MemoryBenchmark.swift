import FocusEngine
import FocusModel
import Foundation

/// Peak resident memory of a forward pass over a large bf16 checkpoint kept `.streamed`,
/// measured in a child process so that nothing else this program did inflates the peak.
struct MemoryBenchmark {
    var spec = GeneratedModelSpec.large
    var tokens = 256
    /// Logit rows computed (one LLaDA answer block).
    var logitRows = 32

    /// Name of the child subcommand.
    static let childCommand = "memory-forward"

    /// What the child reported, with the parent's estimate of the working buffers.
    struct Result {
        var tokens: Int
        var checkpointBytes: Int
        var parameters: Int
        var baselineResident: Int
        var residentAfterLoad: Int
        var peakResident: Int
        var workingBuffers: Int
        var loadSeconds: Double
        var forwardSeconds: Double

        /// Peak resident memory over the checkpoint's bytes.
        var ratio: Double { Double(peakResident) / Double(checkpointBytes) }
        /// Bytes the target allows: 1.15 × the checkpoint, plus buffers and the process baseline.
        var allowance: Int { Int(1.15 * Double(checkpointBytes)) + workingBuffers + baselineResident }
        var meetsTarget: Bool { peakResident <= allowance }
        /// What `.widened` would hold: every linear weight as Float (4 bytes a parameter).
        var widenedEstimate: Int { parameters * 4 + workingBuffers + baselineResident }
    }

    /// Generates the checkpoint if needed and runs the child.
    func run(_ context: BenchmarkContext) throws -> Result {
        let directory = try spec.materialize(in: context)
        context.log("memory: forward over \(tokens) tokens of \(directory.lastPathComponent), streamed, in a child process")
        let report = try context.runChild(
            Self.childCommand, arguments: [directory.path, "\(tokens)", "\(logitRows)"])
        func field(_ key: String) throws -> Double {
            guard let value = report[key] else {
                throw BenchmarkError.invalidChildOutput(command: Self.childCommand, output: report.text)
            }
            return value
        }
        return Result(
            tokens: tokens, checkpointBytes: Int(try field("checkpoint_bytes")), parameters: Int(try field("parameters")),
            baselineResident: Int(try field("baseline_peak_bytes")),
            residentAfterLoad: Int(try field("resident_after_load_bytes")),
            peakResident: Int(try field("peak_resident_bytes")),
            workingBuffers: workingBufferBytes(), loadSeconds: try field("load_seconds"),
            forwardSeconds: try field("forward_seconds"))
    }

    /// Float buffers a `runLayer` over `tokens` rows holds at its peak, plus the 32 MiB chunk
    /// a streamed weight is widened into and the attention score tiles.
    func workingBufferBytes() -> Int {
        let d = spec.hiddenSize
        let n = tokens
        let perRow = 5 * d + 2 * d + 2 * spec.mlp  // x, q, attended, 2 norm scratches; k, v; gate, up
        let scores = Attention.tileRows * n * ComputeThreads.count
        let widenScratch = 8 << 20
        return 4 * (n * perRow + scores + widenScratch + logitRows * spec.vocabulary)
    }

    // MARK: - Child

    /// The child: `MODEL_DIR TOKENS LOGIT_ROWS` → JSON with the peak resident bytes.
    static func child(_ arguments: [String]) throws -> ResultJSON {
        guard arguments.count == 3, let n = Int(arguments[1]), let rows = Int(arguments[2]), n > 0, rows > 0 else {
            throw BenchmarkError.usage("--child \(childCommand) MODEL_DIR TOKENS LOGIT_ROWS")
        }
        let baseline = ProcessMemory.peakResidentBytes
        let loadStart = Clock.now()
        let model = try TransformerModel(directory: URL(fileURLWithPath: arguments[0]), residency: .streamed)
        let loadSeconds = Clock.now() - loadStart
        let afterLoad = ProcessMemory.residentBytes
        let vocabulary = Int32(model.configuration.vocabularySize - 2)
        let tokens = (0..<n).map { Int32(($0 * 7919) % Int(vocabulary)) }
        let forwardStart = Clock.now()
        let logits = model.forward(
            tokens: tokens, positions: (0..<n).map { Int32($0) }, logitRows: Array(max(0, n - rows)..<n))
        let forwardSeconds = Clock.now() - forwardStart
        return .object([
            "checkpoint_bytes": .number(Double(model.checkpoint.weightBytes)),
            "parameters": .number(Double(model.checkpoint.layout.parameterCount)),
            "baseline_peak_bytes": .number(Double(baseline)),
            "resident_after_load_bytes": .number(Double(afterLoad)),
            "peak_resident_bytes": .number(Double(ProcessMemory.peakResidentBytes)),
            "load_seconds": .number(loadSeconds), "forward_seconds": .number(forwardSeconds),
            "logits_finite": .bool(logits.array.allSatisfy(\.isFinite)),
        ])
    }
}
