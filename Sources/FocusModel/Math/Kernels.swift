/// Element-wise kernels of the transformer: normalisation, activation, rotary embedding,
/// softmax and number-format conversion. Each works on raw pointers with SIMD16 accumulators.
public enum Kernels {
    // MARK: - Normalisation

    /// `out[i] = x[i] / sqrt(mean(x²) + eps) · weight[i]` for one row of `count` elements.
    @inlinable
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
        count: Int, into out: UnsafeMutablePointer<Float>
    ) {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            acc += v * v
            i += 16
        }
        var sum = acc.sum()
        while i < count {
            sum += x[i] * x[i]
            i += 1
        }
        let scale = 1 / (sum / Float(count) + epsilon).squareRoot()
        i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            let w = UnsafeRawPointer(weight + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: v * scale * w, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            out[i] = x[i] * scale * weight[i]
            i += 1
        }
    }

    // MARK: - Activation

    /// `gate[i] = silu(gate[i]) · up[i]` (SwiGLU), in place over `count` elements.
    @inlinable
    public static func siluMultiply(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD16<Float>.self)
            let s = g / (1 + exp(-g))
            UnsafeMutableRawPointer(gate + i).storeBytes(of: s * u, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
            i += 1
        }
    }

    /// Adds `bias` to each of `rows` rows of width `count` with leading dimension `ld`.
    @inlinable
    public static func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, count: Int, ld: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * ld
            for i in 0..<count { row[i] += bias[i] }
        }
    }

    // MARK: - Softmax

    /// Vectorised `exp`: range reduction by ln 2 and a degree-6 polynomial (relative error < 2e-7).
    /// Rounding and the exponent come from the 1.5·2²³ trick, which keeps every step in SIMD
    /// registers (the generic `rounded` and integer conversions are scalar loops).
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let low = SIMD16<Float>(repeating: -87.3)
        let high = SIMD16<Float>(repeating: 88.0)
        var clamped = x.replacing(with: low, where: x .< low)
        clamped = clamped.replacing(with: high, where: clamped .> high)
        let magic: Float = 12_582_912
        let t = clamped * 1.442_695_04 + magic
        let n = t - magic
        let r = clamped - n * 0.693_145_75 - n * 1.428_606_8e-6
        var p = SIMD16<Float>(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let integer = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let bits = (integer &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: SIMD16<Float>.self)
    }

    /// Softmax of `x[0..<visible]·scale` in place; elements from `visible` to `count` become 0.
    @inlinable
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int, visible: Int, scale: Float) {
        let (_, sum) = exponentiate(x, count: count, visible: visible, scale: scale, floor: -.infinity)
        guard sum > 0 else { return }
        Self.scale(x, by: 1 / sum, count: visible, into: x)
    }

    // MARK: - Number formats

    /// Widens `count` bfloat16 values (raw bits) to Float.
    @inlinable
    public static func bf16ToFloat(_ source: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            let bits = (source + 2 * i).loadUnaligned(as: SIMD16<UInt16>.self)
            let wide = SIMD16<UInt32>(truncatingIfNeeded: bits) &<< 16
            UnsafeMutableRawPointer(out + i).storeBytes(of: unsafeBitCast(wide, to: SIMD16<Float>.self), as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let bits = UInt32((source + 2 * i).loadUnaligned(as: UInt16.self)) << 16
            out[i] = Float(bitPattern: bits)
            i += 1
        }
    }

    /// Widens `count` IEEE half values to Float.
    @inlinable
    public static func f16ToFloat(_ source: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            out[i] = Float(Float16(bitPattern: (source + 2 * i).loadUnaligned(as: UInt16.self)))
        }
    }

    /// Converts `count` elements of a checkpoint tensor's data to Float.
    @inlinable
    public static func widen(
        _ source: UnsafeRawPointer, type: TensorDataType, into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        switch type {
        case .f32: UnsafeMutableRawPointer(out).copyMemory(from: source, byteCount: count * 4)
        case .bf16: bf16ToFloat(source, out, count: count)
        case .f16: f16ToFloat(source, out, count: count)
        case .i32, .i64, .i8: preconditionFailure("integer tensors are not float weights")
        }
    }
}

/// Element-wise maximum of two vectors.
@inlinable
func pointwiseMax(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    a.replacing(with: b, where: b .> a)
}

#if canImport(Glibc)
    import Glibc
#endif
