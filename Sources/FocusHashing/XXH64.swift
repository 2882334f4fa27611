/// xxHash64 (seed 0 by default), the per-block checksum recorded in manifests.
///
/// Written from the published algorithm description; results match the reference library.
public enum XXH64 {
    // MARK: - Constants

    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    // MARK: - Hashing

    /// The 64-bit hash of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        var index = 0
        var result: UInt64
        if count >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while index + 32 <= count {
                v1 = round(v1, load64(bytes, index))
                v2 = round(v2, load64(bytes, index + 8))
                v3 = round(v3, load64(bytes, index + 16))
                v4 = round(v4, load64(bytes, index + 24))
                index += 32
            }
            result = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            result = mergeRound(result, v1)
            result = mergeRound(result, v2)
            result = mergeRound(result, v3)
            result = mergeRound(result, v4)
        } else {
            result = seed &+ prime5
        }
        result &+= UInt64(count)
        while index + 8 <= count {
            result ^= round(0, load64(bytes, index))
            result = rotl(result, 27) &* prime1 &+ prime4
            index += 8
        }
        if index + 4 <= count {
            result ^= UInt64(bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian) &* prime1
            result = rotl(result, 23) &* prime2 &+ prime3
            index += 4
        }
        while index < count {
            result ^= UInt64(bytes[index]) &* prime5
            result = rotl(result, 11) &* prime1
            index += 1
        }
        result ^= result >> 33
        result &*= prime2
        result ^= result >> 29
        result &*= prime3
        result ^= result >> 32
        return result
    }

    /// The hash formatted as 16 lowercase hex digits, as stored in manifests.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        hexString(hash(bytes))
    }

    /// Formats a hash value as 16 lowercase hex digits.
    public static func hexString(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    // MARK: - Rounds

    @inline(__always)
    private static func load64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ n: UInt64) -> UInt64 {
        (x << n) | (x >> (64 - n))
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        rotl(accumulator &+ lane &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func mergeRound(_ accumulator: UInt64, _ value: UInt64) -> UInt64 {
        (accumulator ^ round(0, value)) &* prime1 &+ prime4
    }
}
