/// Attention with an online softmax over chunks of keys (as in FlashAttention): the scores of a
/// tile of queries against `keyChunk` keys stay in cache, and the output is rescaled as the row
/// maxima grow. Used when no key mass is asked for and the keys outnumber one chunk.
extension Attention {
    /// Keys per chunk: a 128 × 512 score tile is 256 KiB.
    public static let keyChunk = 512

    static func computeStreaming(
        queries: UnsafePointer<Float>, rows n: Int, segments: [KVSegment],
        headCount: Int, kvHeadCount: Int, headDimension hd: Int,
        visibleKeys: [Int32]?, output: UnsafeMutablePointer<Float>
    ) {
        let width = headCount * hd
        let groupSize = headCount / kvHeadCount
        let tiles = (n + tileRows - 1) / tileRows
        let items = headCount * tiles
        let workers = min(ComputeThreads.count, items)
        let scale = 1 / Float(hd).squareRoot()

        ComputeThreads.parallelFor(workers) { worker in
            let scratch = OnlineSoftmaxScratch(rows: tileRows, keys: keyChunk, headDimension: hd)
            defer { scratch.deallocate() }
            let (scores, accumulator, rowMax, rowSum) = (scratch.scores, scratch.accumulator, scratch.rowMax, scratch.rowSum)
            var item = worker
            while item < items {
                let head = item / tiles
                let tile = item % tiles
                let group = head / groupSize
                let r0 = tile * tileRows
                let m = min(tileRows, n - r0)
                let q = queries + r0 * width + head * hd
                accumulator.update(repeating: 0, count: m * hd)
                rowMax.update(repeating: -.infinity, count: m)
                rowSum.update(repeating: 0, count: m)
                var keyStart = 0
                for segment in segments {
                    var offset = 0
                    while offset < segment.rows {
                        let count = min(keyChunk, segment.rows - offset)
                        multiplyTransposed(
                            m: m, n: count, k: hd, a: q, lda: width,
                            b: segment.keys + offset * segment.stride + group * hd, ldb: segment.stride,
                            c: scores, ldc: count)
                        for r in 0..<m {
                            let limit = visibleKeys.map { Int($0[r0 + r]) - keyStart - offset } ?? count
                            let visible = max(0, min(count, limit))
                            let row = scores + r * count
                            let (chunkMax, chunkSum) = Kernels.exponentiate(
                                row, count: count, visible: visible, scale: scale, floor: rowMax[r])
                            if chunkSum == 0 { continue }
                            let correction = rowMax[r] == -.infinity ? 0 : expf(rowMax[r] - chunkMax)
                            if correction != 1 {
                                let out = accumulator + r * hd
                                for i in 0..<hd { out[i] *= correction }
                            }
                            rowSum[r] = rowSum[r] * correction + chunkSum
                            rowMax[r] = chunkMax
                        }
                        multiply(
                            m: m, n: hd, k: count, a: scores, lda: count,
                            b: segment.values + offset * segment.stride + group * hd, ldb: segment.stride,
                            c: accumulator, ldc: hd, beta: 1)
                        offset += count
                    }
                    keyStart += segment.rows
                }
                let out = output + r0 * width + head * hd
                for r in 0..<m {
                    let inverse = rowSum[r] > 0 ? 1 / rowSum[r] : 0
                    for i in 0..<hd { out[r * width + i] = accumulator[r * hd + i] * inverse }
                }
                item += workers
            }
        }
    }
}

extension Kernels {
    /// Replaces `x[0..<visible]` by `exp(x·scale − M)` and the rest by 0, where
    /// `M = max(floor, max(x·scale))`; returns `M` and the sum. A row with nothing visible
    /// returns `(floor, 0)` and is all zeros.
    @inlinable
    public static func exponentiate(
        _ x: UnsafeMutablePointer<Float>, count: Int, visible: Int, scale: Float, floor: Float
    ) -> (max: Float, sum: Float) {
        guard visible > 0 else {
            x.update(repeating: 0, count: count)
            return (floor, 0)
        }
        var vmax = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i + 16 <= visible {
            vmax = pointwiseMax(vmax, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self))
            i += 16
        }
        var maxValue = vmax.max()
        while i < visible {
            maxValue = Swift.max(maxValue, x[i])
            i += 1
        }
        let top = Swift.max(floor, maxValue * scale)
        let shift = SIMD16<Float>(repeating: top)
        let s = SIMD16<Float>(repeating: scale)
        var acc = SIMD16<Float>(repeating: 0)
        i = 0
        while i + 16 <= visible {
            let e = exp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * s - shift)
            UnsafeMutableRawPointer(x + i).storeBytes(of: e, as: SIMD16<Float>.self)
            acc += e
            i += 16
        }
        var sum = acc.sum()
        while i < visible {
            let e = expf(x[i] * scale - top)
            x[i] = e
            sum += e
            i += 1
        }
        if visible < count { (x + visible).update(repeating: 0, count: count - visible) }
        return (top, sum)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
