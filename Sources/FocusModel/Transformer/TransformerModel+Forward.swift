/// Whole-model forward passes built from `runLayer`.
extension TransformerModel {
    /// Runs every layer over `tokens` at `positions` and returns the logits of `logitRows`.
    ///
    /// - Parameters:
    ///   - context: per layer, the earlier KV rows the tokens attend to (before their own rows).
    ///   - visibleKeys: per token, how many keys of [context, own rows] it may see (`nil`: all).
    ///   - onLayerKV: receives each layer's new K (after RoPE) and V rows, e.g. to fill a cache.
    public func forward(
        tokens: [Int32], positions: [Int32],
        context: (Int) -> [KVSegment] = { _ in [] },
        visibleKeys: [Int32]? = nil,
        logitRows: [Int],
        onLayerKV: ((Int, Matrix, Matrix) -> Void)? = nil
    ) -> Matrix {
        precondition(tokens.count == positions.count, "one position per token")
        let x = embed(tokens)
        for layer in 0..<configuration.layerCount {
            let (k, v) = runLayer(
                layer, hidden: x, positions: positions, context: context(layer),
                options: AttentionOptions(visibleKeys: visibleKeys))
            onLayerKV?(layer, k, v)
        }
        return logits(hidden: x, rows: logitRows)
    }

    /// Forward over `tokens` at positions `start..<start+count`, appending every layer's K and V
    /// to `cache` after attending to what `cache` already held.
    public func prefill(
        tokens: [Int32], startPosition: Int32 = 0, into cache: KVCache,
        visibleKeys: [Int32]? = nil, logitRows: [Int] = []
    ) -> Matrix {
        let existing = cache.count
        let positions = (0..<tokens.count).map { startPosition + Int32($0) }
        return forward(
            tokens: tokens, positions: positions,
            context: { existing > 0 ? [cache.segment(layer: $0, rows: 0..<existing)] : [] },
            visibleKeys: visibleKeys, logitRows: logitRows,
            onLayerKV: { cache.append(layer: $0, keys: $1, values: $2) })
    }

    /// Visible-key limits for a forward over [document | rest] under the model's prompt pattern:
    /// block-causal models keep the first `documentRows` rows inside the document.
    public func promptVisibility(documentRows: Int, contextRows: Int = 0, totalRows: Int) -> [Int32]? {
        guard configuration.promptAttention == .blockCausal, documentRows > 0 else { return nil }
        let all = Int32(contextRows + totalRows)
        return (0..<totalRows).map { $0 < documentRows ? Int32(contextRows + documentRows) : all }
    }
}
