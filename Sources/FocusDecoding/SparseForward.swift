import FocusModel

/// Which rows a partial forward recomputes and how its layers attend.
struct ForwardPlan {
    /// Absolute rows recomputed (sorted, all after the document).
    var queryRows: [Int]
    /// Rows (a subset of `queryRows`) whose logits are wanted, already shifted for Dream.
    var logitRows: [Int]
    /// `nil`: every layer dense. Otherwise layers `0…l` are dense and later layers attend only
    /// to the selected document blocks, the sinks and the rows after the document.
    var sparse: FocusParameters?
    /// Stop after this many layers (block selection probes need only the dense layers).
    var layerLimit: Int?
    /// FOCUS eviction of logit rows unlikely to be decoded (`nil`: every row runs every layer).
    var eviction: EvictionParameters?
    /// Tokens expected to be decoded by this step (sizes the eviction's keep budget).
    var expectedDecoded = 1

    init(queryRows: [Int], logitRows: [Int], sparse: FocusParameters?, layerLimit: Int? = nil) {
        self.queryRows = queryRows
        self.logitRows = logitRows
        self.sparse = sparse
        self.layerLimit = layerLimit
    }
}

/// The outcome of a partial forward.
struct ForwardOutcome {
    var logits: Matrix?
    /// The rows the logits belong to, in order: the plan's logit rows less any evicted ones.
    var logitRows: [Int] = []
    /// Document row ranges the sparse layers attended (sinks and kept blocks, merged).
    var selection: [Range<Int>]?
}

/// The KV of a sequence `[document | question | answer]`: document rows from a source, the rows
/// after it in a tail cache indexed from `documentLength`.
final class SequenceKV {
    let model: TransformerModel
    var document: DocumentKVSource
    let tail: DenseKVCache
    let documentLength: Int

    init(model: TransformerModel, document: DocumentKVSource, documentLength: Int) {
        self.model = model
        self.document = document
        self.documentLength = documentLength
        tail = DenseKVCache(configuration: model.configuration, capacity: 64)
    }

    /// A dense forward over the whole sequence: document KV and tail KV both recomputed.
    func fullRefresh(canvas: Canvas, logitRows: [Int], result: inout DecodingResult) -> Matrix {
        let c = model.configuration
        let n = canvas.count
        let d = documentLength
        let documentCache = DenseKVCache(configuration: c, capacity: max(d, 1))
        tail.truncate(to: 0)
        let logits = model.forward(
            tokens: canvas.tokens, positions: canvas.positions,
            visibleKeys: model.promptVisibility(documentRows: d, totalRows: n),
            logitRows: logitRows,
            onLayerKV: { layer, k, v in
                documentCache.append(layer: layer, keys: k, values: v, rows: 0..<d)
                self.tail.append(layer: layer, keys: k, values: v, rows: d..<n)
            })
        document = InMemoryDocumentKV(cache: documentCache)
        result.forwardPasses += 1
        result.attendedRows += n * c.layerCount
        result.computedRows += n * c.layerCount
        result.availableRows += n * c.layerCount
        return logits
    }

    /// Recomputes `plan.queryRows` through the model against the cached KV of every other row,
    /// writing their new KV into the tail cache (appending when the tail is still empty).
    func run(_ plan: ForwardPlan, canvas: Canvas, result: inout DecodingResult) throws -> ForwardOutcome {
        var accounting = [DecodingResult()]
        let outcome = try SequenceKV.runTogether([ForwardItem(sequence: self, plan: plan, canvas: canvas)], accounting: &accounting)
        result.absorb(accounting[0])
        return outcome[0]
    }
}
