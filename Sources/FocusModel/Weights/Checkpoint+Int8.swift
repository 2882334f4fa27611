/// 8-bit weights inside a checkpoint (what `focus quantize` writes).
///
/// A quantized linear weight `NAME` is stored as an `I8` tensor `NAME` of the config's shape
/// `[out, in]` beside an `F32` tensor `NAME.scales` of shape `[out, ceil(in / 32)]`: value
/// `q[o, i] · scales[o, i / 32]`. Every other tensor keeps its float type, so a folder may mix
/// both; loading checks each pair (dtype, shape, finite non-negative scales) and names the file and tensor of whatever is wrong.
extension Checkpoint {
    /// Suffix of the scale tensor beside an 8-bit weight.
    public static let scaleSuffix = ".scales"

    /// Whether `name` is the scale tensor of a 2-D tensor of the layout.
    static func isScaleName(_ name: String, layout: WeightLayout) -> Bool {
        guard name.hasSuffix(scaleSuffix) else { return false }
        return layout.shapes[String(name.dropLast(scaleSuffix.count))]?.count == 2
    }

    /// The linear weight called `name`: 8-bit when the checkpoint stores it as I8 (with its
    /// scales), else `LinearWeight(view, widen:)`.
    public func linearWeight(_ name: String, widen: Bool) throws -> LinearWeight {
        let view = try tensor(name)
        guard view.dataType == .i8 else { return LinearWeight(view, widen: widen) }
        let scales = try tensor(name + Self.scaleSuffix)
        let weight = Int8Weight(
            values: view.bytes.assumingMemoryBound(to: Int8.self),
            scales: scales.bytes.assumingMemoryBound(to: Float.self),
            outFeatures: view.shape[0], inFeatures: view.shape[1], owner: self)
        return LinearWeight(quantized: weight, view: view)
    }

    /// Checks an I8 tensor and its scales; throws naming the file and the tensor at fault.
    func validateInt8(_ view: TensorView, file: String) throws {
        guard view.shape.count == 2 else {
            throw CheckpointError.invalidTensor(
                file: file, tensor: view.name, reason: "I8 weights must be 2-D, not shape \(view.shape)")
        }
        let scaleName = view.name + Self.scaleSuffix
        guard weightMap[scaleName] != nil else {
            throw CheckpointError.missingTensor(file: file, tensor: scaleName)
        }
        let scales = try tensor(scaleName)
        let expected = [view.shape[0], Int8Weight.blocks(inFeatures: view.shape[1])]
        guard scales.dataType == .f32 else {
            throw CheckpointError.invalidTensor(
                file: scales.file, tensor: scaleName, reason: "scales must be F32, not \(scales.dataType.rawValue)")
        }
        guard scales.shape == expected else {
            throw CheckpointError.shapeMismatch(file: scales.file, tensor: scaleName, expected: expected, found: scales.shape)
        }
        guard Int(bitPattern: scales.bytes) % MemoryLayout<Float>.alignment == 0 else {
            throw CheckpointError.invalidTensor(file: scales.file, tensor: scaleName, reason: "data not 4-byte aligned")
        }
        let values = scales.bytes.assumingMemoryBound(to: Float.self)
        if let bad = (0..<scales.elementCount).first(where: { !(values[$0].isFinite && values[$0] >= 0) }) {
            throw CheckpointError.invalidTensor(
                file: scales.file, tensor: scaleName, reason: "scale \(bad) is \(values[bad]), not a finite value ≥ 0")
        }
    }
}
