import Foundation
import Glibc

/// How stored K and V numbers are written.
public enum KVNumberFormat: String, Codable, Sendable, CaseIterable {
    /// 32-bit floats, exact.
    case f32
    /// IEEE half precision; decoded values equal `Float(Float16(x))`.
    case f16
    /// 8-bit integers with f32 scales: K per channel per block, V per token.
    /// Each decoded element is within half a scale step of the original.
    case int8
}

/// What the engine states about a document before writing its KV. The manifest written with the
/// KV holds it (`DocumentManifest.header`) and writes its fields at the top level of its JSON.
public struct DocumentHeader: Codable, Sendable, Equatable {
    /// Model identity (config and weight digest).
    public var modelIdentity: String
    /// Digest of the tokenizer that produced the token ids.
    public var tokenizerDigest: String
    /// How the KV was prefilled, for example "block-causal".
    public var prefillMode: String
    /// The prefill mode's parameters, free-form.
    public var prefillParameters: [String: String]
    /// Number of document tokens (rows per layer).
    public var tokenCount: Int
    /// Number of transformer layers.
    public var layers: Int
    /// Floats per token per layer for K, and for V (numKVHeads * headDim).
    public var kvDim: Int
    /// Tokens per stored block (the last block may be shorter).
    public var blockSize: Int
    /// Number format of the stored K and V.
    public var numberFormat: KVNumberFormat
    /// Whether the stored KV equals what a question-time prefill would compute.
    public var exactForQuestions: Bool

    /// Creates a header; `blockSize` defaults to 64 tokens and `numberFormat` to f16.
    public init(
        modelIdentity: String, tokenizerDigest: String, prefillMode: String,
        prefillParameters: [String: String] = [:], tokenCount: Int, layers: Int, kvDim: Int,
        blockSize: Int = 64, numberFormat: KVNumberFormat = .f16, exactForQuestions: Bool
    ) {
        self.modelIdentity = modelIdentity
        self.tokenizerDigest = tokenizerDigest
        self.prefillMode = prefillMode
        self.prefillParameters = prefillParameters
        self.tokenCount = tokenCount
        self.layers = layers
        self.kvDim = kvDim
        self.blockSize = blockSize
        self.numberFormat = numberFormat
        self.exactForQuestions = exactForQuestions
    }

    /// Number of blocks per layer.
    public var blockCount: Int { (tokenCount + blockSize - 1) / blockSize }

    /// Rows in block `block` (all `blockSize` except possibly the last).
    public func rows(inBlock block: Int) -> Int {
        min(blockSize, tokenCount - block * blockSize)
    }
}

/// Where one compressed block lies in its layer file.
public struct BlockRecord: Codable, Sendable, Equatable {
    /// Byte offset of the LZ4 frame in the layer file.
    public var offset: Int64
    /// Length of the LZ4 frame in bytes.
    public var length: Int
    /// xxHash64 of the frame bytes, seeded by the entry key, layer and block index
    /// (`BoundChecksum`), 16 hex digits: a record moved to another place does not verify.
    public var checksum: String
}

/// One layer's files and blocks.
public struct LayerRecord: Codable, Sendable, Equatable {
    /// Data file name inside the entry, e.g. `layer-007.kv`.
    public var dataFile: String
    /// Representative-key file name inside the entry, e.g. `keys-007.f32`.
    public var keysFile: String
    /// Expected byte length of the data file.
    public var dataLength: Int64
    /// xxHash64 of the whole representative-key file, seeded by the entry key and layer, 16 hex digits.
    public var keysChecksum: String
    /// The layer's blocks in token order.
    public var blocks: [BlockRecord]
}

/// The JSON manifest of one stored document (`manifest.json` in the entry directory): the
/// document's header, whose fields it writes beside its own and reads as its own
/// (`manifest.tokenCount` is `manifest.header.tokenCount`), and the entry's layout.
@dynamicMemberLookup
public struct DocumentManifest: Sendable, Equatable {
    /// The on-disk format version this code writes and reads (2: bound checksums and a manifest
    /// checksum; entries of other versions are discarded and rebuilt).
    public static let currentFormatVersion = 2

