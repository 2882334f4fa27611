import Foundation

// MARK: - Attention block

/// The attention half of a layer: projections, rotary embedding and attention.
final class AttentionBlock: @unchecked Sendable {
    let norm: VectorWeight
    let query: LinearWeight
    let key: LinearWeight
    let value: LinearWeight
    let output: LinearWeight
    let queryBias: VectorWeight?
    let keyBias: VectorWeight?
    let valueBias: VectorWeight?

    init(checkpoint: Checkpoint, layer: Int, widen: Bool) throws {
        let layout = checkpoint.layout
        func linear(_ role: LayerTensor) throws -> LinearWeight {
            try checkpoint.linearWeight(layout.name(role, layer: layer), widen: widen)
        }
        func vector(_ role: LayerTensor) throws -> VectorWeight {
            VectorWeight(try checkpoint.tensor(layout.name(role, layer: layer)))
        }
        norm = try vector(.attentionNorm)
        query = try linear(.query)
        key = try linear(.key)
        value = try linear(.value)
        output = try linear(.output)
        let biased = checkpoint.configuration.hasQKVBias
        queryBias = biased ? try vector(.queryBias) : nil
        keyBias = biased ? try vector(.keyBias) : nil
        valueBias = biased ? try vector(.valueBias) : nil
    }
}

// MARK: - MLP

/// The SwiGLU feed-forward half of a layer: `down(silu(gate(x)) · up(x))`.
final class FeedForward: @unchecked Sendable {
    let norm: VectorWeight
    let gate: LinearWeight
    let up: LinearWeight
    let down: LinearWeight

    init(checkpoint: Checkpoint, layer: Int, widen: Bool) throws {
        let layout = checkpoint.layout
        norm = VectorWeight(try checkpoint.tensor(layout.name(.mlpNorm, layer: layer)))
        gate = try checkpoint.linearWeight(layout.name(.gate, layer: layer), widen: widen)
        up = try checkpoint.linearWeight(layout.name(.up, layer: layer), widen: widen)
        down = try checkpoint.linearWeight(layout.name(.down, layer: layer), widen: widen)
    }
}

// MARK: - Model

