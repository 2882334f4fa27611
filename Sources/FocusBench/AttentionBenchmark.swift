import COpenBLAS
import FocusModel
import Foundation

/// Dense bidirectional attention (`Attention.compute`, n queries against the same n keys) against
/// its FLOP count, with a one-thread breakdown of where a query tile's time goes.
struct AttentionBenchmark {
    var heads = 16
    var headDimension = 64

    /// One full `Attention.compute` call.
    struct Run {
        var tokens: Int
        var timing: Timing
        var flops: Double
        var gflops: Double { flops / timing.wall / 1e9 }
    }

    /// One query tile's pieces on one thread, for a given tile height.
    struct TileCost {
        var tileRows: Int
        /// Seconds per tile of QKᵀ (`tileRows × n × hd`), softmax of the rows, and P·V.
        var scores: Double
        var softmax: Double
        var weighted: Double
        var total: Double { scores + softmax + weighted }
        /// GFLOP/s of the two products alone.
        func productGFlops(tokens n: Int, headDimension hd: Int) -> Double {
            4 * Double(tileRows) * Double(n) * Double(hd) / (scores + weighted) / 1e9
        }
    }

    var width: Int { heads * headDimension }

    /// Times `Attention.compute` over `n` rows, best of `repetitions`.
    func measure(tokens n: Int, repetitions: Int) -> Run {
        let q = RandomMatrix.make(count: n * width, seed: 11)
        let k = RandomMatrix.make(count: n * width, seed: 12)
        let v = RandomMatrix.make(count: n * width, seed: 13)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: n * width)
        defer {
            [q, k, v, out].forEach { $0.deallocate() }
        }
        let segment = KVSegment(keys: k, values: v, rows: n, stride: width)
        let timing = Timing.best(of: repetitions) {
            Attention.compute(
                queries: q, rows: n, segments: [segment], headCount: heads, kvHeadCount: heads,
                headDimension: headDimension, output: out)
        }
        return Run(tokens: n, timing: timing, flops: 4 * Double(n) * Double(n) * Double(width))
    }

    /// Times the three pieces of one tile on one OpenBLAS thread, as one attention worker runs
    /// them, averaged over `samples` tiles of different heads.
    func tileCost(tokens n: Int, tileRows: Int, samples: Int = 4) -> TileCost {
        let q = RandomMatrix.make(count: tileRows * width, seed: 21)
        let k = RandomMatrix.make(count: n * width, seed: 22)
        let v = RandomMatrix.make(count: n * width, seed: 23)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * n)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * width)
        defer {
            [q, k, v, scores, out].forEach { $0.deallocate() }
        }
        let scale = 1 / Float(headDimension).squareRoot()
        openblas_set_num_threads(1)
        defer { ComputeThreads.configureBLAS() }
        var cost = TileCost(tileRows: tileRows, scores: 0, softmax: 0, weighted: 0)
        for sample in 0...samples {
            let head = sample % heads
            let t0 = Clock.now()
            multiplyTransposed(
                m: tileRows, n: n, k: headDimension, a: q + head * headDimension, lda: width,
                b: k + head * headDimension, ldb: width, c: scores, ldc: n)
            let t1 = Clock.now()
            for r in 0..<tileRows { Kernels.softmax(scores + r * n, count: n, visible: n, scale: scale) }
            let t2 = Clock.now()
            multiply(
                m: tileRows, n: headDimension, k: n, a: scores, lda: n, b: v + head * headDimension, ldb: width,
                c: out + head * headDimension, ldc: width)
            let t3 = Clock.now()
            guard sample > 0 else { continue }
            cost.scores += (t1 - t0) / Double(samples)
            cost.softmax += (t2 - t1) / Double(samples)
            cost.weighted += (t3 - t2) / Double(samples)
        }
        return cost
    }

    /// Seconds the whole call would take if every worker ran tiles at `cost` with no contention.
    func projectedSeconds(tokens n: Int, cost: TileCost) -> Double {
        let tiles = (n + cost.tileRows - 1) / cost.tileRows
        let perWorker = Double(heads * tiles) / Double(max(1, min(ComputeThreads.count, heads * tiles)))
        return perWorker * cost.total
    }
}
