import FocusModel

/// One request's part of a forward: its KV, the rows it recomputes, its canvas.
struct ForwardItem {
    let sequence: SequenceKV
    let plan: ForwardPlan
    let canvas: Canvas
}

/// A request's bookkeeping while a (possibly shared) forward runs.
private struct ItemPass {
    let item: ForwardItem
    /// Absolute rows still computed (sorted); eviction removes some of them.
    var rows: [Int]
    /// Rows whose logits are still wanted.
    var logitRows: [Int]
    /// Whether the tail is empty and this forward fills it.
    let filling: Bool
    /// Tail rows not recomputed, attended from the cache (absolute row ranges).
    var otherTail: [Range<Int>]
    let denseLayers: Int
    let layers: Int
    var selection: [Range<Int>]?
    /// Attention mass the rows received at the layer before the eviction's scoring layer.
    var previousMass: [Float]?

    init(item: ForwardItem, layers: Int) {
        self.item = item
        self.layers = layers
        let d = item.sequence.documentLength
        rows = item.plan.queryRows
        logitRows = item.plan.logitRows
        filling = item.sequence.tail.count == 0
        precondition(!filling || rows == Array(d..<item.canvas.count), "an empty tail is filled by all its rows")
        let querySet = Set(rows)
        otherTail = filling ? [] : runs(of: (d..<item.canvas.count).filter { !querySet.contains($0) })
        denseLayers = item.plan.sparse.map { min($0.denseLayers, layers) } ?? layers
    }

    var tokens: [Int32] { rows.map { item.canvas.tokens[$0] } }
    var positions: [Int32] {
        let all = item.canvas.positions
        return rows.map { all[$0] }
    }

    /// Whether layer `layer` picks the blocks and sinks the sparse layers attend.
    func selects(at layer: Int) -> Bool { item.plan.sparse != nil && layer == denseLayers - 1 && layers > denseLayers }

    /// The eviction's scoring layer, when this forward may evict.
    var scoringLayer: Int? {
        guard let e = item.plan.eviction, !filling, e.scoringLayer < layers else { return nil }
        return e.scoringLayer
    }

    /// Keeps the `keepRatio × expectedDecoded` masked logit rows whose attention grew most between
    /// the two scoring layers; returns whether any row was evicted. Rows that already hold a token
    /// (Dream reads a masked row's logits from the decoded row before it) always stay: they are
    /// recomputed so that their KV catches up with the token.
    mutating func evict(mass: [Float]) -> Bool {
        guard let e = item.plan.eviction, let previousMass else { return false }
        let keep = max(1, Int((e.keepRatio * Double(item.plan.expectedDecoded)).rounded(.up)))
        let canvas = item.canvas
        let candidates = logitRows.filter { canvas.tokens[$0] == canvas.maskID }
        guard candidates.count > keep else { return false }
        let index = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1, $0) })
        let ranked = candidates.sorted {
            let a = mass[index[$0]!] - previousMass[index[$0]!]
            let b = mass[index[$1]!] - previousMass[index[$1]!]
            return a != b ? a > b : $0 < $1
        }
        let dropped = Set(ranked.dropFirst(keep))
        rows = rows.filter { !dropped.contains($0) }
        logitRows = logitRows.filter { !dropped.contains($0) }
        let rowSet = Set(rows)
        let d = item.sequence.documentLength
        otherTail = runs(of: (d..<item.canvas.count).filter { !rowSet.contains($0) })
        return true
    }
}

/// Collects each group's queries from the attention callback.
private final class QueryCollector {
    var queries: [Matrix?]
    init(count: Int) { queries = Array(repeating: nil, count: count) }
}

