/// Weights stored row-major (`[outFeatures × inFeatures]`, PyTorch's layout), read 64 columns
/// at a time as four SIMD16 groups of Float, widened in registers with integer and bit
/// operations only. A group need not hold consecutive columns: `column(group:lane:)` says which
/// of the 64 each lane holds, and the input rows are permuted to match once per product.
protocol PackedWeightRows {
    /// The raw registers of 64 columns of one row.
    associatedtype Raw
    var inFeatures: Int { get }
    /// Columns `column..<column+64` of output row `row` (`column` a multiple of 64).
    func load(row: Int, column: Int) -> Raw
    /// Group `group` (0…3) of `raw` as Float.
    func group(_ raw: Raw, _ group: Int) -> SIMD16<Float>
    /// Which of the 64 columns lane `lane` of group `group` holds.
    static func column(group: Int, lane: Int) -> Int
    /// Weight `column` of output row `row` as Float (the columns after the last full 64).
    func element(row: Int, column: Int) -> Float
}

/// f32 weights: group g holds columns 16g…16g+15.
struct Float32Rows: PackedWeightRows {
    let base: UnsafePointer<Float>
    let inFeatures: Int

    @inline(__always)
    func load(row: Int, column: Int) -> UnsafePointer<Float> { base + row * inFeatures + column }

    @inline(__always)
    func group(_ raw: UnsafePointer<Float>, _ group: Int) -> SIMD16<Float> {
        UnsafeRawPointer(raw + 16 * group).loadUnaligned(as: SIMD16<Float>.self)
    }

    static func column(group: Int, lane: Int) -> Int { 16 * group + lane }

    @inline(__always)
    func element(row: Int, column: Int) -> Float { base[row * inFeatures + column] }
}

/// bfloat16 weights (raw bits), read as 32-bit words of two values: the low half of each word
/// shifted up is the even column, the high half masked the odd one.
struct BFloat16Rows: PackedWeightRows {
    let base: UnsafeRawPointer
    let inFeatures: Int

    @inline(__always)
    func load(row: Int, column: Int) -> (SIMD16<UInt32>, SIMD16<UInt32>) {
        let p = base + 2 * (row * inFeatures + column)
        return (p.loadUnaligned(as: SIMD16<UInt32>.self), (p + 64).loadUnaligned(as: SIMD16<UInt32>.self))
    }

    @inline(__always)
    func group(_ raw: (SIMD16<UInt32>, SIMD16<UInt32>), _ group: Int) -> SIMD16<Float> {
        let words = group < 2 ? raw.0 : raw.1
        let bits = group % 2 == 0 ? words &<< 16 : words & 0xFFFF_0000
        return unsafeBitCast(bits, to: SIMD16<Float>.self)
    }

    static func column(group: Int, lane: Int) -> Int { 32 * (group / 2) + 2 * lane + group % 2 }

    @inline(__always)
    func element(row: Int, column: Int) -> Float {
        Float(bitPattern: UInt32((base + 2 * (row * inFeatures + column)).loadUnaligned(as: UInt16.self)) << 16)
    }
}

/// Symmetric 8-bit weights with one scale per block of 32 inputs, read as 32-bit words of four
/// values: byte j of each word is column 4·lane + j. A byte becomes a Float by adding it to the
/// bits of 1.5·2²³ and subtracting that number; lanes 0–7 take the first block's scale, 8–15 the
/// second's.
struct Int8Rows: PackedWeightRows {
    let values: UnsafePointer<Int8>
    let scales: UnsafePointer<Float>
    let inFeatures: Int
    let blocksPerRow: Int

    @inline(__always)
    func load(row: Int, column: Int) -> (SIMD16<Int32>, SIMD16<Float>) {
        let words = UnsafeRawPointer(values + row * inFeatures + column).loadUnaligned(as: SIMD16<Int32>.self)
        let s = scales + row * blocksPerRow + column / Int8Weight.blockSize
        return (words, SIMD16(lowHalf: SIMD8(repeating: s[0]), highHalf: SIMD8(repeating: s[1])))
    }

    @inline(__always)
    func group(_ raw: (SIMD16<Int32>, SIMD16<Float>), _ group: Int) -> SIMD16<Float> {
        let bytes = (raw.0 &<< Int32(24 - 8 * group)) &>> 24
        return (unsafeBitCast(bytes &+ 0x4B40_0000, to: SIMD16<Float>.self) - 12_582_912) * raw.1
    }

