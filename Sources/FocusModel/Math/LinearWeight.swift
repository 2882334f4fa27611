/// How a checkpoint's bf16 or f16 weights live in memory.
public enum WeightResidency: Sendable {
    /// Widened to Float once at load: fastest, twice the memory of a bf16 checkpoint.
    case widened
    /// Kept in the checkpoint's format (memory-mapped) and widened chunk by chunk on use, so
    /// resident memory stays near the checkpoint's size.
    case streamed
    /// `widened` when the widened model fits in `FOCUS_WIDEN_LIMIT` bytes (default 2 GiB).
    case automatic
}

/// The weight of a linear layer, `[outFeatures, inFeatures]` as PyTorch stores it: `y = x · Wᵀ`.
public final class LinearWeight: @unchecked Sendable {
    public let outFeatures: Int
    public let inFeatures: Int
    /// Float weights ready for `cblas_sgemm`: a widened copy, or the mapped file when it is f32.
    private let dense: UnsafePointer<Float>?
    private let ownsDense: Bool
    private let source: TensorView
    /// Output rows widened per chunk when streaming (bounds the scratch to 32 MiB).
    private let chunkRows: Int
    /// The 8-bit form, when the checkpoint stores the weight quantized.
    public let quantized: Int8Weight?

    /// An 8-bit weight; `view` is its I8 tensor (for the name and shape).
    public init(quantized: Int8Weight, view: TensorView) {
        self.quantized = quantized
        source = view
        outFeatures = quantized.outFeatures
        inFeatures = quantized.inFeatures
        chunkRows = 1
        dense = nil
        ownsDense = false
    }

    public init(_ view: TensorView, widen: Bool) {
        precondition(view.shape.count == 2, "linear weight \(view.name) must be 2-D")
        source = view
        outFeatures = view.shape[0]
        inFeatures = view.shape[1]
        quantized = nil
        chunkRows = max(1, min(outFeatures, (8 << 20) / max(inFeatures, 1)))
        let aligned = Int(bitPattern: view.bytes) % MemoryLayout<Float>.alignment == 0
        if view.dataType == .f32 && aligned {
            dense = view.bytes.assumingMemoryBound(to: Float.self)
            ownsDense = false
        } else if widen || view.dataType == .f32 {
            let copy = UnsafeMutablePointer<Float>.allocate(capacity: view.elementCount)
            Kernels.widen(view.bytes, type: view.dataType, into: copy, count: view.elementCount)
            dense = UnsafePointer(copy)
            ownsDense = true
        } else {
            dense = nil
            ownsDense = false
        }
    }

    deinit {
        if ownsDense, let dense { UnsafeMutablePointer(mutating: dense).deallocate() }
    }

    /// Whether the weights are held as Float.
    public var isWidened: Bool { dense != nil }

    /// `y[rows × out] = beta·y + x[rows × in] · Wᵀ`, with leading dimensions `ldx` and `ldy`.
    public func apply(
        _ x: UnsafePointer<Float>, rows: Int, ldx: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool = false
    ) {
        guard rows > 0 else { return }
        if let quantized {
            quantized.apply(x, rows: rows, ldx: ldx, into: y, ldy: ldy, accumulate: accumulate)
            return
        }
        if FewRowProduct.takes(rows: rows, stored: dense == nil), applyFewRows(x, rows: rows, ldx: ldx, into: y, ldy: ldy, accumulate: accumulate) {
            return
        }
        let beta: Float = accumulate ? 1 : 0
        if let dense {
            multiplyTransposed(
                m: rows, n: outFeatures, k: inFeatures, a: x, lda: ldx, b: dense, ldb: inFeatures,
                c: y, ldc: ldy, beta: beta)
            return
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: chunkRows * inFeatures)
        defer { scratch.deallocate() }
        var start = 0
        while start < outFeatures {
            let count = min(chunkRows, outFeatures - start)
            Kernels.widen(
                source.bytes + start * inFeatures * source.dataType.byteWidth, type: source.dataType,
                into: scratch, count: count * inFeatures)
            multiplyTransposed(
                m: rows, n: count, k: inFeatures, a: x, lda: ldx, b: scratch, ldb: inFeatures,
                c: y + start, ldc: ldy, beta: beta)
            start += count
        }
    }

    /// The few-row kernel over the Float or bfloat16 weights; false for other formats.
    private func applyFewRows(
        _ x: UnsafePointer<Float>, rows: Int, ldx: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) -> Bool {
        if let dense {
            FewRowProduct.apply(
                Float32Rows(base: dense, inFeatures: inFeatures), outFeatures: outFeatures,
                x: x, rows: rows, ldx: ldx, into: y, ldy: ldy, accumulate: accumulate)
            return true
        }
        guard source.dataType == .bf16 else { return false }
        FewRowProduct.apply(
            BFloat16Rows(base: source.bytes, inFeatures: inFeatures),
            outFeatures: outFeatures, x: x, rows: rows, ldx: ldx, into: y, ldy: ldy, accumulate: accumulate)
        return true
    }

    /// Copies row `index` of the weight (an embedding row) into `out` as Float.
    public func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        if let quantized {
            quantized.dequantize(rows: index..<(index + 1), into: out)
        } else if let dense {
            out.update(from: dense + index * inFeatures, count: inFeatures)
        } else {
            Kernels.widen(
                source.bytes + index * inFeatures * source.dataType.byteWidth, type: source.dataType,
                into: out, count: inFeatures)
        }
    }
}

/// A vector of per-feature weights (norm scales, biases), always held as Float.
public final class VectorWeight: @unchecked Sendable {
    public let values: UnsafeMutablePointer<Float>
    public let count: Int

    public init(_ view: TensorView) {
        count = view.elementCount
        values = .allocate(capacity: count)
        Kernels.widen(view.bytes, type: view.dataType, into: values, count: count)
    }

    deinit { values.deallocate() }
}
