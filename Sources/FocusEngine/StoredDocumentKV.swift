import FocusDecoding
import FocusModel
import FocusStore

/// A stored document's KV as the decoders see it: blocks are read from disk (pread, checksum,
/// LZ4, number format) only when a layer first asks for them, then kept for later steps.
public final class StoredDocumentKV: DocumentKVSource {
    public let document: StoredDocument
    private let kvDimension: Int
    private let blockSize: Int
    /// layer → block → first K row and first V row of the decoded block.
    private var loaded: [Int: [Int: (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)]] = [:]
    private var allocations: [UnsafeMutablePointer<Float>] = []
    public private(set) var bytesRead = 0
    public private(set) var readSeconds = 0.0

    public init(document: StoredDocument) {
        self.document = document
        kvDimension = document.manifest.kvDim
        blockSize = document.manifest.blockSize
    }

    deinit { allocations.forEach { $0.deallocate() } }

    public var rowCount: Int { document.manifest.tokenCount }

    public func segments(layer: Int, ranges: [Range<Int>]) throws -> [KVSegment] {
        let needed = Set(ranges.flatMap { range -> [Int] in
            range.isEmpty ? [] : Array((range.lowerBound / blockSize)...((range.upperBound - 1) / blockSize))
        })
        try load(layer: layer, blocks: needed.sorted())
        var segments: [KVSegment] = []
        let blocks = loaded[layer] ?? [:]
        for range in ranges where !range.isEmpty {
            var row = range.lowerBound
            while row < range.upperBound {
                let block = row / blockSize
                let blockStart = block * blockSize
                let end = min(range.upperBound, blockStart + blockSize)
                let buffers = blocks[block]!
                let offset = (row - blockStart) * kvDimension
                segments.append(KVSegment(
                    keys: buffers.keys + offset, values: buffers.values + offset, rows: end - row,
                    stride: kvDimension))
                row = end
            }
        }
        return segments
    }

    public func sinks(layer: Int) -> [Int32] { document.sinks(layer: layer) }

    public func representativeKeys(layer: Int, blockSize requested: Int) throws -> RepresentativeKeys {
        if requested != blockSize {
            throw EngineError.store("Focus block size \(requested) differs from the stored block size \(blockSize)")
        }
        return try document.representativeKeys(layer: layer)
    }

    /// Reads the blocks of `layer` not yet in memory.
    private func load(layer: Int, blocks: [Int]) throws {
        let missing = blocks.filter { loaded[layer]?[$0] == nil }
        guard !missing.isEmpty else { return }
        let rows = missing.reduce(0) { $0 + document.rows(ofBlock: $1).count }
        let keys = UnsafeMutablePointer<Float>.allocate(capacity: rows * kvDimension)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: rows * kvDimension)
        allocations += [keys, values]
        let start = monotonicSeconds()
        _ = try document.readBlocks(layer: layer, blocks: missing, keys: keys, values: values)
        readSeconds += monotonicSeconds() - start
        bytesRead += rows * kvDimension * 2 * MemoryLayout<Float>.size
        var offset = 0
        for block in missing {
            loaded[layer, default: [:]][block] = (keys + offset * kvDimension, values + offset * kvDimension)
            offset += document.rows(ofBlock: block).count
        }
    }
}

extension StoreError {
    /// A damaged entry (a block or a file of it): discard it and compute it again.
    var isCorruption: Bool {
        switch self {
        case .corruptBlock, .corruptEntry: return true
        default: return false
        }
    }
}
