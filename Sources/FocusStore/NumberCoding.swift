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

    /// Reads `count` halves from 2 byte planes and widens them to floats (exact, SIMD).
    static func unshuffleFloat16(_ planes: UnsafePointer<UInt8>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawPointer(planes)
        let out = UnsafeMutableRawPointer(destination)
        var i = 0
        while i + 16 <= count {
            let low = SIMD16<UInt32>(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
            let high = SIMD16<UInt32>(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: count + i, as: SIMD16<UInt8>.self))
            out.storeBytes(of: widenHalfBits(low | (high &<< 8)), toByteOffset: i * 4, as: SIMD16<UInt32>.self)
            i += 16
        }
        while i < count {
            let bits = UInt16(planes[i]) | UInt16(planes[count + i]) << 8
            destination[i] = Float(Float16(bitPattern: bits))
            i += 1
        }
    }

    /// Converts 16 half-precision bit patterns (in the low 16 bits of each lane) to float bit
    /// patterns, exactly, including subnormals, infinities and NaNs.
    @inline(__always)
    static func widenHalfBits(_ half: SIMD16<UInt32>) -> SIMD16<UInt32> {
        let exponentAndMantissa = half & 0x7fff
        let exponent = half & 0x7c00
        var bits = (exponentAndMantissa &<< 13) &+ SIMD16<UInt32>(repeating: 112 << 23)
        bits.replace(with: bits &+ SIMD16<UInt32>(repeating: 112 << 23), where: exponent .== 0x7c00)
        let subnormalBase = unsafeBitCast(bits &+ SIMD16<UInt32>(repeating: 1 << 23), to: SIMD16<Float>.self)
        let subnormal = subnormalBase - SIMD16<Float>(repeating: 6.103515625e-05)
        bits.replace(with: unsafeBitCast(subnormal, to: SIMD16<UInt32>.self), where: exponent .== 0)
        return bits | ((half & 0x8000) &<< 16)
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
        let values = input + width * 4
        let out = UnsafeMutableRawPointer(destination)
        for row in 0..<rows {
            let rowStart = row * width
            var column = 0
            while column + 16 <= width {
                let levels = values.loadUnaligned(fromByteOffset: rowStart + column, as: SIMD16<Int8>.self)
                let scale = input.loadUnaligned(fromByteOffset: column * 4, as: SIMD16<Float>.self)
                let decoded = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: levels)) * scale
                out.storeBytes(of: decoded, toByteOffset: (rowStart + column) * 4, as: SIMD16<Float>.self)
                column += 16
            }
            while column < width {
                let level = values.load(fromByteOffset: rowStart + column, as: Int8.self)
                destination[rowStart + column] = Float(level) * input.loadUnaligned(fromByteOffset: column * 4, as: Float.self)
                column += 1
            }
        }
    }

    /// Dequantizes a per-row block written by `quantizePerRow`.
    static func dequantizePerRow(_ input: UnsafeRawPointer, rows: Int, width: Int, into destination: UnsafeMutablePointer<Float>) {
        let values = input + rows * 4
        let out = UnsafeMutableRawPointer(destination)
        for row in 0..<rows {
            let rowStart = row * width
            let scale = input.loadUnaligned(fromByteOffset: row * 4, as: Float.self)
            let scaleVector = SIMD16<Float>(repeating: scale)
            var column = 0
            while column + 16 <= width {
                let levels = values.loadUnaligned(fromByteOffset: rowStart + column, as: SIMD16<Int8>.self)
                let decoded = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: levels)) * scaleVector
                out.storeBytes(of: decoded, toByteOffset: (rowStart + column) * 4, as: SIMD16<Float>.self)
                column += 16
            }
            while column < width {
                destination[rowStart + column] = Float(values.load(fromByteOffset: rowStart + column, as: Int8.self)) * scale
                column += 1
            }
        }
    }
}
