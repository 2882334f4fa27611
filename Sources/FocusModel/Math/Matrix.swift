import COpenBLAS
import Foundation

/// A row-major `rows × columns` matrix of `Float` that owns its storage.
public final class Matrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let data: UnsafeMutablePointer<Float>

    /// A zero-filled matrix.
    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        data = .allocate(capacity: max(rows * columns, 1))
        data.initialize(repeating: 0, count: max(rows * columns, 1))
    }

    /// A matrix holding a copy of `values` (row-major).
    public convenience init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "values do not fill \(rows)×\(columns)")
        self.init(rows: rows, columns: columns)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { data.deallocate() }

    /// Number of elements.
    @inlinable public var count: Int { rows * columns }

    /// Pointer to the first element of `row`.
    @inlinable public func row(_ index: Int) -> UnsafeMutablePointer<Float> { data + index * columns }

    /// The elements as an array (row-major).
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// One row as an array.
    public func rowArray(_ index: Int) -> [Float] { Array(UnsafeBufferPointer(start: row(index), count: columns)) }

    /// A copy of the selected rows, in the order given.
    public func gatherRows(_ indices: [Int]) -> Matrix {
        let out = Matrix(rows: indices.count, columns: columns)
        for (i, r) in indices.enumerated() { out.row(i).update(from: row(r), count: columns) }
        return out
    }
}

// MARK: - Matrix products

/// `C[m×n] = alpha · A[m×k] · B[n×k]ᵀ + beta · C`, all row-major with explicit leading dimensions.
@inlinable
public func multiplyTransposed(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    alpha: Float = 1, beta: Float = 0
) {
    guard m > 0, n > 0 else { return }
    cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
        alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// `C[m×n] = alpha · A[m×k] · B[k×n] + beta · C`, all row-major with explicit leading dimensions.
@inlinable
public func multiply(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    alpha: Float = 1, beta: Float = 0
) {
    guard m > 0, n > 0 else { return }
    cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
        alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

// MARK: - Threads

/// One level of parallelism at a time: OpenBLAS threads for large matrix products, Swift threads
/// (with OpenBLAS single-threaded) for loops of many small products such as attention heads.
public enum ComputeThreads {
    /// Cores this process uses (`FOCUS_THREADS`, else the machine's active cores).
    public static let count: Int = {
        if let raw = getenvString("FOCUS_THREADS"), let n = Int(raw), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Runs `body(i)` for i in 0..<iterations over `count` Swift threads while OpenBLAS runs
    /// single-threaded, then gives OpenBLAS its threads back.
    public static func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 1, count > 1 else {
            for i in 0..<iterations { body(i) }
            return
        }
        openblas_set_num_threads(1)
        DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
        openblas_set_num_threads(Int32(count))
    }

    /// Sets OpenBLAS to use every core for the matrix products that follow.
    public static func configureBLAS() { openblas_set_num_threads(Int32(count)) }
}

@usableFromInline
func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
