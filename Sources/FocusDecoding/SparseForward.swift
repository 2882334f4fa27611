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
}

/// The outcome of a partial forward.
struct ForwardOutcome {
    var logits: Matrix?
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
        result.availableRows += n * c.layerCount
        return logits
    }

    /// Recomputes `plan.queryRows` through the model against the cached KV of every other row,
    /// writing their new KV into the tail cache (appending when the tail is still empty).
    func run(_ plan: ForwardPlan, canvas: Canvas, result: inout DecodingResult) throws -> ForwardOutcome {
        let c = model.configuration
        let d = documentLength
        let rows = plan.queryRows
        let tokens = rows.map { canvas.tokens[$0] }
        let allPositions = canvas.positions
        let positions = rows.map { allPositions[$0] }
        let filling = tail.count == 0
        precondition(!filling || rows == Array(d..<canvas.count), "an empty tail is filled by all its rows")
        let querySet = Set(rows)
        let otherTail = filling ? [] : runs(of: (d..<canvas.count).filter { !querySet.contains($0) })
        let layers = plan.layerLimit ?? c.layerCount
        let denseLayers = plan.sparse.map { min($0.denseLayers, layers) } ?? layers
        var selection: [Range<Int>]?
        let x = model.embed(tokens)
        if let focus = plan.sparse, focus.denseLayers == 0, d > 0 {
            let selector = BlockSelector(parameters: focus, model: model)
            selection = try selector.select(
                documentRows: d, queries: model.queries(layer: 0, hidden: x, positions: positions),
                recordedSinks: document.sinks(layer: 0),
                summaries: { try self.document.representativeKeys(layer: 0, blockSize: focus.blockSize) })
            result.blocksSelected += selector.lastKept
            result.blocksTotal += (d + focus.blockSize - 1) / focus.blockSize
        }

        for layer in 0..<layers {
            let documentRanges = layer < denseLayers ? (d > 0 ? [0..<d] : []) : (selection ?? [])
            let (bytesBefore, secondsBefore) = (document.bytesRead, document.readSeconds)
            var context = try document.segments(layer: layer, ranges: documentRanges)
            result.kvBytesRead += document.bytesRead - bytesBefore
            result.kvLoadSeconds += document.readSeconds - secondsBefore
            context += otherTail.map { tail.segment(layer: layer, rows: ($0.lowerBound - d)..<($0.upperBound - d)) }
            let keyCount = context.reduce(0) { $0 + $1.rows } + rows.count
            result.attendedRows += keyCount
            result.availableRows += canvas.count

            var options = AttentionOptions()
            let selecting = plan.sparse != nil && layer == denseLayers - 1 && layers > denseLayers
            let mass = UnsafeMutablePointer<Float>.allocate(capacity: selecting ? keyCount : 1)
            defer { mass.deallocate() }
            var queries: Matrix?
            if selecting {
                options.keyMass = mass
                options.onQueries = { queries = $0 }
            }
            let (k, v) = model.runLayer(layer, hidden: x, positions: positions, context: context, options: options)
            if filling {
                tail.append(layer: layer, keys: k, values: v)
            } else {
                tail.overwrite(layer: layer, rows: rows.map { $0 - d }, keys: k, values: v)
            }
            if selecting, let focus = plan.sparse {
                let selector = BlockSelector(parameters: focus, model: model)
                selection = try selector.select(
                    documentMass: UnsafeBufferPointer(start: mass, count: d), queries: queries,
                    summaries: { try self.document.representativeKeys(layer: layer, blockSize: focus.blockSize) })
                result.blocksSelected += selector.lastKept
                result.blocksTotal += (d + focus.blockSize - 1) / focus.blockSize
            }
        }
        result.forwardPasses += 1
        guard layers == c.layerCount else { return ForwardOutcome(logits: nil, selection: selection) }
        let index = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1, $0) })
        let logits = model.logits(hidden: x, rows: plan.logitRows.map { index[$0]! })
        return ForwardOutcome(logits: logits, selection: selection)
    }
}
