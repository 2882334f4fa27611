/// Number-format conversions fused with the byte (un)shuffle, on raw buffers.
///
/// A shuffled array of `count` elements of `n` bytes is `n` planes of `count` bytes: all byte 0s,
/// then all byte 1s, and so on (little-endian byte order within each element).
enum NumberCoding {
    // MARK: - f32

    /// Writes `count` floats as 4 byte planes.
    static func shuffleFloat32(_ source: UnsafePointer<Float>, count: Int, into planes: UnsafeMutablePointer<UInt8>) {
        source.withMemoryRebound(to: UInt32.self, capacity: count) { bits in
            for i in 0..<count {
                let word = bits[i]
                planes[i] = UInt8(truncatingIfNeeded: word)
                planes[count + i] = UInt8(truncatingIfNeeded: word >> 8)
                planes[2 * count + i] = UInt8(truncatingIfNeeded: word >> 16)
                planes[3 * count + i] = UInt8(truncatingIfNeeded: word >> 24)
            }
        }
    }

    /// Reads `count` floats back from 4 byte planes.
    static func unshuffleFloat32(_ planes: UnsafePointer<UInt8>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawPointer(planes)
        let out = UnsafeMutableRawPointer(destination)
        var i = 0
        while i + 16 <= count {
            let b0 = SIMD16<UInt32>(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
            let b1 = SIMD16<UInt32>(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: count + i, as: SIMD16<UInt8>.self))
            let b2 = SIMD16<UInt32>(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: 2 * count + i, as: SIMD16<UInt8>.self))
            let b3 = SIMD16<UInt32>(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: 3 * count + i, as: SIMD16<UInt8>.self))
            let word = b0 | (b1 &<< 8) | (b2 &<< 16) | (b3 &<< 24)
            out.storeBytes(of: word, toByteOffset: i * 4, as: SIMD16<UInt32>.self)
            i += 16
        }
        while i < count {
            let word = UInt32(planes[i]) | UInt32(planes[count + i]) << 8
                | UInt32(planes[2 * count + i]) << 16 | UInt32(planes[3 * count + i]) << 24
            destination[i] = Float(bitPattern: word)
            i += 1
        }
    }

    // MARK: - f16

    /// Rounds `count` floats to half precision and writes them as 2 byte planes.
    static func shuffleFloat16(_ source: UnsafePointer<Float>, count: Int, into planes: UnsafeMutablePointer<UInt8>) {
        for i in 0..<count {
            let bits = Float16(source[i]).bitPattern
            planes[i] = UInt8(truncatingIfNeeded: bits)
            planes[count + i] = UInt8(truncatingIfNeeded: bits >> 8)
        }
    }

    /// Reads `count` halves from 2 byte planes and widens them to floats, exactly (including
    /// subnormals, infinities and NaNs). Branch-free so that the compiler vectorizes the loop.
    static func unshuffleFloat16(_ planes: UnsafePointer<UInt8>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let high = planes + count
        destination.withMemoryRebound(to: UInt32.self, capacity: count) { out in
            for i in 0..<count {
                out[i] = widenHalfBits(UInt32(planes[i]) | UInt32(high[i]) << 8)
            }
        }
    }

    /// Converts a half-precision bit pattern (low 16 bits) to a float bit pattern.
    @inline(__always)
    static func widenHalfBits(_ half: UInt32) -> UInt32 {
        let exponentAndMantissa = half & 0x7fff
        let normal = (exponentAndMantissa << 13) &+ (112 << 23)
        let special = exponentAndMantissa >= 0x7c00 ? normal &+ (112 << 23) : normal
        let subnormal = (Float(bitPattern: normal &+ (1 << 23)) - 6.103515625e-05).bitPattern
        let magnitude = exponentAndMantissa < 0x0400 ? subnormal : special
        return magnitude | (half & 0x8000) << 16
    }

    // MARK: - int8

    /// Quantizes a [rows, width] block with one scale per column (K): scale = max|x| / 127.
    /// Writes `width` f32 scales then `rows * width` int8 values at `output`.
    static func quantizePerColumn(_ source: UnsafePointer<Float>, rows: Int, width: Int, into output: UnsafeMutableRawPointer) {
        var scales = [Float](repeating: 0, count: width)
        for column in 0..<width {
            var largest: Float = 0
            for row in 0..<rows { largest = max(largest, abs(source[row * width + column])) }
            scales[column] = largest / 127
            output.storeBytes(of: scales[column], toByteOffset: column * 4, as: Float.self)
        }
        let values = output + width * 4
        for row in 0..<rows {
            for column in 0..<width {
                let level = quantize(source[row * width + column], scale: scales[column])
                values.storeBytes(of: level, toByteOffset: row * width + column, as: Int8.self)
            }
        }
    }

    /// Quantizes a [rows, width] block with one scale per row (V).
    /// Writes `rows` f32 scales then `rows * width` int8 values at `output`.
    static func quantizePerRow(_ source: UnsafePointer<Float>, rows: Int, width: Int, into output: UnsafeMutableRawPointer) {
        let values = output + rows * 4
        for row in 0..<rows {
            var largest: Float = 0
            for column in 0..<width { largest = max(largest, abs(source[row * width + column])) }
            let scale = largest / 127
            output.storeBytes(of: scale, toByteOffset: row * 4, as: Float.self)
            for column in 0..<width {
                let level = quantize(source[row * width + column], scale: scale)
                values.storeBytes(of: level, toByteOffset: row * width + column, as: Int8.self)
            }
        }
    }

    @inline(__always)
    private static func quantize(_ value: Float, scale: Float) -> Int8 {
        guard scale > 0, scale.isFinite else { return 0 }
        let level = (value / scale).rounded(.toNearestOrEven)
        return Int8(max(-127, min(127, level)))
    }

    /// Dequantizes a per-column block written by `quantizePerColumn`.
    static func dequantizePerColumn(_ input: UnsafeRawPointer, rows: Int, width: Int, into destination: UnsafeMutablePointer<Float>) {
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: width)
        defer { scales.deallocate() }
        for column in 0..<width {
            scales[column] = input.loadUnaligned(fromByteOffset: column * 4, as: Float.self)
        }
        let levels = (input + width * 4).assumingMemoryBound(to: Int8.self)
        for row in 0..<rows {
            let source = levels + row * width
            let target = destination + row * width
            for column in 0..<width {
                target[column] = Float(source[column]) * scales[column]
            }
        }
    }

    /// Dequantizes a per-row block written by `quantizePerRow`.
    static func dequantizePerRow(_ input: UnsafeRawPointer, rows: Int, width: Int, into destination: UnsafeMutablePointer<Float>) {
        let levels = (input + rows * 4).assumingMemoryBound(to: Int8.self)
        for row in 0..<rows {
            let scale = input.loadUnaligned(fromByteOffset: row * 4, as: Float.self)
            let source = levels + row * width
            let target = destination + row * width
            for column in 0..<width {
                target[column] = Float(source[column]) * scale
            }
        }
    }
}
