import COpenBLAS
import FocusModel
import Foundation

/// `cblas_sgemm` throughput of this machine: the yardstick for every other rate.
struct GemmBenchmark {
    /// One product shape, `C[m×n] = A[m×k]·B[n×k]ᵀ` as the linear layers call it.
    struct Shape {
        var m: Int
        var n: Int
        var k: Int
        var threads: Int
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
        var label: String { "\(m)×\(n)×\(k), \(threads) thread\(threads == 1 ? "" : "s")" }
        var key: String { "sgemm_\(m)x\(n)x\(k)_t\(threads)_gflops" }
    }

    /// A shape's best rate.
    struct Rate {
        var shape: Shape
        var timing: Timing
        var gflops: Double { shape.flops / timing.wall / 1e9 }
    }

    /// What the section measured; `reference` is the rate other sections compare against.
    struct Result {
        var rates: [Rate]
        /// Best all-core rate (GFLOP/s).
        var reference: Double
        /// Best one-thread rate (GFLOP/s): attention runs one OpenBLAS thread per worker.
        var singleThread: Double
    }

    var repetitions = 5

    /// Each shape's better rate over `first` and `second` (runs at the start and the end of a
    /// suite), so that a burst of other work on the shared cores during one of them does not
    /// set the yardstick.
    static func best(_ first: Result, _ second: Result) -> Result {
        let rates = zip(first.rates, second.rates).map { $0.gflops >= $1.gflops ? $0 : $1 }
        return Result(
            rates: rates, reference: max(first.reference, second.reference),
            singleThread: max(first.singleThread, second.singleThread))
    }

    func run(_ context: BenchmarkContext) -> Result {
        let cores = ComputeThreads.count
        let big = context.quick ? 1024 : 2048
        let shapes = [
            Shape(m: big, n: big, k: big, threads: cores),
            Shape(m: 2 * big, n: big / 2, k: big / 2, threads: cores),
            Shape(m: big, n: big, k: big, threads: 1),
        ]
        var rates: [Rate] = []
        for shape in shapes {
            let rate = Rate(shape: shape, timing: measure(shape))
            context.log("sgemm \(shape.label): \(Format.number(rate.gflops)) GFLOP/s")
            rates.append(rate)
        }
        ComputeThreads.configureBLAS()
        let all = rates.filter { $0.shape.threads == cores }.map(\.gflops).max() ?? 0
        let one = rates.filter { $0.shape.threads == 1 }.map(\.gflops).max() ?? 0
        return Result(rates: rates, reference: all, singleThread: one)
    }

    private func measure(_ shape: Shape) -> Timing {
        let a = RandomMatrix.make(count: shape.m * shape.k, seed: 1)
        let b = RandomMatrix.make(count: shape.n * shape.k, seed: 2)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: shape.m * shape.n)
        defer {
            a.deallocate()
            b.deallocate()
            c.deallocate()
        }
        openblas_set_num_threads(Int32(shape.threads))
        multiplyTransposed(m: 64, n: 64, k: shape.k, a: a, lda: shape.k, b: b, ldb: shape.k, c: c, ldc: shape.n)
        return Timing.best(of: repetitions) {
            multiplyTransposed(
                m: shape.m, n: shape.n, k: shape.k, a: a, lda: shape.k, b: b, ldb: shape.k, c: c, ldc: shape.n)
        }
    }

    static func values(_ result: Result) -> [String: ResultJSON] {
        var values: [String: ResultJSON] = [
            "sgemm_reference_gflops": .number(result.reference),
            "sgemm_single_thread_gflops": .number(result.singleThread),
        ]
        for rate in result.rates { values[rate.shape.key] = .number(rate.gflops) }
        return values
    }
}

/// Deterministic pseudo-random test data.
enum RandomMatrix {
    /// `count` floats uniform in [-1, 1), from a 64-bit LCG seeded with `seed`; caller deallocates.
    static func make(count: Int, seed: UInt64, scale: Float = 1) -> UnsafeMutablePointer<Float> {
        let data = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        for i in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            data[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
        return data
    }
}
