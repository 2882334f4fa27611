import FocusModel

/// Cached (Fast-dLLM) and Focus (Focus-dLLM) decoding, and their stored-document variants.
///
/// Each block starts with a refresh: a dense forward that recomputes the KV of the whole
/// sequence (`CacheRefresh.full`) or of the rows after the document (`afterDocument`, and always
/// when the document's KV comes from a store). The steps inside the block recompute only some
/// rows against the cached KV of the others:
/// - `cached`: the current block and, unless `dualCache`, every block after it;
/// - `focus` / `stored`: the active queries: the `predictedCount` most confident masked rows of the
///   previous step widened by `window` (within the block) plus the rows decoded last step, with
///   dense layers `0…l` and block-sparse layers after them.
public struct BlockDecoder: DiffusionDecoder {
    public let model: TransformerModel
    public let extraStopTokens: [Int32]
    /// Document KV to decode against instead of computing it (stored modes); its rows must be
    /// the prompt's first `documentLength` rows.
    public var documentSource: DocumentKVSource?
    /// Called before every step with the number of steps taken so far; throwing stops decoding
    /// (a lost lease, a stop request).
    public var onStep: ((Int) throws -> Void)?

    public init(model: TransformerModel, extraStopTokens: [Int32] = [], documentSource: DocumentKVSource? = nil) {
        self.model = model
        self.extraStopTokens = extraStopTokens
        self.documentSource = documentSource
    }

    public func decode(_ prompt: DecodingPrompt, parameters p: DecodingParameters) throws -> DecodingResult {
        try check(prompt, p, model: model)
        if let documentSource, documentSource.rowCount != prompt.documentLength {
            throw DecodingError.invalidParameter(
                field: "document", reason: "stored KV holds \(documentSource.rowCount) rows, the prompt's document \(prompt.documentLength)")
        }
        let started = monotonicSeconds()
        var canvas = Canvas(
            prompt: prompt, generationLength: p.generationLength, maskID: model.configuration.maskTokenID,
            stopIDs: model.stopTokens(extra: extraStopTokens))
        var sampler = TokenSampler(temperature: p.temperature, seed: p.seed)
        var result = DecodingResult()
        let d = prompt.documentLength
        let emptyDocument = InMemoryDocumentKV(cache: DenseKVCache(configuration: model.configuration, capacity: 1))
        let sequence = SequenceKV(model: model, document: documentSource ?? emptyDocument, documentLength: d)
        let sparse: FocusParameters? = p.mode == .cached ? nil : p.focus
        var confidence: [Int: Float] = [:]
        var lastDecoded: [Int] = []
        var prefilled = false

        blocks: for block in 0..<p.blockCount {
            let rows = canvas.blockRows(block, blockLength: p.blockLength)
            let schedule = transferSchedule(masked: rows.count, steps: p.stepsPerBlock)
            var step = 0
            while case let masked = canvas.maskedRows(in: rows), !masked.isEmpty {
                try onStep?(result.steps)
                let computed: [Int]
                let logits: Matrix
                if step == 0 || p.refreshEveryStep {
                    computed = masked
                    let wanted = masked.map(model.logitRow(for:))
                    if documentSource == nil && (p.refresh == .full || !prefilled || p.refreshEveryStep) {
                        logits = sequence.fullRefresh(canvas: canvas, logitRows: wanted, result: &result)
                    } else {
                        let plan = ForwardPlan(
                            queryRows: Array(d..<canvas.count), logitRows: wanted,
                            sparse: documentSource == nil ? nil : sparse)
                        logits = try sequence.run(plan, canvas: canvas, result: &result).logits!
                    }
                    if !prefilled {
                        result.prefillSeconds = monotonicSeconds() - started
                        prefilled = true
                    }
                } else {
                    let queryRows = self.queryRows(
                        p, block: rows, canvas: canvas, masked: masked, confidence: confidence, lastDecoded: lastDecoded)
                    let querySet = Set(queryRows)
                    computed = masked.filter { querySet.contains(model.logitRow(for: $0)) }
                    let plan = ForwardPlan(
                        queryRows: queryRows, logitRows: computed.map(model.logitRow(for:)), sparse: sparse)
                    logits = try sequence.run(plan, canvas: canvas, result: &result).logits!
                }
                let proposals = sampler.propose(rows: computed, logits: logits)
                for proposal in proposals { confidence[proposal.row] = proposal.confidence }
                let rule: UnmaskingRule =
                    p.threshold.map { .threshold($0) } ?? .topK(step < schedule.count ? schedule[step] : 1)
                let accepted = rule.select(proposals)
                for choice in accepted {
                    canvas.set(choice.row, to: choice.token)
                    confidence[choice.row] = nil
                }
                lastDecoded = accepted.map(\.row)
                step += 1
                result.steps += 1
            }
            if canvas.blockEndsAnswer(rows) {
                canvas.fill(from: rows.upperBound, with: model.configuration.eosTokenID ?? canvas.tokens[rows.last!])
                break blocks
            }
        }
        result.answerTokens = canvas.answerTokens
        result.generatedTokens = canvas.generatedTokens
        result.decodeSeconds = monotonicSeconds() - started - result.prefillSeconds
        return result
    }

    /// The rows a step inside a block recomputes (sorted).
    func queryRows(
        _ p: DecodingParameters, block rows: Range<Int>, canvas: Canvas, masked: [Int],
        confidence: [Int: Float], lastDecoded: [Int]
    ) -> [Int] {
        let shift = model.configuration.shiftsLogits ? 1 : 0
        if p.mode == .cached {
            let upper = p.dualCache ? rows.upperBound : canvas.count
            return Array((rows.lowerBound - shift)..<upper)
        }
        let predicted = masked.sorted {
            let a = confidence[$0] ?? 0
            let b = confidence[$1] ?? 0
            return a != b ? a > b : $0 < $1
        }.prefix(p.focus.predictedCount)
        var active = Set(lastDecoded)
        for row in predicted {
            let lower = max(rows.lowerBound, row - p.focus.window)
            let upper = min(rows.upperBound - 1, row + p.focus.window)
            for r in lower...upper { active.insert(r) }
        }
        if shift > 0 {
            for row in active where canvas.tokens[row] == canvas.maskID { active.insert(row - 1) }
        }
        return active.sorted()
    }
}