extension SequenceKV {
    /// Runs the plans of several requests on one model as one forward: their rows are stacked so
    /// that projections and MLP are single matrix products, while each request attends only to
    /// its own document selection and tail (FOCUS-style batching). One item is the plain partial
    /// forward of `run`.
    static func runTogether(_ items: [ForwardItem], accounting: inout [DecodingResult]) throws -> [ForwardOutcome] {
        guard let first = items.first else { return [] }
        let model = first.sequence.model
        let c = model.configuration
        let layers = first.plan.layerLimit ?? c.layerCount
        precondition(items.allSatisfy { ($0.plan.layerLimit ?? c.layerCount) == layers }, "requests run together share a layer count")
        var passes = items.map { ItemPass(item: $0, layers: layers) }
        var x = model.embed(passes.flatMap(\.tokens))
        var positions = passes.flatMap(\.positions)

        var start = 0
        for i in passes.indices {
            let count = passes[i].rows.count
            defer { start += count }
            let seq = passes[i].item.sequence
            let d = seq.documentLength
            guard let focus = passes[i].item.plan.sparse, focus.denseLayers == 0, d > 0 else { continue }
            let own = items.count == 1 ? x : x.gatherRows(Array(start..<(start + count)))
            let selector = BlockSelector(parameters: focus, model: model)
            passes[i].selection = try selector.select(
                documentRows: d, queries: model.queries(layer: 0, hidden: own, positions: passes[i].positions),
                recordedSinks: seq.document.sinks(layer: 0),
                summaries: { try seq.document.representativeKeys(layer: 0, blockSize: focus.blockSize) })
            accounting[i].blocksSelected += selector.lastKept
            accounting[i].blocksTotal += (d + focus.blockSize - 1) / focus.blockSize
        }

        for layer in 0..<layers {
            var groups: [AttentionGroup] = []
            var masses: [UnsafeMutablePointer<Float>?] = []
            defer { for mass in masses { mass?.deallocate() } }
            var keyCounts: [Int] = []
            let collector = QueryCollector(count: passes.count)
            var rowStart = 0
            for i in passes.indices {
                let pass = passes[i]
                let seq = pass.item.sequence
                let d = seq.documentLength
                let documentRanges = layer < pass.denseLayers ? (d > 0 ? [0..<d] : []) : (pass.selection ?? [])
                let (bytesBefore, secondsBefore) = (seq.document.bytesRead, seq.document.readSeconds)
                var context = try seq.document.segments(layer: layer, ranges: documentRanges)
                accounting[i].kvBytesRead += seq.document.bytesRead - bytesBefore
                accounting[i].kvLoadSeconds += seq.document.readSeconds - secondsBefore
                context += pass.otherTail.map { seq.tail.segment(layer: layer, rows: ($0.lowerBound - d)..<($0.upperBound - d)) }
                let keyCount = context.reduce(0) { $0 + $1.rows } + pass.rows.count
                accounting[i].attendedRows += keyCount
                accounting[i].computedRows += pass.rows.count
                accounting[i].availableRows += pass.item.canvas.count

                var options = AttentionOptions()
                let scoring = pass.scoringLayer.map { layer == $0 - 1 || layer == $0 } ?? false
                let mass: UnsafeMutablePointer<Float>? = pass.selects(at: layer) || scoring ? .allocate(capacity: keyCount) : nil
                options.keyMass = mass
                if pass.selects(at: layer) { options.onQueries = { collector.queries[i] = $0 } }
                groups.append(AttentionGroup(rows: rowStart..<(rowStart + pass.rows.count), context: context, options: options))
                masses.append(mass)
                keyCounts.append(keyCount)
                rowStart += pass.rows.count
            }

            let (k, v) = model.runLayer(layer, hidden: x, positions: positions, groups: groups)
            let rowsBefore = passes.contains { $0.scoringLayer == layer } ? passes.map(\.rows) : []
            var evicted = false
            for i in passes.indices {
                let seq = passes[i].item.sequence
                let d = seq.documentLength
                let range = groups[i].rows
                if passes[i].filling {
                    seq.tail.append(layer: layer, keys: k, values: v, rows: range)
                } else {
                    let single = passes.count == 1
                    seq.tail.overwrite(
                        layer: layer, rows: passes[i].rows.map { $0 - d },
                        keys: single ? k : k.gatherRows(Array(range)), values: single ? v : v.gatherRows(Array(range)))
                }
                guard let mass = masses[i] else { continue }
                if passes[i].selects(at: layer), let focus = passes[i].item.plan.sparse {
                    let selector = BlockSelector(parameters: focus, model: model)
                    passes[i].selection = try selector.select(
                        documentMass: UnsafeBufferPointer(start: mass, count: d), queries: collector.queries[i],
                        summaries: { try seq.document.representativeKeys(layer: layer, blockSize: focus.blockSize) })
                    accounting[i].blocksSelected += selector.lastKept
                    accounting[i].blocksTotal += (d + focus.blockSize - 1) / focus.blockSize
                }
                if let scoringLayer = passes[i].scoringLayer {
                    let own = Array(UnsafeBufferPointer(start: mass + keyCounts[i] - range.count, count: range.count))
                    if layer == scoringLayer - 1 {
                        passes[i].previousMass = own
                    } else if layer == scoringLayer, passes[i].evict(mass: own) {
                        accounting[i].evictedRows += rowsBefore[i].count - passes[i].rows.count
                        evicted = true
                    }
                }
            }
            if evicted {
                var kept: [Int] = []
                for i in passes.indices {
                    let stillComputed = Set(passes[i].rows)
                    kept += zip(groups[i].rows, rowsBefore[i]).filter { stillComputed.contains($0.1) }.map(\.0)
                }
                x = x.gatherRows(kept)
                positions = kept.map { positions[$0] }
            }
        }

        for i in passes.indices { accounting[i].forwardPasses += 1 }
        guard layers == c.layerCount else { return passes.map { ForwardOutcome(logits: nil, selection: $0.selection) } }
        var logitIndices: [Int] = []
        var rowBase = 0
        for pass in passes {
            let index = Dictionary(uniqueKeysWithValues: pass.rows.enumerated().map { ($1, $0) })
            logitIndices += pass.logitRows.map { rowBase + index[$0]! }
            rowBase += pass.rows.count
        }
        let logits = model.logits(hidden: x, rows: logitIndices)
        var outcomes: [ForwardOutcome] = []
        var logitBase = 0
        for pass in passes {
            let count = pass.logitRows.count
            let own = passes.count == 1 ? logits : logits.gatherRows(Array(logitBase..<(logitBase + count)))
            outcomes.append(ForwardOutcome(logits: own, logitRows: pass.logitRows, selection: pass.selection))
            logitBase += count
        }
        return outcomes
    }
}