    static func column(group: Int, lane: Int) -> Int { 4 * lane + group }

    @inline(__always)
    func element(row: Int, column: Int) -> Float {
        Float(values[row * inFeatures + column]) * scales[row * blocksPerRow + column / Int8Weight.blockSize]
    }
}

/// `y = beta·y + x · Wᵀ` for the few input rows of a decoding step (at most `maxRows`, or
/// `maxStoredRows` for weights kept as bf16 or 8-bit).
///
/// The weights are streamed from memory once: each work item takes a run of output rows, and
/// for every four of them computes the dot products with four input rows at a time in sixteen
/// SIMD16 accumulators, widening the stored format in registers. The four weight rows stay in
/// the core's cache while the input rows pass over them. Work items run on every core.
public enum FewRowProduct {
    /// Input rows up to which a product takes this kernel rather than `cblas_sgemm` (or, for
    /// 8-bit weights, widened chunks): `FOCUS_FEW_ROWS`, else 32; 0 turns the kernel off.
    /// Benchmarks set it to time both paths in one run.
    nonisolated(unsafe) public static var maxRows: Int = getenvString("FOCUS_FEW_ROWS").flatMap(Int.init) ?? 32
    /// Input rows up to which bf16 and 8-bit weights (kept in their stored format, where the
    /// alternative widens them through memory) take this kernel: `FOCUS_FEW_ROWS_STORED`, else
    /// 128. Batched decoding steps stack a few rows of many requests.
    nonisolated(unsafe) public static var maxStoredRows: Int =
        getenvString("FOCUS_FEW_ROWS_STORED").flatMap(Int.init) ?? 128
    /// Whether a product over `rows` input rows takes this kernel; `stored` when the weights
    /// are kept as bf16 or 8-bit.
    static func takes(rows: Int, stored: Bool) -> Bool {
        maxRows > 0 && rows <= (stored ? max(maxRows, maxStoredRows) : maxRows)
    }

    /// Output rows one work item covers at most (a multiple of 4).
    static let itemRows = 256
    /// Input rows one pass over a work item's weight rows takes; more rows make more passes.
    static let rowBlock = 32
    /// Output rows of a work item when there are several passes, so that its weight rows stay
    /// in the core's cache between them (a multiple of 4).
    static let blockedItemRows = 32

