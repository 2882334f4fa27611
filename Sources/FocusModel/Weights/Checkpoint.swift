import Foundation

/// A model directory in the Hugging Face layout: `config.json` and either `model.safetensors` or
/// shards listed in `model.safetensors.index.json`, validated tensor by tensor against the config.
public final class Checkpoint: @unchecked Sendable {
    public let directory: URL
    public let configuration: ModelConfiguration
    public let layout: WeightLayout
    /// Tensor name → shard file name, from the index (or the single file).
    public let weightMap: [String: String]
    private var files: [String: SafeTensorsFile] = [:]

    /// Opens a model directory, maps its weights and validates every tensor.
    /// - Parameter requireWeights: when false, only the config and the index are read and checked
    ///   (names against the layout), so a published index can be validated without its shards.
    public init(directory: URL, requireWeights: Bool = true) throws {
        self.directory = directory
        configuration = try ModelConfiguration(directory: directory)
        layout = WeightLayout(configuration: configuration)
        let indexURL = directory.appendingPathComponent("model.safetensors.index.json")
        let singleURL = directory.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: indexURL.path) {
            weightMap = try Self.readIndex(indexURL)
            try Self.checkNames(Set(weightMap.keys), layout: layout, file: indexURL.path)
        } else if FileManager.default.fileExists(atPath: singleURL.path) {
            let file = try SafeTensorsFile(url: singleURL)
            files["model.safetensors"] = file
            weightMap = Dictionary(uniqueKeysWithValues: file.tensors.keys.map { ($0, "model.safetensors") })
            try Self.checkNames(Set(weightMap.keys), layout: layout, file: singleURL.path)
        } else {
            throw ModelConfigurationError.missingFile(
                directory.appendingPathComponent("model.safetensors").path
                    + " (or model.safetensors.index.json)")
        }
        guard requireWeights else { return }
        for shard in Set(weightMap.values) where files[shard] == nil {
            files[shard] = try SafeTensorsFile(url: directory.appendingPathComponent(shard))
        }
        for (name, shard) in weightMap where !Self.isScaleName(name, layout: layout) {
            guard let file = files[shard] else { continue }
            let view = try file.tensor(name)
            let expected = layout.shapes[name] ?? []
            if view.shape != expected {
                throw CheckpointError.shapeMismatch(file: file.path, tensor: name, expected: expected, found: view.shape)
            }
            if view.dataType == .i8 {
                try validateInt8(view, file: file.path)
                continue
            }
            guard [.f32, .f16, .bf16].contains(view.dataType) else {
                throw CheckpointError.invalidTensor(
                    file: file.path, tensor: name, reason: "weights must be F32, F16 or BF16, not \(view.dataType.rawValue)")
            }
        }
        for (shard, file) in files {
            for name in file.tensors.keys where weightMap[name] != shard {
                throw CheckpointError.unexpectedTensor(file: file.path, tensor: name)
            }
        }
    }

    /// The mapped tensor called `name`.
    public func tensor(_ name: String) throws -> TensorView {
        guard let shard = weightMap[name], let file = files[shard] else {
            throw CheckpointError.missingTensor(file: directory.path, tensor: name)
        }
        return try file.tensor(name)
    }

    /// Bytes of weight data over all shards.
    public var weightBytes: Int {
        files.values.reduce(0) { $0 + $1.tensors.values.reduce(0) { $0 + $1.byteCount } }
    }

    /// The files holding the weights (shard names, sorted).
    public var shardFiles: [URL] { Set(weightMap.values).sorted().map { directory.appendingPathComponent($0) } }

    // MARK: - Index

    private static func readIndex(_ url: URL) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelConfigurationError.missingFile(url.path)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CheckpointError.invalidIndex(file: url.path, reason: "not a JSON object")
        }
        guard let map = object["weight_map"] as? [String: String] else {
            throw CheckpointError.invalidIndex(file: url.path, reason: "missing or invalid \"weight_map\"")
        }
        for shard in Set(map.values) where shard.contains("/") || shard.hasPrefix(".") {
            throw CheckpointError.invalidIndex(file: url.path, reason: "shard name \"\(shard)\" leaves the directory")
        }
        return map
    }

    private static func checkNames(_ names: Set<String>, layout: WeightLayout, file: String) throws {
        for name in layout.shapes.keys.sorted() where !names.contains(name) {
            throw CheckpointError.missingTensor(file: file, tensor: name)
        }
        for name in names.sorted() where layout.shapes[name] == nil && !isScaleName(name, layout: layout) {
            throw CheckpointError.unexpectedTensor(file: file, tensor: name)
        }
    }
}
