import Testing

@testable import FocusModel

/// The fused kernel against the two-pass path (full score rows, one softmax), which a key-mass
/// request always takes: same segments, same limits, outputs within 1e-5.
@Suite struct FusedAttentionTests {
    struct Case: CustomStringConvertible {
        var name: String
        var rows: Int
        var keys: Int
        var heads: Int
        var kvHeads: Int
        var headDimension = 64
        /// Where the keys are cut into segments (first 0, last `keys`).
        var cuts: [Int]
        /// Per query row, how many keys it sees; `nil`: all.
        var visible: (Int) -> Int32? = { _ in nil }
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "dense", rows: 300, keys: 300, heads: 4, kvHeads: 4, cuts: [0, 300]),
        Case(name: "dense, long keys", rows: 130, keys: 1_100, heads: 2, kvHeads: 2, cuts: [0, 1_100]),
        Case(
            name: "block-causal, blocks of 32 after a 200-key context", rows: 290, keys: 490, heads: 3, kvHeads: 3,
            cuts: [0, 200, 490], visible: { Int32(200 + min(290, ($0 / 32 + 1) * 32)) }),
        Case(
            name: "document rows see the document only", rows: 600, keys: 600, heads: 2, kvHeads: 2,
            cuts: [0, 600], visible: { $0 < 520 ? 520 : 600 }),
        Case(
            name: "sparse segments", rows: 70, keys: 900, heads: 4, kvHeads: 4, cuts: [0, 1, 64, 65, 333, 700, 830, 900],
            visible: { $0 % 3 == 0 ? 900 : Int32(700 + $0) }),
        Case(
            name: "GQA, 8 heads over 2", rows: 260, keys: 777, heads: 8, kvHeads: 2, headDimension: 32,
            cuts: [0, 500, 777], visible: { Int32(517 + $0) }),
    ]

    @Test(arguments: cases)
    func fusedEqualsTwoPass(_ c: Case) throws {
        let width = c.heads * c.headDimension
        let kvWidth = c.kvHeads * c.headDimension
        let q = randomValues(c.rows * width, seed: 1)
        let k = randomValues(c.keys * kvWidth, seed: 2)
        let v = randomValues(c.keys * kvWidth, seed: 3)
        let limits = (0..<c.rows).compactMap(c.visible)
        let visible = limits.isEmpty ? nil : limits
        var fused = [Float](repeating: .nan, count: c.rows * width)
        var reference = [Float](repeating: .nan, count: c.rows * width)
        var mass = [Float](repeating: 0, count: c.keys)
        k.withUnsafeBufferPointer { kp in
            v.withUnsafeBufferPointer { vp in
                let segments = zip(c.cuts, c.cuts.dropFirst()).map { lower, upper in
                    KVSegment(
                        keys: kp.baseAddress! + lower * kvWidth, values: vp.baseAddress! + lower * kvWidth,
                        rows: upper - lower, stride: kvWidth)
                }
                fused.withUnsafeMutableBufferPointer { out in
                    Attention.computeFused(
                        queries: q, rows: c.rows, segments: segments, headCount: c.heads, kvHeadCount: c.kvHeads,
                        headDimension: c.headDimension, visibleKeys: visible, output: out.baseAddress!)
                }
                reference.withUnsafeMutableBufferPointer { out in
                    mass.withUnsafeMutableBufferPointer { massOut in
                        Attention.compute(
                            queries: q, rows: c.rows, segments: segments, headCount: c.heads, kvHeadCount: c.kvHeads,
                            headDimension: c.headDimension,
                            options: AttentionOptions(visibleKeys: visible, keyMass: massOut.baseAddress!),
                            output: out.baseAddress!)
                    }
                }
            }
        }
        let worst = zip(fused, reference).map { abs($0 - $1) }.max() ?? .nan
        #expect(worst <= 1e-5, "max |fused − two-pass| = \(worst)")
    }

    @Test func tileLimitsCoverTheWidestRow() {
        let visible: [Int32] = [5, 9, 3, 40, 12]
        #expect(Attention.tileLimits(visible, rows: 5, tileRows: 2, totalKeys: 30) == [9, 30, 12])
        #expect(Attention.tileLimits(nil, rows: 5, tileRows: 2, totalKeys: 30) == [30, 30, 30])
    }
}
