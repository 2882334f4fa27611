import FocusDecoding
import FocusModel
import FocusStore
import Foundation

/// How a document's KV is computed for the store.
public enum PrefillMode: Sendable, Equatable {
    /// One forward over the whole document (attending only within it).
    case whole
    /// Prefilling-dLLM: independent chunks of `size` tokens, each led by a BOS anchor; the
    /// anchors are stored rows. Positions follow `PrefillOptions.chunkPositions`.
    case chunked(size: Int)

    public var name: String {
        switch self {
        case .whole: return "whole"
        case .chunked: return "chunked"
        }
    }

    public var parameters: [String: String] {
        switch self {
        case .whole: return [:]
        case .chunked(let size): return ["chunk": "\(size)"]
        }
    }
}

/// Where the rows of chunked prefill sit.
public enum ChunkPositions: String, Sendable, Codable, CaseIterable {
    /// Positions run on over the whole chunked sequence (anchors included).
    case continuous
    /// Every chunk starts at position 0 and the question follows the longest chunk, as if it
    /// came right after each chunk: documents longer than the model's context fit.
    case local
}

/// Options of a store prefill.
public struct PrefillOptions: Sendable, Equatable {
    public var mode = PrefillMode.whole
    /// Positions of chunked prefill (ignored for whole prefill).
    public var chunkPositions = ChunkPositions.continuous
    public var numberFormat = KVNumberFormat.f16
    /// Rows per stored block (also Focus's block size when decoding from the store).
    public var blockSize = 64
    /// Sinks recorded per layer.
    public var sinkCount = 16

    public init() {}

    /// The prefill's parameters as recorded in store keys and manifests.
    public var parameters: [String: String] {
        var out = mode.parameters
        if case .chunked = mode { out["positions"] = chunkPositions.rawValue }
        return out
    }

    /// Checks the options, naming the field at fault.
    public func validate() throws {
        if case .chunked(let size) = mode, size < 1 {
            throw EngineError.store("prefill chunk size must be at least 1, got \(size)")
        }
        if blockSize < 1 { throw EngineError.store("stored blockSize must be at least 1, got \(blockSize)") }
        if sinkCount < 0 { throw EngineError.store("prefill sinks must not be negative, got \(sinkCount)") }
    }
}

/// What a prefill did.
public struct PrefillReport: Sendable {
    public var key: String
    /// Document tokens, and rows stored (more when chunk anchors were added).
    public var documentTokens: Int
    public var storedRows: Int
    /// True when the entry already existed and nothing was computed.
    public var storeHit: Bool
    public var seconds: Double
    public var compressedBytes: Int64
    public var decodedBytes: Int64
    public var exactForQuestions: Bool

    /// Decoded f32 bytes over bytes on disk.
    public var compressionRatio: Double { compressedBytes == 0 ? 0 : Double(decodedBytes) / Double(compressedBytes) }
}

extension PrefillReport {
    /// The report of the entry `manifest` describes, for a document of `documentTokens` tokens.
    init(manifest: DocumentManifest, documentTokens: Int, storeHit: Bool, seconds: Double) {
        self.init(
            key: manifest.key, documentTokens: documentTokens, storedRows: manifest.tokenCount, storeHit: storeHit,
            seconds: seconds, compressedBytes: manifest.compressedBytes, decodedBytes: manifest.decodedBytes,
            exactForQuestions: manifest.exactForQuestions)
    }
}

/// Computes a document's KV layer by layer and streams each layer to the store as it is
/// produced, so memory holds one layer's KV and the hidden state, never the whole model's KV.
public struct DocumentPrefiller {
    public let loaded: LoadedModel
    public let store: DocumentStore?

    public init(loaded: LoadedModel, store: DocumentStore?) {
        self.loaded = loaded
        self.store = store
    }

    /// The store key of a document's token ids under `options`.
    public func key(documentIDs: [Int32], options: PrefillOptions) -> StoreKey {
        var parameters = options.parameters
        parameters["format"] = options.numberFormat.rawValue
        parameters["block"] = "\(options.blockSize)"
        return StoreKey.document(
            modelIdentity: loaded.identity, tokenizerDigest: loaded.tokenizerDigest, prefillMode: options.mode.name,
            parameters: parameters, tokenIDs: documentIDs)
    }

    /// The rows the store holds for a document: its ids, with BOS anchors in chunked mode.
    public func storedTokens(documentIDs: [Int32], options: PrefillOptions) -> (tokens: [Int32], chunks: [Range<Int>]) {
        guard case .chunked(let size) = options.mode, size > 0, documentIDs.count > size else {
            return (documentIDs, [0..<documentIDs.count])
        }
        let bos = loaded.configuration.bosTokenID ?? documentIDs[0]
        var tokens: [Int32] = []
        var chunks: [Range<Int>] = []
        var start = 0
        while start < documentIDs.count {
            let end = min(documentIDs.count, start + size)
            let lower = tokens.count
            if start > 0 || documentIDs[0] != bos { tokens.append(bos) }
            tokens += documentIDs[start..<end]
            chunks.append(lower..<tokens.count)
            start = end
        }
        return (tokens, chunks)
    }

