import Foundation

/// Writes an 8-bit copy of a model folder: the linear layers and the head as I8 values with F32
/// scales per block of 32 inputs (see `Checkpoint+Int8`), everything else as it was. The result
/// loads like any other model folder.
public enum ModelQuantizer {
    /// What a quantization wrote.
    public struct Summary: Sendable {
        public var quantizedTensors: Int
        public var copiedTensors: Int
        public var sourceBytes: Int
        public var writtenBytes: Int
    }

    /// Quantizes the model in `source` into `destination` (created; it must not exist or be empty).
    public static func quantize(model source: URL, to destination: URL) throws -> Summary {
        let checkpoint = try Checkpoint(directory: source)
        let manager = FileManager.default
        if manager.fileExists(atPath: destination.path) {
            guard (try manager.contentsOfDirectory(atPath: destination.path)).isEmpty else {
                throw CheckpointError.cannotOpen(file: destination.path, reason: "output folder exists and is not empty")
            }
        }
        try manager.createDirectory(at: destination, withIntermediateDirectories: true)
        let shards = Set(checkpoint.weightMap.values)
        for item in try manager.contentsOfDirectory(atPath: source.path)
        where !shards.contains(item) && item != "model.safetensors.index.json" {
            try manager.copyItem(at: source.appendingPathComponent(item), to: destination.appendingPathComponent(item))
        }
        var summary = Summary(quantizedTensors: 0, copiedTensors: 0, sourceBytes: checkpoint.weightBytes, writtenBytes: 0)
        var weightMap: [String: String] = [:]
        for shard in shards.sorted() {
            let names = checkpoint.weightMap.filter { $0.value == shard }.keys.sorted()
            var entries: [SafeTensorsWriter.Entry] = []
            for name in names {
                let view = try checkpoint.tensor(name)
                if quantizes(view, checkpoint: checkpoint) {
                    entries += quantizedEntries(view)
                    summary.quantizedTensors += 1
                } else {
                    entries.append(copiedEntry(view))
                    summary.copiedTensors += 1
                }
            }
            for entry in entries { weightMap[entry.name] = shard }
            summary.writtenBytes += try SafeTensorsWriter.write(entries, to: destination.appendingPathComponent(shard))
        }
        if manager.fileExists(atPath: source.appendingPathComponent("model.safetensors.index.json").path) {
            let index: [String: Any] = ["metadata": ["total_size": summary.writtenBytes], "weight_map": weightMap]
            let data = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: destination.appendingPathComponent("model.safetensors.index.json"))
        }
        return summary
    }

    /// Linear layers and the head (the embedding too when it is the head); not norms or biases.
    static func quantizes(_ view: TensorView, checkpoint: Checkpoint) -> Bool {
        let configuration = checkpoint.configuration
        let embedding = checkpoint.layout.name(.embedding)
        guard view.shape.count == 2, [.f32, .f16, .bf16].contains(view.dataType) else { return false }
        return view.name != embedding || configuration.tiedEmbeddings
    }

    static func copiedEntry(_ view: TensorView) -> SafeTensorsWriter.Entry {
        SafeTensorsWriter.Entry(name: view.name, dataType: view.dataType, shape: view.shape, byteCount: view.byteCount) {
            try $0.write(contentsOf: Data(bytes: view.bytes, count: view.byteCount))
        }
    }

    /// The I8 values and F32 scales of `view`. Each entry quantizes the tensor when it is
    /// written (the scales are written first, with the wider tensors), so that at most one
    /// tensor is in memory at a time.
    static func quantizedEntries(_ view: TensorView) -> [SafeTensorsWriter.Entry] {
        let (rows, columns) = (view.shape[0], view.shape[1])
        let blocks = Int8Weight.blocks(inFeatures: columns)
        let values = SafeTensorsWriter.Entry(name: view.name, dataType: .i8, shape: view.shape, byteCount: rows * columns) {
            let weight = quantized(view)
            try $0.write(contentsOf: Data(bytes: weight.values, count: rows * columns))
        }
        let scales = SafeTensorsWriter.Entry(
            name: view.name + Checkpoint.scaleSuffix, dataType: .f32, shape: [rows, blocks], byteCount: rows * blocks * 4
        ) {
            let weight = quantized(view)
            try $0.write(contentsOf: Data(bytes: weight.scales, count: rows * blocks * 4))
        }
        return [values, scales]
    }

    /// `view` widened to Float and quantized.
    static func quantized(_ view: TensorView) -> Int8Weight {
        let float = UnsafeMutablePointer<Float>.allocate(capacity: view.elementCount)
        defer { float.deallocate() }
        Kernels.widen(view.bytes, type: view.dataType, into: float, count: view.elementCount)
        return Int8Weight(quantizing: float, outFeatures: view.shape[0], inFeatures: view.shape[1])
    }
}
