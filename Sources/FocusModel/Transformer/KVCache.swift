/// Per-layer K and V rows that later forward passes attend to.
public protocol KVCache: AnyObject {
    /// Layers held.
    var layerCount: Int { get }
    /// Rows held per layer.
    var count: Int { get }
    /// Width of one row.
    var kvDimension: Int { get }
    /// A view on rows `range` of `layer`, read in place.
    func segment(layer: Int, rows range: Range<Int>) -> KVSegment
    /// Appends rows to `layer`.
    func append(layer: Int, keys: Matrix, values: Matrix)
}

extension KVCache {
    /// Every row of `layer`.
    public func segment(layer: Int) -> KVSegment { segment(layer: layer, rows: 0..<count) }
}

/// A growable in-memory KV cache: one contiguous K and V buffer per layer.
public final class DenseKVCache: KVCache, @unchecked Sendable {
    public let layerCount: Int
    public let kvDimension: Int
    private var capacity: Int
    private var keys: [UnsafeMutablePointer<Float>]
    private var values: [UnsafeMutablePointer<Float>]
    private var rowCounts: [Int]

    public init(layerCount: Int, kvDimension: Int, capacity: Int = 256) {
        self.layerCount = layerCount
        self.kvDimension = kvDimension
        self.capacity = max(capacity, 1)
        keys = (0..<layerCount).map { _ in .allocate(capacity: max(capacity, 1) * kvDimension) }
        values = (0..<layerCount).map { _ in .allocate(capacity: max(capacity, 1) * kvDimension) }
        rowCounts = Array(repeating: 0, count: layerCount)
    }

    /// A cache shaped for `configuration`.
    public convenience init(configuration: ModelConfiguration, capacity: Int = 256) {
        self.init(layerCount: configuration.layerCount, kvDimension: configuration.kvDimension, capacity: capacity)
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Rows held (the count of layer 0; every layer holds the same once a forward completes).
    public var count: Int { rowCounts.first ?? 0 }

    /// Bytes of K and V held.
    public var byteCount: Int { rowCounts.reduce(0, +) * kvDimension * 2 * MemoryLayout<Float>.size }

    public func segment(layer: Int, rows range: Range<Int>) -> KVSegment {
        precondition(range.upperBound <= rowCounts[layer], "rows \(range) beyond the \(rowCounts[layer]) cached")
        return KVSegment(
            keys: keys[layer] + range.lowerBound * kvDimension,
            values: values[layer] + range.lowerBound * kvDimension,
            rows: range.count, stride: kvDimension)
    }

    /// Raw K rows of a layer (for writers that stream a cache to disk).
    public func keyPointer(layer: Int) -> UnsafePointer<Float> { UnsafePointer(keys[layer]) }
    /// Raw V rows of a layer.
    public func valuePointer(layer: Int) -> UnsafePointer<Float> { UnsafePointer(values[layer]) }

    public func append(layer: Int, keys newKeys: Matrix, values newValues: Matrix) {
        append(layer: layer, keys: newKeys, values: newValues, rows: 0..<newKeys.rows)
    }

    /// Appends rows `rows` of `newKeys` and `newValues` to `layer`.
    public func append(layer: Int, keys newKeys: Matrix, values newValues: Matrix, rows: Range<Int>) {
        precondition(newKeys.columns == kvDimension && newValues.columns == kvDimension, "KV width mismatch")
        let needed = rowCounts[layer] + rows.count
        if needed > capacity { grow(to: max(needed, capacity * 2)) }
        let count = rows.count * kvDimension
        (keys[layer] + rowCounts[layer] * kvDimension).update(from: newKeys.row(rows.lowerBound), count: count)
        (values[layer] + rowCounts[layer] * kvDimension).update(from: newValues.row(rows.lowerBound), count: count)
        rowCounts[layer] = needed
    }

    /// Replaces rows `rows[i]` of `layer` with row i of `keys` and `values` (refreshed rows).
    public func overwrite(layer: Int, rows: [Int], keys newKeys: Matrix, values newValues: Matrix) {
        for (i, row) in rows.enumerated() {
            precondition(row < rowCounts[layer], "row \(row) not cached")
            (keys[layer] + row * kvDimension).update(from: newKeys.row(i), count: kvDimension)
            (values[layer] + row * kvDimension).update(from: newValues.row(i), count: kvDimension)
        }
    }

    /// Drops every row from `rows` on, in every layer.
    public func truncate(to rows: Int) {
        for layer in 0..<layerCount { rowCounts[layer] = min(rowCounts[layer], rows) }
    }

    private func grow(to newCapacity: Int) {
        for layer in 0..<layerCount {
            let k = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * kvDimension)
            let v = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * kvDimension)
            k.update(from: keys[layer], count: rowCounts[layer] * kvDimension)
            v.update(from: values[layer], count: rowCounts[layer] * kvDimension)
            keys[layer].deallocate()
            values[layer].deallocate()
            keys[layer] = k
            values[layer] = v
        }
        capacity = newCapacity
    }
}