    /// Format version of the entry.
    public var formatVersion: Int
    /// The entry's key, 64 hex digits.
    public var key: String
    /// The header this manifest was written from: model, tokenizer, prefill, shapes, format.
    public var header: DocumentHeader
    /// Compression of each block: `lz4-frame` (content checksum and content size on).
    public var codec: String
    /// Byte shuffle applied before compression: bytes per element grouped into planes (1 = none).
    public var shuffleElementBytes: Int
    /// Checksum algorithm of `BlockRecord.checksum` and `LayerRecord.keysChecksum`.
    public var checksumAlgorithm: String
    /// Sink token indices: one list shared by all layers, or one list per layer.
    public var sinks: [[Int32]]
    /// Creation time, seconds since 1970.
    public var createdAt: Double
    /// Per-layer files and blocks.
    public var layerRecords: [LayerRecord]
    /// xxHash64 of the manifest's canonical JSON with this field empty, 16 hex digits: any edit
    /// of the manifest makes the entry corrupt.
    public var manifestChecksum: String

    /// A header field, read and written as the manifest's own.
    public subscript<Value>(dynamicMember field: WritableKeyPath<DocumentHeader, Value>) -> Value {
        get { header[keyPath: field] }
        set { header[keyPath: field] = newValue }
    }

    /// Number of blocks per layer.
    public var blockCount: Int { header.blockCount }

    /// Total bytes of the compressed KV blocks over all layers.
    public var compressedBytes: Int64 {
        layerRecords.reduce(0) { $0 + $1.dataLength }
    }

    /// Bytes of the KV as f32 (K and V, all layers): what the blocks decode to.
    public var decodedBytes: Int64 {
        Int64(header.layers) * Int64(header.tokenCount) * Int64(header.kvDim) * 2 * 4
    }
}

extension DocumentManifest: Codable {
    /// The manifest's own keys; the header's fields sit beside them, under their own names.
    private enum CodingKeys: String, CodingKey {
        case formatVersion, key, codec, shuffleElementBytes, checksumAlgorithm, sinks, createdAt, layerRecords
        case manifestChecksum
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        header = try DocumentHeader(from: decoder)
        formatVersion = try container.decode(Int.self, forKey: .formatVersion)
        key = try container.decode(String.self, forKey: .key)
        codec = try container.decode(String.self, forKey: .codec)
        shuffleElementBytes = try container.decode(Int.self, forKey: .shuffleElementBytes)
        checksumAlgorithm = try container.decode(String.self, forKey: .checksumAlgorithm)
        sinks = try container.decode([[Int32]].self, forKey: .sinks)
        createdAt = try container.decode(Double.self, forKey: .createdAt)
        layerRecords = try container.decode([LayerRecord].self, forKey: .layerRecords)
        manifestChecksum = try container.decode(String.self, forKey: .manifestChecksum)
    }

    public func encode(to encoder: Encoder) throws {
        try header.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(formatVersion, forKey: .formatVersion)
        try container.encode(key, forKey: .key)
        try container.encode(codec, forKey: .codec)
        try container.encode(shuffleElementBytes, forKey: .shuffleElementBytes)
        try container.encode(checksumAlgorithm, forKey: .checksumAlgorithm)
        try container.encode(sinks, forKey: .sinks)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(layerRecords, forKey: .layerRecords)
        try container.encode(manifestChecksum, forKey: .manifestChecksum)
    }
}

// MARK: - Errors

/// Errors raised by the document store. Each names the file, layer or field at fault.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// A block's bytes do not match its recorded checksum, or fail to decompress.
    case corruptBlock(file: String, layer: Int, block: Int)
    /// An entry's manifest or side file is missing, unreadable or inconsistent.
    case corruptEntry(path: String, reason: String)
    /// A system call failed; `errno` is the C error code (28 = ENOSPC, disk full).
    case io(operation: String, path: String, errno: Int32)
    /// The caller passed data that does not match the document's header.
    case invalidArgument(String)
    /// The writer was used after the document was finished or abandoned.
    case writerClosed

    public var description: String {
        switch self {
        case let .corruptBlock(file, layer, block):
            return "corrupt block \(block) of layer \(layer) in \(file)"
        case let .corruptEntry(path, reason):
            return "corrupt store entry \(path): \(reason)"
        case let .io(operation, path, code):
            return "\(operation) failed on \(path): \(String(cString: strerror(code))) (errno \(code))"
        case let .invalidArgument(message):
            return "invalid argument: \(message)"
        case .writerClosed:
            return "document writer used after it was closed"
        }
    }
}
