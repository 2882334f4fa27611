/// Per-block summaries of a layer's document keys: what the store writes beside each layer and
/// what Focus scores blocks by, without reading the blocks themselves.
///
/// Each array is row-major `[blocks, kvDim]`: row `b` summarizes the key rows of block `b`.
public struct RepresentativeKeys: Sendable, Equatable {
    /// Key rows per block (the last block may hold fewer).
    public let blockSize: Int
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

    /// Summaries from their arrays, each holding `blocks * kvDim` floats.
    public init(blockSize: Int, blocks: Int, kvDim: Int, mean: [Float], min: [Float], max: [Float]) {
        self.blockSize = blockSize
        self.blocks = blocks
        self.kvDim = kvDim
        self.mean = mean
        self.min = min
        self.max = max
    }

    /// Mean, min and max per block of `blockSize` rows of `rows` key rows, `kvDim` wide and
    /// `stride` floats apart.
    public init(keys: UnsafePointer<Float>, rows: Int, stride: Int, kvDim: Int, blockSize: Int) {
        let blocks = (rows + blockSize - 1) / blockSize
        var mean = [Float](repeating: 0, count: blocks * kvDim)
        var low = [Float](repeating: .infinity, count: blocks * kvDim)
        var high = [Float](repeating: -.infinity, count: blocks * kvDim)
        mean.withUnsafeMutableBufferPointer { meanOut in
            low.withUnsafeMutableBufferPointer { lowOut in
                high.withUnsafeMutableBufferPointer { highOut in
                    for block in 0..<blocks {
                        let firstRow = block * blockSize
                        let count = Swift.min(blockSize, rows - firstRow)
                        let out = block * kvDim
                        for row in firstRow..<(firstRow + count) {
                            let source = keys + row * stride
                            for channel in 0..<kvDim {
                                let value = source[channel]
                                meanOut[out + channel] += value
                                lowOut[out + channel] = Swift.min(lowOut[out + channel], value)
                                highOut[out + channel] = Swift.max(highOut[out + channel], value)
                            }
                        }
                        let inverse = 1 / Float(count)
                        for channel in 0..<kvDim { meanOut[out + channel] *= inverse }
                    }
                }
            }
        }
        self.init(blockSize: blockSize, blocks: blocks, kvDim: kvDim, mean: mean, min: low, max: high)
    }
}
