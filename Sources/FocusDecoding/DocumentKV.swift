import FocusModel

/// The document's KV rows `0..<rowCount`, wherever they live (memory, the document store).
public protocol DocumentKVSource: AnyObject {
    var rowCount: Int { get }
    /// Segments covering `ranges` (sorted, disjoint) of the document rows of `layer`, in order.
    func segments(layer: Int, ranges: [Range<Int>]) throws -> [KVSegment]
    /// Block summaries of `layer`'s keys for blocks of `blockSize` rows.
    func representativeKeys(layer: Int, blockSize: Int) throws -> RepresentativeKeys
    /// Bytes read from storage so far, and the seconds it took (0 for memory).
    var bytesRead: Int { get }
    var readSeconds: Double { get }
    /// Attention sinks recorded when the KV was computed (empty when none were).
    func sinks(layer: Int) -> [Int32]
}

extension DocumentKVSource {
    public func sinks(layer: Int) -> [Int32] { [] }
}

/// Document KV held in memory, as computed by a forward pass.
public final class InMemoryDocumentKV: DocumentKVSource {
    public let cache: DenseKVCache
    private var summaries: [Int: RepresentativeKeys] = [:]

    public init(cache: DenseKVCache) { self.cache = cache }

    public var rowCount: Int { cache.count }
    public var bytesRead: Int { 0 }
    public var readSeconds: Double { 0 }

    public func segments(layer: Int, ranges: [Range<Int>]) throws -> [KVSegment] {
        ranges.map { cache.segment(layer: layer, rows: $0) }
    }

    public func representativeKeys(layer: Int, blockSize: Int) throws -> RepresentativeKeys {
        if let known = summaries[layer], known.blockSize == blockSize { return known }
        let summary = RepresentativeKeys(
            keys: cache.keyPointer(layer: layer), rows: cache.count, stride: cache.kvDimension,
            kvDim: cache.kvDimension, blockSize: blockSize)
        summaries[layer] = summary
        return summary
    }
}

/// Sorted, merged row ranges.
func mergedRanges(_ ranges: [Range<Int>]) -> [Range<Int>] {
    var out: [Range<Int>] = []
    for range in ranges.filter({ !$0.isEmpty }).sorted(by: { $0.lowerBound < $1.lowerBound }) {
        if let last = out.last, range.lowerBound <= last.upperBound {
            out[out.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
        } else {
            out.append(range)
        }
    }
    return out
}

/// Maximal runs of consecutive integers in a sorted list.
func runs(of sortedRows: [Int]) -> [Range<Int>] {
    var out: [Range<Int>] = []
    for row in sortedRows {
        if let last = out.last, last.upperBound == row {
            out[out.count - 1] = last.lowerBound..<(row + 1)
        } else {
            out.append(row..<(row + 1))
        }
    }
    return out
}
