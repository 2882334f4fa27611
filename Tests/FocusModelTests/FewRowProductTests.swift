import Foundation
import Testing

@testable import FocusModel

/// The few-row kernel of decoding steps against the `cblas_sgemm` path of the same weights, for
/// f32, bf16 and 8-bit storage, over row counts and widths that exercise every partial tile and
/// several passes over the weights (more than `FewRowProduct.rowBlock` rows).
@Suite struct FewRowProductTests {
    static let shapes: [(rows: Int, inFeatures: Int, outFeatures: Int)] = [
        (1, 64, 67), (3, 16, 5), (4, 70, 1), (5, 1_000, 300), (17, 129, 66), (32, 256, 513), (70, 130, 45),
    ]

    @Test(arguments: shapes.indices)
    func float32EqualsSgemm(_ index: Int) throws {
        let (rows, inFeatures, outFeatures) = Self.shapes[index]
        let w = randomValues(outFeatures * inFeatures, seed: 21)
        try w.withUnsafeBufferPointer { weights in
            let view = TensorView(
                name: "w", dataType: .f32, shape: [outFeatures, inFeatures], bytes: UnsafeRawPointer(weights.baseAddress!),
                byteCount: weights.count * 4, file: "memory")
            try check(LinearWeight(view, widen: false), floats: weights.baseAddress!, rows: rows)
        }
    }

    @Test(arguments: shapes.indices)
    func bfloat16EqualsSgemmOfWidenedWeights(_ index: Int) throws {
        let (rows, inFeatures, outFeatures) = Self.shapes[index]
        let bits = randomValues(outFeatures * inFeatures, seed: 22).map { UInt16($0.bitPattern >> 16) }
        let widened = bits.map { Float(bitPattern: UInt32($0) << 16) }
        try bits.withUnsafeBufferPointer { raw in
            let view = TensorView(
                name: "w", dataType: .bf16, shape: [outFeatures, inFeatures], bytes: UnsafeRawPointer(raw.baseAddress!),
                byteCount: raw.count * 2, file: "memory")
            let weight = LinearWeight(view, widen: false)
            #expect(!weight.isWidened)
            try widened.withUnsafeBufferPointer { try check(weight, floats: $0.baseAddress!, rows: rows) }
        }
    }

    @Test(arguments: shapes.indices)
    func int8EqualsSgemmOfDequantizedWeights(_ index: Int) throws {
        let (rows, inFeatures, outFeatures) = Self.shapes[index]
        let w = randomValues(outFeatures * inFeatures, seed: 23)
        let weight = w.withUnsafeBufferPointer {
            Int8Weight(quantizing: $0.baseAddress!, outFeatures: outFeatures, inFeatures: inFeatures)
        }
        var dequantized = [Float](repeating: 0, count: outFeatures * inFeatures)
        dequantized.withUnsafeMutableBufferPointer { weight.dequantize(rows: 0..<outFeatures, into: $0.baseAddress!) }
        let rowsView = Int8Rows(
            values: weight.values, scales: weight.scales, inFeatures: inFeatures, blocksPerRow: weight.blocksPerRow)
        try dequantized.withUnsafeBufferPointer { floats in
            try compare(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, floats: floats.baseAddress!) {
                x, y, accumulate in
                FewRowProduct.apply(
                    rowsView, outFeatures: outFeatures, x: x, rows: rows, ldx: inFeatures + 3, into: y,
                    ldy: outFeatures + 2, accumulate: accumulate)
            }
        }
    }

    /// `LinearWeight.apply` (which takes the few-row kernel up to `FewRowProduct.maxRows` rows,
    /// or `maxStoredRows` for bf16) and the kernel called directly both equal `cblas_sgemm`.
    private func check(_ weight: LinearWeight, floats: UnsafePointer<Float>, rows: Int) throws {
        let (inFeatures, outFeatures) = (weight.inFeatures, weight.outFeatures)
        try compare(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, floats: floats) { x, y, accumulate in
            weight.apply(x, rows: rows, ldx: inFeatures + 3, into: y, ldy: outFeatures + 2, accumulate: accumulate)
        }
        try compare(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, floats: floats) { x, y, accumulate in
            FewRowProduct.apply(
                Float32Rows(base: floats, inFeatures: inFeatures), outFeatures: outFeatures, x: x, rows: rows,
                ldx: inFeatures + 3, into: y, ldy: outFeatures + 2, accumulate: accumulate)
        }
    }

    /// Runs `product` on padded input and output rows (leading dimensions wider than the rows)
    /// and compares it with `cblas_sgemm` of the same Float weights, with and without accumulation.
    private func compare(
        rows: Int, inFeatures: Int, outFeatures: Int, floats: UnsafePointer<Float>,
        _ product: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Bool) -> Void
    ) throws {
        let (ldx, ldy) = (inFeatures + 3, outFeatures + 2)
        let x = randomValues(rows * ldx, seed: 24)
        let start = randomValues(rows * ldy, seed: 25)
        for accumulate in [false, true] {
            var found = start
            var expected = start
            x.withUnsafeBufferPointer { input in
                found.withUnsafeMutableBufferPointer { product(input.baseAddress!, $0.baseAddress!, accumulate) }
                expected.withUnsafeMutableBufferPointer {
                    multiplyTransposed(
                        m: rows, n: outFeatures, k: inFeatures, a: input.baseAddress!, lda: ldx, b: floats,
                        ldb: inFeatures, c: $0.baseAddress!, ldc: ldy, beta: accumulate ? 1 : 0)
                }
            }
            let used = (0..<rows).flatMap { r in (0..<outFeatures).map { r * ldy + $0 } }
            #expect(relativeError(used.map { found[$0] }, used.map { expected[$0] }) <= 1e-5)
            let padding = (0..<rows).flatMap { r in (outFeatures..<ldy).map { r * ldy + $0 } }
            #expect(padding.allSatisfy { found[$0] == start[$0] }, "columns beyond the output were written")
        }
    }
}
