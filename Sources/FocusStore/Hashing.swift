import FocusHashing
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
