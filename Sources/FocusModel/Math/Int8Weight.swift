#if canImport(Glibc)
    import Glibc
#endif

/// A linear layer's weight in symmetric 8-bit form: `W[o, i] ≈ q[o, i] · scale[o, i / 32]`, with
/// `q` in −127…127 and one Float scale per block of 32 inputs of an output row (the last block
/// of a row may be shorter).
///
/// Products over a few rows (decoding) read the 8-bit weights once and widen them in registers;
/// products over many rows (prefill) widen chunks of output rows and use `cblas_sgemm`.
public final class Int8Weight: @unchecked Sendable {
    /// Inputs per scale.
    public static let blockSize = 32
    /// Rows up to which `apply` runs the direct kernel rather than widening for `cblas_sgemm`.
    public static let directRows = 8
    /// Rows up to which `apply` widens cache-sized chunks per core (beyond: large chunks and
    /// all-core `cblas_sgemm`, where packing the input rows per chunk would cost too much).
    public static let blockedRows = 64
    /// Floats of one core's widened chunk in the blocked path (512 KiB).
    static let cachedFloats = 1 << 17

    public let outFeatures: Int
    public let inFeatures: Int
    /// Scales per output row: `ceil(inFeatures / 32)`.
    public let blocksPerRow: Int
    /// `[outFeatures × inFeatures]` signed bytes.
    public let values: UnsafePointer<Int8>
    /// `[outFeatures × blocksPerRow]` scales.
    public let scales: UnsafePointer<Float>
    /// Keeps the memory behind `values` and `scales` alive (a mapped file), or nil when owned.
    private let owner: AnyObject?

    /// Scales per output row for `inFeatures` inputs.
    public static func blocks(inFeatures: Int) -> Int { (inFeatures + blockSize - 1) / blockSize }

    /// Wraps quantized data held by `owner` (for example a mapped safetensors file).
    public init(values: UnsafePointer<Int8>, scales: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int, owner: AnyObject?) {
        self.values = values
        self.scales = scales
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.blocksPerRow = Self.blocks(inFeatures: inFeatures)
        self.owner = owner
    }

    /// Quantizes `[outFeatures × inFeatures]` Float weights: each block's scale is its largest
    /// magnitude over 127, each value rounded to the nearest multiple of it.
    public convenience init(quantizing weights: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int) {
        let blocks = Self.blocks(inFeatures: inFeatures)
        let q = UnsafeMutablePointer<Int8>.allocate(capacity: outFeatures * inFeatures)
        let s = UnsafeMutablePointer<Float>.allocate(capacity: outFeatures * blocks)
        Self.quantize(weights, rows: outFeatures, columns: inFeatures, values: q, scales: s)
        self.init(values: q, scales: s, outFeatures: outFeatures, inFeatures: inFeatures, owner: nil)
    }

    deinit {
        if owner == nil {
            UnsafeMutablePointer(mutating: values).deallocate()
            UnsafeMutablePointer(mutating: scales).deallocate()
        }
    }

    /// Quantizes `rows × columns` Float weights into `values` and `rows × blocks(columns)` scales.
    public static func quantize(
        _ weights: UnsafePointer<Float>, rows: Int, columns: Int,
        values: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>
    ) {
        let blocks = Self.blocks(inFeatures: columns)
        for r in 0..<rows {
            for b in 0..<blocks {
                let start = b * blockSize
                let block = UnsafeBufferPointer(start: weights + r * columns + start, count: min(blockSize, columns - start))
                let scale = block.reduce(0) { max($0, abs($1)) } / 127
                scales[r * blocks + b] = scale
                let inverse: Float = scale > 0 ? 1 / scale : 0
                for (i, w) in block.enumerated() {
                    values[r * columns + start + i] = Int8(max(-127, min(127, (w * inverse).rounded())))
                }
            }
        }
    }

    /// Writes output rows `rows` as Float (`q · scale`) into `out`, `inFeatures` floats per row.
    public func dequantize(rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        for (index, r) in rows.enumerated() {
            let source = values + r * inFeatures
            let target = out + index * inFeatures
            let rowScales = scales + r * blocksPerRow
            var i = 0
            while i + Self.blockSize <= inFeatures {
                let s = rowScales[i / Self.blockSize]
                Self.store(Self.widen(source + i) * s, at: target + i)
                Self.store(Self.widen(source + i + 16) * s, at: target + i + 16)
                i += Self.blockSize
            }
            while i < inFeatures {
                target[i] = Float(source[i]) * rowScales[i / Self.blockSize]
                i += 1
            }
        }
    }

    /// Sixteen signed bytes widened to Float.
    @inline(__always)
    static func widen(_ p: UnsafePointer<Int8>) -> SIMD16<Float> {
        let bytes = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Int8>.self)
        return SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes))
    }

    @inline(__always)
    static func store(_ v: SIMD16<Float>, at p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }
}