    /// The position of every stored row, by chunk and flat, and the first position after the
    /// document (where the question starts).
    public func storedPositions(chunks: [Range<Int>], options: PrefillOptions)
        -> (chunks: [[Int32]], flat: [Int32], next: Int32)
    {
        let local = options.chunkPositions == .local && chunks.count > 1
        let byChunk = chunks.map { chunk in chunk.map { Int32(local ? $0 - chunk.lowerBound : $0) } }
        let next = byChunk.map { ($0.last ?? -1) + 1 }.max() ?? 0
        return (byChunk, byChunk.flatMap { $0 }, next)
    }

    /// Opens the stored KV of `documentIDs`, computing and storing it first on a miss. Two
    /// processes asking for the same missing document compute it once.
    /// - Parameter heartbeat: called after every layer with the layers done and their total;
    ///   throwing abandons the prefill, leaving the store as it was.
    public func prefill(
        documentIDs: [Int32], options: PrefillOptions, heartbeat: ((Int, Int) throws -> Void)? = nil
    ) throws -> (StoredDocument, PrefillReport) {
        guard store != nil else { throw EngineError.store("no document store to prefill into") }
        try options.validate()
        return try prefill(documentIDs: documentIDs, checkedOptions: options, heartbeat: heartbeat)
    }

    /// `prefill(documentIDs:options:heartbeat:)` with options checked already: the engine checks
    /// a request's once, with its decoding parameters, before anything is prefilled.
    func prefill(
        documentIDs: [Int32], checkedOptions options: PrefillOptions, heartbeat: ((Int, Int) throws -> Void)?
    ) throws -> (StoredDocument, PrefillReport) {
        guard let store else { throw EngineError.store("no document store to prefill into") }
        guard !documentIDs.isEmpty else { throw EngineError.document("the document has no tokens") }
        let key = key(documentIDs: documentIDs, options: options)
        let started = monotonicSeconds()
        let (tokens, chunks) = storedTokens(documentIDs: documentIDs, options: options)
        let header = header(tokenCount: tokens.count, options: options)
        let (document, hit) = try store.withPrefillLock(key) { () throws -> (StoredDocument, Bool) in
            // An entry whose manifest disagrees with the document in any field is corrupt: the
            // store discards it and it is computed again.
            if let existing = try store.open(key, expecting: header) { return (existing, true) }
            return (try compute(key: key, header: header, tokens: tokens, chunks: chunks, options: options, heartbeat: heartbeat), false)
        }
        let manifest = document.manifest
        let report = PrefillReport(
            manifest: manifest, documentTokens: documentIDs.count, storeHit: hit, seconds: monotonicSeconds() - started)
        return (document, report)
    }

    /// The header a document of `tokenCount` stored rows has under `options`: what its entry's
    /// manifest must say.
    public func header(tokenCount: Int, options: PrefillOptions) -> DocumentHeader {
        let c = loaded.model.configuration
        return DocumentHeader(
            modelIdentity: loaded.identity, tokenizerDigest: loaded.tokenizerDigest, prefillMode: options.mode.name,
            prefillParameters: options.parameters, tokenCount: tokenCount, layers: c.layerCount,
            kvDim: c.kvDimension, blockSize: options.blockSize, numberFormat: options.numberFormat,
            exactForQuestions: c.promptAttention == .blockCausal && options.mode == .whole)
    }

    private func compute(
        key: StoreKey, header: DocumentHeader, tokens: [Int32], chunks: [Range<Int>], options: PrefillOptions,
        heartbeat: ((Int, Int) throws -> Void)?
    ) throws -> StoredDocument {
        let model = loaded.model
        let c = model.configuration
        let hidden = chunks.map { model.embed(Array(tokens[$0])) }
        let positions = storedPositions(chunks: chunks, options: options).chunks
        guard let store else { throw EngineError.store("no document store to prefill into") }
        return try store.write(key, header: header) { writer in
            var sinks: [[Int32]] = []
            let keys = UnsafeMutablePointer<Float>.allocate(capacity: tokens.count * c.kvDimension)
            let values = UnsafeMutablePointer<Float>.allocate(capacity: tokens.count * c.kvDimension)
            let mass = UnsafeMutablePointer<Float>.allocate(capacity: tokens.count)
            defer {
                keys.deallocate()
                values.deallocate()
                mass.deallocate()
            }
            for layer in 0..<c.layerCount {
                for (index, chunk) in chunks.enumerated() {
                    let options = AttentionOptions(keyMass: mass + chunk.lowerBound)
                    let (k, v) = model.runLayer(layer, hidden: hidden[index], positions: positions[index], options: options)
                    (keys + chunk.lowerBound * c.kvDimension).update(from: k.data, count: k.count)
                    (values + chunk.lowerBound * c.kvDimension).update(from: v.data, count: v.count)
                }
                try writer.appendLayer(
                    layer, keys: UnsafeBufferPointer(start: keys, count: tokens.count * c.kvDimension),
                    values: UnsafeBufferPointer(start: values, count: tokens.count * c.kvDimension))
                let masses = Array(UnsafeBufferPointer(start: mass, count: tokens.count))
                sinks.append(topIndices(masses, count: min(options.sinkCount, tokens.count)).map(Int32.init))
                try heartbeat?(layer + 1, c.layerCount)
            }
            try writer.setSinks(sinks)
        }
    }
}