    static func apply<W: PackedWeightRows>(
        _ weights: W, outFeatures: Int, x: UnsafePointer<Float>, rows: Int, ldx: Int,
        into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        guard rows > 0, outFeatures > 0 else { return }
        let n = weights.inFeatures
        let full = n / 64 * 64
        let permuted = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * full))
        defer { permuted.deallocate() }
        let order = (0..<64).map { W.column(group: $0 / 16, lane: $0 % 16) }
        order.withUnsafeBufferPointer { order in
            for r in 0..<rows {
                let source = x + r * ldx, target = permuted + r * full
                var start = 0
                while start < full {
                    for i in 0..<64 { target[start + i] = source[start + order[i]] }
                    start += 64
                }
            }
        }
        let perCore = (outFeatures + 4 * ComputeThreads.count - 1) / (4 * ComputeThreads.count) * 4
        let span = max(4, min(rows > Self.rowBlock ? Self.blockedItemRows : Self.itemRows, perCore))
        let items = (outFeatures + span - 1) / span
        ComputeThreads.parallelFor(items) { item in
            let upper = min(outFeatures, (item + 1) * span)
            var block = 0
            while block < rows {
                let blockEnd = min(rows, block + Self.rowBlock)
                var o = item * span
                while o < upper {
                    var r = block
                    while r < blockEnd {
                        tile(
                            weights, firstRow: o, rowCount: min(4, upper - o), permuted: permuted, full: full, x: x,
                            firstInput: r, inputCount: min(4, blockEnd - r), ldx: ldx, y: y, ldy: ldy,
                            accumulate: accumulate)
                        r += 4
                    }
                    o += 4
                }
                block = blockEnd
            }
        }
    }

    /// Dot products of output rows `o..<o+rowCount` with input rows `r..<r+inputCount` (each at
    /// most 4); missing rows repeat the last one and their results are dropped. The first
    /// `full` columns come from `permuted` (rows of `full` floats, in the format's lane order),
    /// the rest from `x`.
    @inline(__always)
    static func tile<W: PackedWeightRows>(
        _ w: W, firstRow o: Int, rowCount: Int, permuted: UnsafePointer<Float>, full: Int, x: UnsafePointer<Float>,
        firstInput r: Int, inputCount: Int, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        let n = w.inFeatures
        let (o0, o1, o2, o3) = (o, o + min(1, rowCount - 1), o + min(2, rowCount - 1), o + min(3, rowCount - 1))
        let (r1, r2, r3) = (r + min(1, inputCount - 1), r + min(2, inputCount - 1), r + min(3, inputCount - 1))
        let (p0, p1, p2, p3) = (permuted + r * full, permuted + r1 * full, permuted + r2 * full, permuted + r3 * full)
        var a00 = SIMD16<Float>(), a01 = SIMD16<Float>(), a02 = SIMD16<Float>(), a03 = SIMD16<Float>()
        var a10 = SIMD16<Float>(), a11 = SIMD16<Float>(), a12 = SIMD16<Float>(), a13 = SIMD16<Float>()
        var a20 = SIMD16<Float>(), a21 = SIMD16<Float>(), a22 = SIMD16<Float>(), a23 = SIMD16<Float>()
        var a30 = SIMD16<Float>(), a31 = SIMD16<Float>(), a32 = SIMD16<Float>(), a33 = SIMD16<Float>()
        var i = 0
        while i < full {
            let (raw0, raw1, raw2, raw3) = (w.load(row: o0, column: i), w.load(row: o1, column: i),
                                            w.load(row: o2, column: i), w.load(row: o3, column: i))
            for g in 0..<4 {
                let c = i + 16 * g
                let v0 = load(p0 + c), v1 = load(p1 + c), v2 = load(p2 + c), v3 = load(p3 + c)
                let w0 = w.group(raw0, g)
                a00 = a00.addingProduct(w0, v0); a01 = a01.addingProduct(w0, v1)
                a02 = a02.addingProduct(w0, v2); a03 = a03.addingProduct(w0, v3)
                let w1 = w.group(raw1, g)
                a10 = a10.addingProduct(w1, v0); a11 = a11.addingProduct(w1, v1)
                a12 = a12.addingProduct(w1, v2); a13 = a13.addingProduct(w1, v3)
                let w2 = w.group(raw2, g)
                a20 = a20.addingProduct(w2, v0); a21 = a21.addingProduct(w2, v1)
                a22 = a22.addingProduct(w2, v2); a23 = a23.addingProduct(w2, v3)
                let w3 = w.group(raw3, g)
                a30 = a30.addingProduct(w3, v0); a31 = a31.addingProduct(w3, v1)
                a32 = a32.addingProduct(w3, v2); a33 = a33.addingProduct(w3, v3)
            }
            i += 64
        }
        let (x0, x1, x2, x3) = (x + r * ldx, x + r1 * ldx, x + r2 * ldx, x + r3 * ldx)
        var s0 = SIMD4(a00.sum(), a10.sum(), a20.sum(), a30.sum())
        var s1 = SIMD4(a01.sum(), a11.sum(), a21.sum(), a31.sum())
        var s2 = SIMD4(a02.sum(), a12.sum(), a22.sum(), a32.sum())
        var s3 = SIMD4(a03.sum(), a13.sum(), a23.sum(), a33.sum())
        while i < n {
            let column = SIMD4(
                w.element(row: o0, column: i), w.element(row: o1, column: i), w.element(row: o2, column: i),
                w.element(row: o3, column: i))
            s0 += column * x0[i]
            s1 += column * x1[i]
            s2 += column * x2[i]
            s3 += column * x3[i]
            i += 1
        }
        store(s0, y + r * ldy + o, rowCount, accumulate)
        if inputCount > 1 { store(s1, y + r1 * ldy + o, rowCount, accumulate) }
        if inputCount > 2 { store(s2, y + r2 * ldy + o, rowCount, accumulate) }
        if inputCount > 3 { store(s3, y + r3 * ldy + o, rowCount, accumulate) }
    }

    /// Writes (or adds) the first `count` lanes of `sums` at `target`.
    @inline(__always)
    static func store(_ sums: SIMD4<Float>, _ target: UnsafeMutablePointer<Float>, _ count: Int, _ accumulate: Bool) {
        if count == 4 {
            let previous = accumulate ? UnsafeRawPointer(target).loadUnaligned(as: SIMD4<Float>.self) : SIMD4()
            UnsafeMutableRawPointer(target).storeBytes(of: previous + sums, as: SIMD4<Float>.self)
        } else {
            for t in 0..<count { target[t] = (accumulate ? target[t] : 0) + sums[t] }
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }
}
