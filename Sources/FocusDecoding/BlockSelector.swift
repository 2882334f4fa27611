import FocusModel

/// Focus-dLLM's sink-aware block pruning: at the last dense layer, the prompt tokens receiving
/// the most attention mass become sinks, and the prompt blocks that score highest against the
/// active queries are kept. Later layers attend only to those rows (cross-layer consistency).
final class BlockSelector {
    let parameters: FocusParameters
    let model: TransformerModel
    /// Blocks kept by the last selection.
    private(set) var lastKept = 0

    init(parameters: FocusParameters, model: TransformerModel) {
        self.parameters = parameters
        self.model = model
    }

    /// Document row ranges to attend in the sparse layers: kept blocks and sinks, merged.
    /// - Parameters:
    ///   - documentMass: attention mass each document row received at the selecting layer.
    ///   - queries: that layer's active queries (after RoPE), for key-based scoring.
    ///   - summaries: that layer's block summaries, read only when the scoring needs them.
    func select(
        documentMass: UnsafeBufferPointer<Float>, queries: Matrix?,
        summaries: () throws -> RepresentativeKeys
    ) throws -> [Range<Int>] {
        try select(documentRows: documentMass.count, documentMass: documentMass, queries: queries, summaries: summaries)
    }

    /// Selection before any layer has run: blocks scored by `queries` against `summaries`, sinks
    /// as recorded at prefill.
    func select(
        documentRows d: Int, queries: Matrix, recordedSinks: [Int32], summaries: () throws -> RepresentativeKeys
    ) throws -> [Range<Int>] {
        let blocks = try select(documentRows: d, documentMass: nil, queries: queries, summaries: summaries)
        let sinks = recordedSinks.prefix(parameters.sinkCount).map { Int($0)..<(Int($0) + 1) }.filter { $0.upperBound <= d }
        return mergedRanges(blocks + sinks)
    }

    private func select(
        documentRows d: Int, documentMass: UnsafeBufferPointer<Float>?, queries: Matrix?,
        summaries: () throws -> RepresentativeKeys
    ) throws -> [Range<Int>] {
        guard d > 0 else { return [] }
        let size = parameters.blockSize
        let blockCount = (d + size - 1) / size
        let scores: [Float]
        switch parameters.scoring {
        case .attentionMass:
            guard let documentMass else { return [0..<d] }
            scores = (0..<blockCount).map { b in
                (b * size..<min(d, (b + 1) * size)).reduce(Float(0)) { $0 + documentMass[$1] }
            }
        case .meanKey, .quest:
            guard let queries else { return [0..<d] }
            scores = keyScores(queries: queries, summary: try summaries())
        }
        let kept = topIndices(scores, count: min(parameters.keptBlocks, blockCount))
        lastKept = kept.count
        var ranges = kept.map { ($0 * size)..<min(d, ($0 + 1) * size) }
        if let documentMass {
            let sinks = topIndices(Array(documentMass), count: min(parameters.sinkCount, d))
            ranges += sinks.map { $0..<($0 + 1) }
        }
        return mergedRanges(ranges)
    }

    /// Per block, the largest score any active query head gives the block's representative key.
    private func keyScores(queries: Matrix, summary: RepresentativeKeys) -> [Float] {
        let c = model.configuration
        let hd = c.headDimension
        let group = c.headCount / c.kvHeadCount
        var scores = [Float](repeating: -.infinity, count: summary.blocks)
        for b in 0..<summary.blocks {
            var best = -Float.infinity
            for r in 0..<queries.rows {
                let q = queries.row(r)
                for h in 0..<c.headCount {
                    let offset = b * summary.kvDim + (h / group) * hd
                    var s: Float = 0
                    for i in 0..<hd {
                        let qi = q[h * hd + i]
                        switch parameters.scoring {
                        case .quest: s += max(qi * summary.min[offset + i], qi * summary.max[offset + i])
                        default: s += qi * summary.mean[offset + i]
                        }
                    }
                    best = max(best, s)
                }
            }
            scores[b] = best
        }
        return scores
    }
}

/// Indices of the `count` largest values, ascending; ties go to the lower index.
public func topIndices(_ values: [Float], count: Int) -> [Int] {
    guard count > 0 else { return [] }
    if count >= values.count { return Array(values.indices) }
    return values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
        .prefix(count).sorted()
}
