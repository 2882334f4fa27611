#if canImport(Glibc)
    import Glibc
#endif

/// The fused attention kernel: per (head, tile of query rows), scores against a chunk of keys,
/// an online softmax and the weighted values, all in one worker's cache, before the next chunk.
///
/// Differences from the first streaming path: chunks beyond every row's visible limit are never
/// computed (the masked half of a block-causal pattern costs nothing), the last visible chunk is
/// trimmed to the widest row, work items are handed out dynamically (their costs differ once
/// masked work is skipped), and the per-row rescaling runs on SIMD16 registers.
extension Attention {
    /// Which attention implementation `compute` uses.
    public enum Kernel: String, Sendable {
        /// Fused online-softmax tiles with masked chunks skipped (the default).
        case fused
        /// The first streaming path: online softmax over every chunk, masked or not.
        case streaming
        /// Full score rows per tile, then one softmax and one product per segment.
        case twoPass = "two-pass"
    }

    /// The kernel `compute` runs when no key mass is asked for: `FOCUS_ATTENTION` (`fused`,
    /// `streaming`, `two-pass`) or `fused`. Benchmarks set it to time kernels in one run.
    nonisolated(unsafe) public static var kernel: Kernel =
        getenvString("FOCUS_ATTENTION").flatMap(Kernel.init(rawValue:)) ?? .fused

    /// Query rows per fused tile.
    public static let fusedTileRows = 128
    /// Keys per fused chunk: a 128 × 256 score tile is 128 KiB, beside 64 KiB of K and of V.
    public static let fusedKeyChunk = 256

    /// Fused attention over `segments` (see `compute`); `visibleKeys` as in `AttentionOptions`.
    public static func computeFused(
        queries: UnsafePointer<Float>, rows n: Int, segments: [KVSegment],
        headCount: Int, kvHeadCount: Int, headDimension hd: Int,
        visibleKeys: [Int32]?, output: UnsafeMutablePointer<Float>
    ) {
        let segments = segments.filter { $0.rows > 0 }
        let totalKeys = segments.reduce(0) { $0 + $1.rows }
        let width = headCount * hd
        let tileRows = fusedTileRows
        let tiles = (n + tileRows - 1) / tileRows
        let limits = tileLimits(visibleKeys, rows: n, tileRows: tileRows, totalKeys: totalKeys)
        let groupSize = headCount / kvHeadCount
        let scale = 1 / Float(hd).squareRoot()

        ComputeThreads.parallelFor(headCount * tiles) { item in
            let head = item / tiles
            let tile = item % tiles
            let r0 = tile * tileRows
            let work = FusedTile(
                rows: min(tileRows, n - r0), firstRow: r0, headDimension: hd, width: width,
                keyLimit: limits[tile], scale: scale)
            work.run(
                queries: queries + r0 * width + head * hd, segments: segments, kvOffset: (head / groupSize) * hd,
                visibleKeys: visibleKeys, output: output + r0 * width + head * hd)
        }
    }

    /// Per tile of query rows, the widest visible limit among its rows (keys beyond it are
    /// masked for every row of the tile).
    static func tileLimits(_ visible: [Int32]?, rows n: Int, tileRows: Int, totalKeys: Int) -> [Int] {
        let tiles = (n + tileRows - 1) / tileRows
        guard let visible else { return Array(repeating: totalKeys, count: tiles) }
        return (0..<tiles).map { tile in
            let rows = (tile * tileRows)..<min(n, (tile + 1) * tileRows)
            return min(totalKeys, Int(visible[rows].max() ?? 0))
        }
    }
}

/// One (head, query tile) work item of the fused kernel with its scratch buffers.
struct FusedTile {
    let rows: Int
    let firstRow: Int
    let headDimension: Int
    let width: Int
    /// Keys of the logical sequence any row of the tile may see.
    let keyLimit: Int
    let scale: Float

    init(rows: Int, firstRow: Int, headDimension: Int, width: Int, keyLimit: Int, scale: Float) {
        self.rows = rows
        self.firstRow = firstRow
        self.headDimension = headDimension
        self.width = width
        self.keyLimit = keyLimit
        self.scale = scale
    }

