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

/// What the engine states about a document before writing its KV.
public struct DocumentHeader: Sendable, Equatable {
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

/// The JSON manifest of one stored document (`manifest.json` in the entry directory).
public struct DocumentManifest: Codable, Sendable, Equatable {
    /// The on-disk format version this code writes and reads (2: bound checksums and a manifest
    /// checksum; entries of other versions are discarded and rebuilt).
    public static let currentFormatVersion = 2

    /// Format version of the entry.
    public var formatVersion: Int
    /// The entry's key, 64 hex digits.
    public var key: String
    public var modelIdentity: String
    public var tokenizerDigest: String
    public var prefillMode: String
    public var prefillParameters: [String: String]
    public var tokenCount: Int
    public var layers: Int
    public var kvDim: Int
    public var blockSize: Int
    public var numberFormat: KVNumberFormat
    /// Compression of each block: `lz4-frame` (content checksum and content size on).
    public var codec: String
    /// Byte shuffle applied before compression: bytes per element grouped into planes (1 = none).
    public var shuffleElementBytes: Int
    /// Checksum algorithm of `BlockRecord.checksum` and `LayerRecord.keysChecksum`.
    public var checksumAlgorithm: String
    public var exactForQuestions: Bool
    /// Sink token indices: one list shared by all layers, or one list per layer.
    public var sinks: [[Int32]]
    /// Creation time, seconds since 1970.
    public var createdAt: Double
    /// Per-layer files and blocks.
    public var layerRecords: [LayerRecord]
    /// xxHash64 of the manifest's canonical JSON with this field empty, 16 hex digits: any edit
    /// of the manifest makes the entry corrupt.
    public var manifestChecksum: String

    /// The header this manifest was written from.
    public var header: DocumentHeader {
        DocumentHeader(
            modelIdentity: modelIdentity, tokenizerDigest: tokenizerDigest, prefillMode: prefillMode,
            prefillParameters: prefillParameters, tokenCount: tokenCount, layers: layers, kvDim: kvDim,
            blockSize: blockSize, numberFormat: numberFormat, exactForQuestions: exactForQuestions)
    }

    /// Number of blocks per layer.
    public var blockCount: Int { header.blockCount }

    /// Total bytes of the compressed KV blocks over all layers.
    public var compressedBytes: Int64 {
        layerRecords.reduce(0) { $0 + $1.dataLength }
    }

    /// Bytes of the KV as f32 (K and V, all layers): what the blocks decode to.
    public var decodedBytes: Int64 {
        Int64(layers) * Int64(tokenCount) * Int64(kvDim) * 2 * 4
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
