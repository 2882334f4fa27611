/// A run of consecutive K and V rows of one layer, held by whoever owns them (a cache, a stored
/// document, the rows a forward pass just computed). Attention reads segments in place.
public struct KVSegment: @unchecked Sendable {
    /// First K row (after RoPE): `rows` rows of `kvDimension` floats, `stride` floats apart.
    public let keys: UnsafePointer<Float>
    /// First V row, same geometry.
    public let values: UnsafePointer<Float>
    public let rows: Int
    public let stride: Int

    public init(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rows: Int, stride: Int) {
        self.keys = keys
        self.values = values
        self.rows = rows
        self.stride = stride
    }
}

/// Options of one attention call.
public struct AttentionOptions {
    /// Per query row, how many keys of the logical key sequence (the context segments in order,
    /// then the call's own rows) it may see, counted from the start. `nil`: every key.
    public var visibleKeys: [Int32]?
    /// When set, receives for every key of the logical sequence the attention probability it
    /// received, summed over heads and query rows (its length must be the total key count).
    public var keyMass: UnsafeMutablePointer<Float>?
    /// When set, receives the call's queries (after RoPE, `n × headCount·headDimension`) before
    /// attention runs, e.g. to score stored blocks by their representative keys.
    public var onQueries: ((Matrix) -> Void)?

    public init(
        visibleKeys: [Int32]? = nil, keyMass: UnsafeMutablePointer<Float>? = nil,
        onQueries: ((Matrix) -> Void)? = nil
    ) {
        self.visibleKeys = visibleKeys
        self.keyMass = keyMass
        self.onQueries = onQueries
    }
}

/// Rows of one forward that attend together: a request's rows when several requests share a
/// forward (their projections and MLP run as one matrix product, their attention apart).
public struct AttentionGroup {
    /// The group's rows of the hidden state (consecutive).
    public var rows: Range<Int>
    /// The earlier K/V rows the group attends to, before its own rows.
    public var context: [KVSegment]
    /// The group's attention options; `visibleKeys` and `keyMass` refer to the group's rows and keys.
    public var options: AttentionOptions

    public init(rows: Range<Int>, context: [KVSegment], options: AttentionOptions = AttentionOptions()) {
        self.rows = rows
        self.context = context
        self.options = options
    }
}

/// Scaled dot-product attention over a list of KV segments, with MHA or GQA.
///
/// Work is split into (head, tile of query rows) items spread over the cores with OpenBLAS
/// single-threaded, so the two levels of parallelism never fight. Scores for a tile are one
/// `cblas_sgemm` per segment into a tile-by-keys buffer; never is the cache copied.
public enum Attention {
    /// Query rows per tile: bounds the score buffer to `tileRows × keys` floats per core.
    public static let tileRows = 128

    /// Computes `output[n × H·hd]` from `queries[n × H·hd]` (after RoPE) against `segments`.
    public static func compute(
        queries: UnsafePointer<Float>, rows n: Int,
        segments: [KVSegment], headCount: Int, kvHeadCount: Int, headDimension hd: Int,
        options: AttentionOptions = AttentionOptions(),
        output: UnsafeMutablePointer<Float>
    ) {
        let segments = segments.filter { $0.rows > 0 }
        let totalKeys = segments.reduce(0) { $0 + $1.rows }
        let width = headCount * hd
        guard n > 0 else { return }
        guard totalKeys > 0 else {
            output.update(repeating: 0, count: n * width)
            return
        }
        if options.keyMass == nil && kernel == .fused {
            computeFused(
                queries: queries, rows: n, segments: segments, headCount: headCount, kvHeadCount: kvHeadCount,
                headDimension: hd, visibleKeys: options.visibleKeys, output: output)
            return
        }
        if options.keyMass == nil && kernel == .streaming && totalKeys > keyChunk {
            computeStreaming(
                queries: queries, rows: n, segments: segments, headCount: headCount, kvHeadCount: kvHeadCount,
                headDimension: hd, visibleKeys: options.visibleKeys, output: output)
            return
        }
        let groupSize = headCount / kvHeadCount
        let tiles = (n + tileRows - 1) / tileRows
        let items = headCount * tiles
        let workers = min(ComputeThreads.count, items)
        let scale = 1 / Float(hd).squareRoot()
        let masses = options.keyMass.map { _ in
            (0..<workers).map { _ -> UnsafeMutablePointer<Float> in
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: totalKeys)
                buffer.initialize(repeating: 0, count: totalKeys)
                return buffer
            }
        }
        let visible = options.visibleKeys

        ComputeThreads.parallelFor(workers) { worker in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * totalKeys)
            defer { scores.deallocate() }
            var item = worker
            while item < items {
                let head = item / tiles
                let tile = item % tiles
                let group = head / groupSize
                let r0 = tile * tileRows
                let m = min(tileRows, n - r0)
                let q = queries + r0 * width + head * hd
                var column = 0
                for segment in segments {
                    multiplyTransposed(
                        m: m, n: segment.rows, k: hd, a: q, lda: width,
                        b: segment.keys + group * hd, ldb: segment.stride,
                        c: scores + column, ldc: totalKeys)
                    column += segment.rows
                }
                for r in 0..<m {
                    let limit = visible.map { Int($0[r0 + r]) } ?? totalKeys
                    Kernels.softmax(scores + r * totalKeys, count: totalKeys, visible: min(limit, totalKeys), scale: scale)
                }
                if let mass = masses?[worker] {
                    for r in 0..<m { accumulate(scores + r * totalKeys, into: mass, count: totalKeys) }
                }
                column = 0
                let out = output + r0 * width + head * hd
                for (index, segment) in segments.enumerated() {
                    multiply(
                        m: m, n: hd, k: segment.rows, a: scores + column, lda: totalKeys,
                        b: segment.values + group * hd, ldb: segment.stride,
                        c: out, ldc: width, beta: index == 0 ? 0 : 1)
                    column += segment.rows
                }
                item += workers
            }
        }

        if let target = options.keyMass, let masses {
            target.update(repeating: 0, count: totalKeys)
            for buffer in masses {
                accumulate(buffer, into: target, count: totalKeys)
                buffer.deallocate()
            }
        }
    }

    @inlinable
    static func accumulate(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            let a = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD16<Float>.self)
            let b = UnsafeRawPointer(target + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(target + i).storeBytes(of: a + b, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            target[i] += source[i]
            i += 1
        }
    }
}
