/// Matrix products with 8-bit weights: `y = beta·y + x · Wᵀ`.
extension Int8Weight {
    /// Output rows per widened chunk of the many-row path (at most 8 Mi floats of scratch).
    var chunkRows: Int { max(1, min(outFeatures, (8 << 20) / max(inFeatures, 1))) }

    /// `y[rows × out] = beta·y + x[rows × in] · Wᵀ` with leading dimensions `ldx` and `ldy`,
    /// `beta` 1 when `accumulate`, else 0.
    public func apply(
        _ x: UnsafePointer<Float>, rows: Int, ldx: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool = false
    ) {
        guard rows > 0 else { return }
        if FewRowProduct.takes(rows: rows, stored: true) {
            FewRowProduct.apply(
                Int8Rows(values: values, scales: scales, inFeatures: inFeatures, blocksPerRow: blocksPerRow),
                outFeatures: outFeatures, x: x, rows: rows, ldx: ldx, into: y, ldy: ldy, accumulate: accumulate)
        } else if rows <= Self.directRows {
            applyDirect(x, rows: rows, ldx: ldx, into: y, ldy: ldy, accumulate: accumulate)
        } else if rows <= Self.blockedRows {
            applyBlocked(x, rows: rows, ldx: ldx, into: y, ldy: ldy, accumulate: accumulate)
        } else {
            applyWidened(x, rows: rows, ldx: ldx, into: y, ldy: ldy, accumulate: accumulate)
        }
    }

    /// Few rows: each core streams its share of the output rows once, four at a time, widening
    /// the bytes in registers against every input row.
    func applyDirect(
        _ x: UnsafePointer<Float>, rows: Int, ldx: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        let workers = min(ComputeThreads.count, max(1, outFeatures / 256))
        let share = (outFeatures / workers + 3) / 4 * 4
        ComputeThreads.parallelFor(workers) { worker in
            let upper = worker == workers - 1 ? outFeatures : min(outFeatures, (worker + 1) * share)
            var o = worker * share
            while o < upper {
                let count = min(4, upper - o)
                for r in 0..<rows {
                    let sums = count == 4 ? dotFour(firstRow: o, x: x + r * ldx) : SIMD4<Float>(
                        (0..<4).map { $0 < count ? dotOne(row: o + $0, x: x + r * ldx) : 0 })
                    let target = y + r * ldy + o
                    for t in 0..<count { target[t] = (accumulate ? target[t] : 0) + sums[t] }
                }
                o += count
            }
        }
    }

    /// Dot products of output rows `firstRow..<firstRow+4` with one input row.
    @inline(__always)
    func dotFour(firstRow o: Int, x: UnsafePointer<Float>) -> SIMD4<Float> {
        let n = inFeatures
        let q0 = values + o * n
        let (q1, q2, q3) = (q0 + n, q0 + 2 * n, q0 + 3 * n)
        let s0 = scales + o * blocksPerRow
        let (s1, s2, s3) = (s0 + blocksPerRow, s0 + 2 * blocksPerRow, s0 + 3 * blocksPerRow)
        var (a0, a1, a2, a3) = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        var i = 0
        var b = 0
        while i + Self.blockSize <= n {
            let xa = Self.load(x + i)
            let xb = Self.load(x + i + 16)
            a0 += (Self.widen(q0 + i) * xa + Self.widen(q0 + i + 16) * xb) * s0[b]
            a1 += (Self.widen(q1 + i) * xa + Self.widen(q1 + i + 16) * xb) * s1[b]
            a2 += (Self.widen(q2 + i) * xa + Self.widen(q2 + i + 16) * xb) * s2[b]
            a3 += (Self.widen(q3 + i) * xa + Self.widen(q3 + i + 16) * xb) * s3[b]
            i += Self.blockSize
            b += 1
        }
        var sums = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum())
        while i < n {
            let block = i / Self.blockSize
            sums += SIMD4<Float>(
                Float(q0[i]) * s0[block], Float(q1[i]) * s1[block], Float(q2[i]) * s2[block],
                Float(q3[i]) * s3[block]) * x[i]
            i += 1
        }
        return sums
    }

    /// Dot product of output row `row` with one input row.
    @inline(__always)
    func dotOne(row: Int, x: UnsafePointer<Float>) -> Float {
        let q = values + row * inFeatures
        let s = scales + row * blocksPerRow
        var acc = SIMD16<Float>()
        var i = 0
        while i + Self.blockSize <= inFeatures {
            acc += (Self.widen(q + i) * Self.load(x + i) + Self.widen(q + i + 16) * Self.load(x + i + 16)) * s[i / Self.blockSize]
            i += Self.blockSize
        }
        var sum = acc.sum()
        while i < inFeatures {
            sum += Float(q[i]) * s[i / Self.blockSize] * x[i]
            i += 1
        }
        return sum
    }

    /// Some rows (a decoding step's few dozen): each core widens cache-sized chunks of output
    /// rows in turn and multiplies them with one-thread `cblas_sgemm`, so that the weights are
    /// read from memory once, as bytes, and the Float copy never leaves the cache.
    func applyBlocked(
        _ x: UnsafePointer<Float>, rows: Int, ldx: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        let chunk = max(16, min(outFeatures, Self.cachedFloats / max(inFeatures, 1)))
        let chunks = (outFeatures + chunk - 1) / chunk
        let workers = min(ComputeThreads.count, chunks)
        ComputeThreads.parallelFor(workers) { worker in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: chunk * inFeatures)
            defer { scratch.deallocate() }
            var index = worker
            while index < chunks {
                let start = index * chunk
                let count = min(chunk, outFeatures - start)
                dequantize(rows: start..<(start + count), into: scratch)
                multiplyTransposed(
                    m: rows, n: count, k: inFeatures, a: x, lda: ldx, b: scratch, ldb: inFeatures,
                    c: y + start, ldc: ldy, beta: accumulate ? 1 : 0)
                index += workers
            }
        }
    }

    /// Many rows: chunks of output rows widened to Float on every core, then `cblas_sgemm`.
    func applyWidened(
        _ x: UnsafePointer<Float>, rows: Int, ldx: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        let chunk = chunkRows
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: chunk * inFeatures)
        defer { scratch.deallocate() }
        var start = 0
        while start < outFeatures {
            let count = min(chunk, outFeatures - start)
            let parts = min(ComputeThreads.count, count)
            ComputeThreads.parallelFor(parts) { part in
                let lower = start + part * count / parts
                let upper = start + (part + 1) * count / parts
                dequantize(rows: lower..<upper, into: scratch + (lower - start) * inFeatures)
            }
            multiplyTransposed(
                m: rows, n: count, k: inFeatures, a: x, lda: ldx, b: scratch, ldb: inFeatures,
                c: y + start, ldc: ldy, beta: accumulate ? 1 : 0)
            start += count
        }
    }
}