/// A LLaDA- or Dream-shaped bidirectional transformer evaluated on the CPU.
///
/// The model is driven layer by layer so that callers decide which KV rows each layer attends
/// (a prefix cache, stored document blocks, a sparse selection) and what happens to the K and V
/// rows each layer produces (appended to a cache, streamed to disk, dropped).
public final class TransformerModel: @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let checkpoint: Checkpoint
    let attention: [AttentionBlock]
    let feedForward: [FeedForward]
    let embedding: LinearWeight
    let finalNorm: VectorWeight
    let head: LinearWeight
    let rotary: RotaryEmbedding
    /// Rows processed at once by the row-independent parts (projections, MLP): bounds the
    /// working buffers on long prompts.
    public var rowChunk = 2048

    /// Loads and validates a model directory.
    public convenience init(directory: URL, residency: WeightResidency = .automatic) throws {
        try self.init(checkpoint: Checkpoint(directory: directory), residency: residency)
    }

    public init(checkpoint: Checkpoint, residency: WeightResidency = .automatic) throws {
        self.checkpoint = checkpoint
        let c = checkpoint.configuration
        configuration = c
        let widen: Bool
        switch residency {
        case .widened: widen = true
        case .streamed: widen = false
        case .automatic:
            let limit = getenvString("FOCUS_WIDEN_LIMIT").flatMap(Int.init) ?? (2 << 30)
            widen = c.parameterCount * 4 <= limit
        }
        attention = try (0..<c.layerCount).map { try AttentionBlock(checkpoint: checkpoint, layer: $0, widen: widen) }
        feedForward = try (0..<c.layerCount).map { try FeedForward(checkpoint: checkpoint, layer: $0, widen: widen) }
        let layout = checkpoint.layout
        embedding = try checkpoint.linearWeight(layout.name(.embedding), widen: false)
        finalNorm = VectorWeight(try checkpoint.tensor(layout.name(.finalNorm)))
        head = try checkpoint.linearWeight(layout.name(c.tiedEmbeddings ? .embedding : .head), widen: widen)
        rotary = RotaryEmbedding(headDimension: c.headDimension, theta: c.ropeTheta)
        ComputeThreads.configureBLAS()
    }

    // MARK: Embedding

    /// The embedding rows of `tokens`: an `n × d` hidden state.
    public func embed(_ tokens: [Int32]) -> Matrix {
        let x = Matrix(rows: tokens.count, columns: configuration.hiddenSize)
        for (r, token) in tokens.enumerated() {
            precondition(token >= 0 && Int(token) < configuration.vocabularySize, "token \(token) outside the vocabulary")
            embedding.copyRow(Int(token), into: x.row(r))
        }
        return x
    }

    // MARK: Layer

    /// Runs layer `layer` over the hidden state `x` (updated in place) for rows at `positions`.
    ///
    /// The rows attend to `context` (earlier rows' K/V, in order) followed by their own K/V.
    /// - Returns: the rows' own K (after RoPE) and V, `n × kvDimension` each.
    @discardableResult
    public func runLayer(
        _ layer: Int, hidden x: Matrix, positions: [Int32],
        context: [KVSegment] = [], options: AttentionOptions = AttentionOptions()
    ) -> (keys: Matrix, values: Matrix) {
        runLayer(layer, hidden: x, positions: positions, groups: [AttentionGroup(rows: 0..<x.rows, context: context, options: options)])
    }

    /// Runs layer `layer` over rows that belong to independent sequences (requests decoded
    /// together): projections and MLP run once over all rows, attention once per group, each
    /// group's rows attending to its own `context` followed by the group's own K/V.
    ///
    /// - Parameter groups: disjoint row ranges of `x`, covering every row.
    /// - Returns: every row's own K (after RoPE) and V, `n × kvDimension` each.
    @discardableResult
    public func runLayer(_ layer: Int, hidden x: Matrix, positions: [Int32], groups: [AttentionGroup]) -> (keys: Matrix, values: Matrix) {
        let c = configuration
        let n = x.rows
        let d = c.hiddenSize
        let kvDim = c.kvDimension
        precondition(groups.reduce(0) { $0 + $1.rows.count } == n, "attention groups must cover every row once")
        let block = attention[layer]
        let q = Matrix(rows: n, columns: d)
        let k = Matrix(rows: n, columns: kvDim)
        let v = Matrix(rows: n, columns: kvDim)
        forEachRowChunk(n, width: d) { start, count, normed in
            for r in 0..<count {
                Kernels.rmsNorm(x.row(start + r), weight: block.norm.values, epsilon: c.rmsNormEpsilon, count: d, into: normed + r * d)
            }
            block.query.apply(normed, rows: count, ldx: d, into: q.row(start), ldy: d)
            block.key.apply(normed, rows: count, ldx: d, into: k.row(start), ldy: kvDim)
            block.value.apply(normed, rows: count, ldx: d, into: v.row(start), ldy: kvDim)
        }
        if let bias = block.queryBias { Kernels.addBias(q.data, rows: n, count: d, ld: d, bias: bias.values) }
        if let bias = block.keyBias { Kernels.addBias(k.data, rows: n, count: kvDim, ld: kvDim, bias: bias.values) }
        if let bias = block.valueBias { Kernels.addBias(v.data, rows: n, count: kvDim, ld: kvDim, bias: bias.values) }
        rotary.apply(q.data, rows: n, ld: d, heads: c.headCount, positions: positions)
        rotary.apply(k.data, rows: n, ld: kvDim, heads: c.kvHeadCount, positions: positions)

        let attended = Matrix(rows: n, columns: d)
        for group in groups where !group.rows.isEmpty {
            let first = group.rows.lowerBound
            let rows = group.rows.count
            if let onQueries = group.options.onQueries {
                onQueries(rows == n ? q : q.gatherRows(Array(group.rows)))
            }
            let own = KVSegment(keys: k.row(first), values: v.row(first), rows: rows, stride: kvDim)
            Attention.compute(
                queries: q.row(first), rows: rows, segments: group.context + [own], headCount: c.headCount,
                kvHeadCount: c.kvHeadCount, headDimension: c.headDimension, options: group.options,
                output: attended.row(first))
        }
        block.output.apply(attended.data, rows: n, ldx: d, into: x.data, ldy: d, accumulate: true)

        let mlp = feedForward[layer]
        let width = c.intermediateSize
        forEachRowChunk(n, width: d) { start, count, normed in
            for r in 0..<count {
                Kernels.rmsNorm(x.row(start + r), weight: mlp.norm.values, epsilon: c.rmsNormEpsilon, count: d, into: normed + r * d)
            }
            let gate = UnsafeMutablePointer<Float>.allocate(capacity: count * width)
            let up = UnsafeMutablePointer<Float>.allocate(capacity: count * width)
            defer {
                gate.deallocate()
                up.deallocate()
            }
            mlp.gate.apply(normed, rows: count, ldx: d, into: gate, ldy: width)
            mlp.up.apply(normed, rows: count, ldx: d, into: up, ldy: width)
            Kernels.siluMultiply(gate, up: up, count: count * width)
            mlp.down.apply(gate, rows: count, ldx: width, into: x.row(start), ldy: d, accumulate: true)
        }
        return (k, v)
    }

    /// The queries (after bias and RoPE) that layer `layer` computes from hidden state `x`,
    /// without running the layer: block selection scores documents with them.
    public func queries(layer: Int, hidden x: Matrix, positions: [Int32]) -> Matrix {
        let c = configuration
        let block = attention[layer]
        let normed = Matrix(rows: x.rows, columns: c.hiddenSize)
        for r in 0..<x.rows {
            Kernels.rmsNorm(x.row(r), weight: block.norm.values, epsilon: c.rmsNormEpsilon, count: c.hiddenSize, into: normed.row(r))
        }
        let q = Matrix(rows: x.rows, columns: c.hiddenSize)
        block.query.apply(normed.data, rows: x.rows, ldx: c.hiddenSize, into: q.data, ldy: c.hiddenSize)
        if let bias = block.queryBias { Kernels.addBias(q.data, rows: x.rows, count: c.hiddenSize, ld: c.hiddenSize, bias: bias.values) }
        rotary.apply(q.data, rows: x.rows, ld: c.hiddenSize, heads: c.headCount, positions: positions)
        return q
    }

    // MARK: Head

    /// Logits (`rows.count × vocabularySize`) of the selected rows of the final hidden state.
    public func logits(hidden x: Matrix, rows: [Int]) -> Matrix {
        let c = configuration
        let normed = Matrix(rows: rows.count, columns: c.hiddenSize)
        for (i, r) in rows.enumerated() {
            Kernels.rmsNorm(x.row(r), weight: finalNorm.values, epsilon: c.rmsNormEpsilon, count: c.hiddenSize, into: normed.row(i))
        }
        let out = Matrix(rows: rows.count, columns: c.vocabularySize)
        head.apply(normed.data, rows: rows.count, ldx: c.hiddenSize, into: out.data, ldy: c.vocabularySize)
        return out
    }

    private func forEachRowChunk(_ n: Int, width: Int, _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let chunk = max(1, min(rowChunk, n))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: chunk * width)
        defer { scratch.deallocate() }
        var start = 0
        while start < n {
            let count = min(chunk, n - start)
            body(start, count, scratch)
            start += count
        }
    }
}
