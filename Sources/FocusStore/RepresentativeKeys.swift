/// Per-block summaries of a layer's keys, used to pick blocks for sparse attention.
///
/// Each array is row-major [blocks, kvDim]: row `b` summarizes the key rows of block `b`.
public struct RepresentativeKeys: Sendable, Equatable {
    /// Number of blocks (rows of each array).
    public let blocks: Int
    /// Floats per key row.
    public let kvDim: Int
    /// Mean key over the block's rows.
    public let mean: [Float]
    /// Per-channel minimum over the block's rows (Quest-style lower bound).
    public let min: [Float]
    /// Per-channel maximum over the block's rows (Quest-style upper bound).
    public let max: [Float]

    /// Creates summaries from their arrays, each holding `blocks * kvDim` floats.
    public init(blocks: Int, kvDim: Int, mean: [Float], min: [Float], max: [Float]) {
        self.blocks = blocks
        self.kvDim = kvDim
        self.mean = mean
        self.min = min
        self.max = max
    }

    /// Computes mean, min and max per block of `blockSize` rows from row-major [tokenCount, kvDim] keys.
    public static func summarize(keys: UnsafePointer<Float>, tokenCount: Int, kvDim: Int, blockSize: Int) -> RepresentativeKeys {
        let blocks = (tokenCount + blockSize - 1) / blockSize
        var mean = [Float](repeating: 0, count: blocks * kvDim)
        var low = [Float](repeating: .infinity, count: blocks * kvDim)
        var high = [Float](repeating: -.infinity, count: blocks * kvDim)
        mean.withUnsafeMutableBufferPointer { meanOut in
            low.withUnsafeMutableBufferPointer { lowOut in
                high.withUnsafeMutableBufferPointer { highOut in
                    for block in 0..<blocks {
                        let firstRow = block * blockSize
                        let rows = Swift.min(blockSize, tokenCount - firstRow)
                        let out = block * kvDim
                        for row in firstRow..<(firstRow + rows) {
                            let source = keys + row * kvDim
                            for channel in 0..<kvDim {
                                let value = source[channel]
                                meanOut[out + channel] += value
                                lowOut[out + channel] = Swift.min(lowOut[out + channel], value)
                                highOut[out + channel] = Swift.max(highOut[out + channel], value)
                            }
                        }
                        let inverse = 1 / Float(rows)
                        for channel in 0..<kvDim { meanOut[out + channel] *= inverse }
                    }
                }
            }
        }
        return RepresentativeKeys(blocks: blocks, kvDim: kvDim, mean: mean, min: low, max: high)
    }
}
