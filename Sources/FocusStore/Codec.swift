import CLZ4

/// Encodes one block (K rows and V rows) into a payload in the number format, byte-shuffled,
/// and compresses it into one LZ4 frame; and the reverse.
///
/// Payload layout for `rows` rows of width `kvDim` (n = rows * kvDim):
/// - f32: K as 4 byte planes of n, then V as 4 byte planes of n.
/// - f16: K as 2 byte planes of n, then V as 2 byte planes of n.
/// - int8: K's kvDim f32 scales, K's n int8; V's rows f32 scales, V's n int8.
struct BlockCodec {
    static let codecName = "lz4-frame"
    let format: KVNumberFormat
    let kvDim: Int

    /// Bytes per element grouped into planes by the shuffle (1 = no shuffle).
    var shuffleElementBytes: Int {
        switch format {
        case .f32: return 4
        case .f16: return 2
        case .int8: return 1
        }
    }

    /// Bytes of the K part of a payload.
    func keyBytes(rows: Int) -> Int {
        let count = rows * kvDim
        switch format {
        case .f32: return 4 * count
        case .f16: return 2 * count
        case .int8: return 4 * kvDim + count
        }
    }

    /// Bytes of a whole payload (K then V).
    func payloadBytes(rows: Int) -> Int {
        let count = rows * kvDim
        switch format {
        case .f32: return 8 * count
        case .f16: return 4 * count
        case .int8: return 4 * kvDim + count + 4 * rows + count
        }
    }

    // MARK: - Payload

    func encode(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rows: Int, into payload: UnsafeMutableRawPointer) {
        let count = rows * kvDim
        let valuePart = payload + keyBytes(rows: rows)
        switch format {
        case .f32:
            NumberCoding.shuffleFloat32(keys, count: count, into: payload.assumingMemoryBound(to: UInt8.self))
            NumberCoding.shuffleFloat32(values, count: count, into: valuePart.assumingMemoryBound(to: UInt8.self))
        case .f16:
            NumberCoding.shuffleFloat16(keys, count: count, into: payload.assumingMemoryBound(to: UInt8.self))
            NumberCoding.shuffleFloat16(values, count: count, into: valuePart.assumingMemoryBound(to: UInt8.self))
        case .int8:
            NumberCoding.quantizePerColumn(keys, rows: rows, width: kvDim, into: payload)
            NumberCoding.quantizePerRow(values, rows: rows, width: kvDim, into: valuePart)
        }
    }

    func decode(_ payload: UnsafeRawPointer, rows: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        let count = rows * kvDim
        let valuePart = payload + keyBytes(rows: rows)
        switch format {
        case .f32:
            NumberCoding.unshuffleFloat32(payload.assumingMemoryBound(to: UInt8.self), count: count, into: keys)
            NumberCoding.unshuffleFloat32(valuePart.assumingMemoryBound(to: UInt8.self), count: count, into: values)
        case .f16:
            NumberCoding.unshuffleFloat16(payload.assumingMemoryBound(to: UInt8.self), count: count, into: keys)
            NumberCoding.unshuffleFloat16(valuePart.assumingMemoryBound(to: UInt8.self), count: count, into: values)
        case .int8:
            NumberCoding.dequantizePerColumn(payload, rows: rows, width: kvDim, into: keys)
            NumberCoding.dequantizePerRow(valuePart, rows: rows, width: kvDim, into: values)
        }
    }

    // MARK: - LZ4 frames

    private static func preferences(contentSize: Int) -> LZ4F_preferences_t {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max256KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        preferences.frameInfo.contentSize = UInt64(contentSize)
        preferences.compressionLevel = 0
        return preferences
    }

    /// Upper bound of a frame's size for a payload of `payloadBytes`.
    static func frameBound(payloadBytes: Int) -> Int {
        var prefs = preferences(contentSize: payloadBytes)
        return LZ4F_compressFrameBound(payloadBytes, &prefs)
    }

    /// Compresses `size` payload bytes into one frame at `frame` (capacity from `frameBound`).
    static func compress(_ payload: UnsafeRawPointer, size: Int, into frame: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        var prefs = preferences(contentSize: size)
        let written = LZ4F_compressFrame(frame, capacity, payload, size, &prefs)
        guard LZ4F_isError(written) == 0 else {
            throw StoreError.invalidArgument("LZ4 compression failed: \(String(cString: LZ4F_getErrorName(written)))")
        }
        return written
    }
}

/// A reusable LZ4 frame decompression context.
final class FrameDecompressor {
    private var context: OpaquePointer?

    init() {
        _ = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
    }

    deinit { _ = LZ4F_freeDecompressionContext(context) }

    /// Decompresses exactly one frame of `frameBytes` into exactly `payloadBytes`.
    /// Returns false on any mismatch: bad frame, failed content checksum, wrong size, trailing bytes.
    func decompress(_ frame: UnsafeRawPointer, frameBytes: Int, into payload: UnsafeMutableRawPointer, payloadBytes: Int) -> Bool {
        guard context != nil else { return false }
        var options = LZ4F_decompressOptions_t()
        options.stableDst = 1
        var consumed = 0
        var produced = 0
        while true {
            var sourceLeft = frameBytes - consumed
            var destinationLeft = payloadBytes - produced
            let hint = LZ4F_decompress(context, payload + produced, &destinationLeft, frame + consumed, &sourceLeft, &options)
            if LZ4F_isError(hint) != 0 {
                LZ4F_resetDecompressionContext(context)
                return false
            }
            consumed += sourceLeft
            produced += destinationLeft
            if hint == 0 { break }
            if consumed >= frameBytes || (sourceLeft == 0 && destinationLeft == 0) {
                LZ4F_resetDecompressionContext(context)
                return false
            }
        }
        return consumed == frameBytes && produced == payloadBytes
    }
}

// MARK: - Number formats

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