    func run(
        queries q: UnsafePointer<Float>, segments: [KVSegment], kvOffset: Int,
        visibleKeys: [Int32]?, output: UnsafeMutablePointer<Float>
    ) {
        let hd = headDimension
        let chunk = Attention.fusedKeyChunk
        let scratch = OnlineSoftmaxScratch(rows: rows, keys: chunk, headDimension: hd)
        defer { scratch.deallocate() }
        let (scores, accumulator, rowMax, rowSum) = (scratch.scores, scratch.accumulator, scratch.rowMax, scratch.rowSum)
        accumulator.update(repeating: 0, count: rows * hd)
        rowMax.update(repeating: -.infinity, count: rows)
        rowSum.update(repeating: 0, count: rows)
        var keyStart = 0
        for segment in segments where keyStart < keyLimit {
            var offset = 0
            let segmentKeys = min(segment.rows, keyLimit - keyStart)
            while offset < segmentKeys {
                let count = min(chunk, segmentKeys - offset)
                multiplyTransposed(
                    m: rows, n: count, k: hd, a: q, lda: width,
                    b: segment.keys + offset * segment.stride + kvOffset, ldb: segment.stride,
                    c: scores, ldc: count)
                let first = keyStart + offset
                for r in 0..<rows {
                    let limit = visibleKeys.map { Int($0[firstRow + r]) - first } ?? count
                    update(row: r, scores: scores + r * count, count: count, visible: max(0, min(count, limit)),
                           accumulator: accumulator, rowMax: rowMax, rowSum: rowSum)
                }
                multiply(
                    m: rows, n: hd, k: count, a: scores, lda: count,
                    b: segment.values + offset * segment.stride + kvOffset, ldb: segment.stride,
                    c: accumulator, ldc: hd, beta: 1)
                offset += count
            }
            keyStart += segment.rows
        }
        for r in 0..<rows {
            let inverse = rowSum[r] > 0 ? 1 / rowSum[r] : 0
            Kernels.scale(accumulator + r * hd, by: inverse, count: hd, into: output + r * width)
        }
    }

    /// Exponentiates one score row against the running maximum, rescales the row's accumulator
    /// when the maximum grows, and adds the row's sum.
    @inline(__always)
    private func update(
        row r: Int, scores: UnsafeMutablePointer<Float>, count: Int, visible: Int,
        accumulator: UnsafeMutablePointer<Float>, rowMax: UnsafeMutablePointer<Float>,
        rowSum: UnsafeMutablePointer<Float>
    ) {
        let (chunkMax, chunkSum) = Kernels.exponentiate(
            scores, count: count, visible: visible, scale: scale, floor: rowMax[r])
        guard chunkSum > 0 else { return }
        if rowMax[r] != chunkMax {
            let correction = rowMax[r] == -.infinity ? 0 : expf(rowMax[r] - chunkMax)
            let out = accumulator + r * headDimension
            Kernels.scale(out, by: correction, count: headDimension, into: out)
            rowSum[r] *= correction
            rowMax[r] = chunkMax
        }
        rowSum[r] += chunkSum
    }
}

/// The per-worker buffers of an online softmax: a tile of scores, the rows' output
/// accumulators, and their running maxima and sums.
struct OnlineSoftmaxScratch {
    let scores: UnsafeMutablePointer<Float>
    let accumulator: UnsafeMutablePointer<Float>
    let rowMax: UnsafeMutablePointer<Float>
    let rowSum: UnsafeMutablePointer<Float>

    init(rows: Int, keys: Int, headDimension: Int) {
        scores = .allocate(capacity: rows * keys)
        accumulator = .allocate(capacity: rows * headDimension)
        rowMax = .allocate(capacity: rows)
        rowSum = .allocate(capacity: rows)
    }

    func deallocate() {
        scores.deallocate()
        accumulator.deallocate()
        rowMax.deallocate()
        rowSum.deallocate()
    }
}

extension Kernels {
    /// `out[i] = x[i] · factor` for `count` floats (`out` may be `x`).
    @inlinable
    public static func scale(_ x: UnsafePointer<Float>, by factor: Float, count: Int, into out: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: v * factor, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            out[i] = x[i] * factor
            i += 1
        }
    }
}
