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
