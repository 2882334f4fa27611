import Foundation

/// The cache key of one stored document: a SHA-256 digest, written as 64 lowercase hex digits.
///
/// Everything that changes the stored KV must be part of the digest (model identity, tokenizer,
/// prefill mode and its parameters, token ids), so a different input is a miss, never a wrong hit.
public struct StoreKey: Hashable, Sendable, CustomStringConvertible {
    /// The digest as 64 lowercase hex digits; also the entry's directory name.
    public let hex: String

    /// The SHA-256 digest of `parts`, each prefixed by its byte length so that part boundaries
    /// matter (`["ab", "c"]` and `["a", "bc"]` give different keys).
    public init(digestOf parts: [Data]) {
        var hasher = SHA256()
        var countPrefix = UInt64(parts.count).littleEndian
        withUnsafeBytes(of: &countPrefix) { hasher.update($0) }
        for part in parts {
            var length = UInt64(part.count).littleEndian
            withUnsafeBytes(of: &length) { hasher.update($0) }
            hasher.update(part)
        }
        hex = hasher.finalize().map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    /// Rebuilds a key from its hex form (a manifest's `key` field or a directory name).
    /// Throws `StoreError.invalidArgument` unless `hex` is 64 lowercase hex digits.
    public init(hex: String) throws {
        guard hex.utf8.count == 64,
              hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else {
            throw StoreError.invalidArgument("store key must be 64 lowercase hex digits, got '\(hex)'")
        }
        self.hex = hex
    }

    /// The standard key of a prefilled document.
    ///
    /// - Parameters:
    ///   - modelIdentity: config and weight digest of the model.
    ///   - tokenizerDigest: digest of the tokenizer files.
    ///   - prefillMode: how the KV was computed (for example "block-causal").
    ///   - parameters: the prefill mode's parameters; order does not matter.
    ///   - tokenIDs: the document's token ids.
    public static func document(
        modelIdentity: String, tokenizerDigest: String, prefillMode: String,
        parameters: [String: String], tokenIDs: [Int]
    ) -> StoreKey {
        var tokens = Data(capacity: tokenIDs.count * 8)
        for id in tokenIDs {
            var little = Int64(id).littleEndian
            withUnsafeBytes(of: &little) { tokens.append(contentsOf: $0) }
        }
        let sortedParameters = parameters.keys.sorted().map { name -> Data in
            let value = parameters[name] ?? ""
            return Data("\(name.utf8.count):\(name)=\(value.utf8.count):\(value)".utf8)
        }
        var parts: [Data] = [
            Data("focus-store-key-v1".utf8), Data(modelIdentity.utf8), Data(tokenizerDigest.utf8),
            Data(prefillMode.utf8), Data("\(sortedParameters.count)".utf8),
        ]
        parts.append(contentsOf: sortedParameters)
        parts.append(tokens)
        return StoreKey(digestOf: parts)
    }

    /// The standard key of a prefilled document, for 32-bit token ids (same key as the `[Int]` form).
    public static func document(
        modelIdentity: String, tokenizerDigest: String, prefillMode: String,
        parameters: [String: String], tokenIDs: [Int32]
    ) -> StoreKey {
        document(
            modelIdentity: modelIdentity, tokenizerDigest: tokenizerDigest, prefillMode: prefillMode,
            parameters: parameters, tokenIDs: tokenIDs.map { Int($0) })
    }

    public var description: String { hex }
}

// MARK: - SHA-256

/// SHA-256 (FIPS 180-4), used to derive collision-safe cache keys.
///
/// Incremental: call `update` any number of times, then `finalize` once.
public struct SHA256: Sendable {
    // MARK: - Constants

    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    // MARK: - State

    private var state: [UInt32] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]
    private var pending: [UInt8] = []
    private var totalBytes: UInt64 = 0

    /// Creates a hasher in the initial state.
    public init() {
        pending.reserveCapacity(64)
    }

    /// The digest of `data` in one call.
    public static func hash(_ data: Data) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data)
        return hasher.finalize()
    }

    // MARK: - Feeding

    /// Appends `data` to the message.
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// Appends raw bytes to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        totalBytes &+= UInt64(bytes.count)
        var index = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending.append(contentsOf: bytes[0..<take])
            index = take
            if pending.count == 64 {
                let block = pending
                block.withUnsafeBytes { compress(block: $0) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        while bytes.count - index >= 64 {
            compress(block: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + 64)]))
            index += 64
        }
        if index < bytes.count {
            pending.append(contentsOf: bytes[index...])
        }
    }

    /// Pads the message and returns the 32-byte digest.
    public mutating func finalize() -> [UInt8] {
        let bitLength = totalBytes &* 8
        var tail: [UInt8] = [0x80]
        let used = (pending.count + 1) % 64
        let zeros = used <= 56 ? 56 - used : 120 - used
        tail.append(contentsOf: repeatElement(0, count: zeros))
        for shift in stride(from: 56, through: 0, by: -8) {
            tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        let savedTotal = totalBytes
        tail.withUnsafeBytes { update($0) }
        totalBytes = savedTotal
        var digest: [UInt8] = []
        digest.reserveCapacity(32)
        for word in state {
            digest.append(contentsOf: [
                UInt8(word >> 24), UInt8((word >> 16) & 0xff), UInt8((word >> 8) & 0xff), UInt8(word & 0xff),
            ])
        }
        return digest
    }

    // MARK: - Compression function

    private mutating func compress(block: UnsafeRawBufferPointer) {
        var w = [UInt32](repeating: 0, count: 64)
        for i in 0..<16 {
            w[i] = UInt32(block[4 * i]) << 24 | UInt32(block[4 * i + 1]) << 16
                | UInt32(block[4 * i + 2]) << 8 | UInt32(block[4 * i + 3])
        }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3]
        var e = state[4], f = state[5], g = state[6], h = state[7]
        for i in 0..<64 {
            let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let choice = (e & f) ^ (~e & g)
            let t1 = h &+ s1 &+ choice &+ SHA256.roundConstants[i] &+ w[i]
            let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ majority
            h = g; g = f; f = e; e = d &+ t1
            d = c; c = b; b = a; a = t1 &+ t2
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }

    @inline(__always)
    private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 {
        (x >> n) | (x << (32 - n))
    }
}

// MARK: - xxHash64

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
