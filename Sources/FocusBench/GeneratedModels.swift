import FocusDecoding
import FocusModel
import Foundation

/// The shape of a random LLaDA-layout checkpoint written by
/// `Tests/ReferenceTools/make_large_checkpoint.py`, cached between runs.
struct GeneratedModelSpec {
    var hiddenSize: Int
    var layers: Int
    var heads: Int
    var mlp: Int
    var vocabulary: Int
    var dataType: String = "bf16"
    /// The config's `max_sequence_length` (decoders refuse longer prompts; prefill alone does not).
    var maxSequenceLength = 4096

    /// LLaDA-8B's proportions scaled down (mlp = 3·d), for prefill speed.
    static let smallPrefill = GeneratedModelSpec(hiddenSize: 1024, layers: 8, heads: 16, mlp: 3072, vocabulary: 4096)
    /// The generator's default: 1.57 B parameters, 3.1 GB of bf16, for resident memory.
    static let large = GeneratedModelSpec(hiddenSize: 2048, layers: 28, heads: 16, mlp: 5632, vocabulary: 32000)

    /// Directory name inside the cache, unique per shape.
    var directoryName: String {
        "llada-d\(hiddenSize)-l\(layers)-h\(heads)-m\(mlp)-v\(vocabulary)-\(dataType)"
            + (maxSequenceLength == 4096 ? "" : "-ctx\(maxSequenceLength)")
    }

    /// Parameters over all tensors (embedding and head untied).
    var parameterCount: Int {
        let d = hiddenSize
        return layers * (4 * d * d + 3 * d * mlp + 2 * d) + 2 * vocabulary * d + d
    }

    /// Weight bytes the checkpoint holds.
    var weightBytes: Int { parameterCount * (dataType == "bf16" ? 2 : 4) }

    /// Linear-layer FLOPs per token per layer: q, k, v, o (4·d²) and gate, up, down (3·d·mlp).
    var linearFlopsPerTokenPerLayer: Double {
        2 * (4 * Double(hiddenSize * hiddenSize) + 3 * Double(hiddenSize * mlp))
    }

    /// Attention FLOPs of one layer for `n` queries against `n` keys: QKᵀ and P·V.
    func attentionFlopsPerLayer(tokens n: Int) -> Double { 4 * Double(n) * Double(n) * Double(hiddenSize) }

    /// The directory of the checkpoint, generated first when the cache lacks it.
    ///
    /// The generator writes `config.json` and the index after every shard, so their presence
    /// marks a complete checkpoint; a partial one is removed and written again.
    func materialize(in context: BenchmarkContext) throws -> URL {
        let directory = context.cacheDirectory.appendingPathComponent(directoryName)
        let manager = FileManager.default
        let complete = ["config.json", "model.safetensors.index.json"].allSatisfy {
            manager.fileExists(atPath: directory.appendingPathComponent($0).path)
        }
        if complete { return directory }
        if manager.fileExists(atPath: directory.path) { try manager.removeItem(at: directory) }
        try manager.createDirectory(at: context.cacheDirectory, withIntermediateDirectories: true)
        let script = context.repositoryRoot.appendingPathComponent("Tests/ReferenceTools/make_large_checkpoint.py")
        context.log("generating \(directoryName) (\(Format.bytes(weightBytes))) with \(script.lastPathComponent)")
        let started = Clock.now()
        let output = try ExternalCommand.run(
            "python3",
            arguments: [
                script.path, "--out", directory.path, "--d-model", "\(hiddenSize)", "--layers", "\(layers)",
                "--heads", "\(heads)", "--mlp", "\(mlp)", "--vocab", "\(vocabulary)", "--dtype", dataType,
                "--max-seq", "\(maxSequenceLength)",
            ])
        context.log(output.trimmingCharacters(in: .whitespacesAndNewlines) + String(format: " (%.0f s)", Clock.now() - started))
        return directory
    }
}

// MARK: - Random inputs

extension SplitMix64 {
    /// `count` token ids in 10..<4010: inside every generated checkpoint's vocabulary and clear
    /// of the low ids a tokenizer reserves.
    mutating func benchmarkTokens(_ count: Int) -> [Int32] {
        (0..<count).map { _ in Int32(next() % 4000) + 10 }
    }
}

extension TransformerModel {
    /// `document`'s KV, computed by one prefill and held in memory as a decoder's document source.
    func prefilledDocument(_ document: [Int32]) -> InMemoryDocumentKV {
        let cache = DenseKVCache(configuration: configuration, capacity: document.count)
        _ = prefill(tokens: document, into: cache)
        return InMemoryDocumentKV(cache: cache)
    }
}
