import FocusModel

/// What a request needs computed for its next decoding step.
enum StepRequest {
    /// A dense forward over the whole sequence, document included.
    case fullRefresh(logitRows: [Int])
    /// A partial forward of some rows against the cached KV of the others.
    case partial(ForwardPlan)
    /// The answer is complete.
    case finished
}

/// One request's block-wise decoding state (cached, Focus and stored modes): which rows its next
/// step recomputes, and how the logits of that step unmask the canvas.
///
/// `BlockDecoder` drives one request at a time; `BatchDecoder` drives many together, running the
/// steps of all of them as one forward. Each block starts with a refresh: a dense forward of the
/// whole sequence (`CacheRefresh.full`) or of the rows after the document (`afterDocument`, and
/// always when the document's KV comes from a store). The steps inside a block recompute only some
/// rows against the cached KV of the others, as the mode's `DecodingModeTraits.stepRows` says:
/// - `wholeBlock` (`cached`): the current block and, unless `dualCache`, every block after it;
/// - `focusedRows` (`focus`, `stored`): the active queries: the `predictedCount` most confident masked rows of the
///   previous step widened by `window` (within the block) plus the rows decoded last step, with
///   dense layers `0…l` and block-sparse layers after them.
final class DecodingState {
    let model: TransformerModel
    let parameters: DecodingParameters
    let sequence: SequenceKV
    private(set) var canvas: Canvas
    private(set) var result = DecodingResult()
    private var sampler: TokenSampler
    private let hasDocumentSource: Bool
    private let started = monotonicSeconds()
    private var block = 0
    private var step = 0
    private var schedule: [Int] = []
    private var confidence: [Int: Float] = [:]
    private var lastDecoded: [Int] = []
    private var prefilled = false
    /// Masked rows whose logits the pending step asked for.
    private var pendingRows: [Int] = []
    private(set) var isFinished = false

    init(model: TransformerModel, prompt: DecodingPrompt, parameters p: DecodingParameters,
         stopTokens: Set<Int32>, documentSource: DocumentKVSource?) {
        self.model = model
        parameters = p
        canvas = Canvas(prompt: prompt, generationLength: p.generationLength, maskID: model.configuration.maskTokenID, stopIDs: stopTokens)
        sampler = TokenSampler(temperature: p.temperature, seed: p.seed)
        hasDocumentSource = documentSource != nil
        let emptyDocument = InMemoryDocumentKV(cache: DenseKVCache(configuration: model.configuration, capacity: 1))
        sequence = SequenceKV(model: model, document: documentSource ?? emptyDocument, documentLength: prompt.documentLength)
        schedule = transferSchedule(masked: canvas.blockRows(0, blockLength: p.blockLength).count, steps: p.stepsPerBlock)
    }

    /// Steps taken so far.
    var steps: Int { result.steps }

    /// Steps recompute the whole current block with dense attention (the mode's `stepRows` is
    /// `wholeBlock`); otherwise the focused rows, with sparse layers.
    private var recomputesWholeBlock: Bool { parameters.mode.traits.stepRows == .wholeBlock }

    /// The computation the next step needs, moving past finished blocks first.
    func nextRequest() -> StepRequest {
        let p = parameters
        while !isFinished {
            let rows = canvas.blockRows(block, blockLength: p.blockLength)
            let masked = canvas.maskedRows(in: rows)
            if masked.isEmpty {
                advanceBlock(rows)
                continue
            }
            let d = sequence.documentLength
            if step == 0 || p.refreshEveryStep {
                pendingRows = masked
                let wanted = masked.map(model.logitRow(for:))
                if !hasDocumentSource && (p.refresh == .full || !prefilled || p.refreshEveryStep) {
                    return .fullRefresh(logitRows: wanted)
                }
                // Dense, as Focus-dLLM's block start on Fast-dLLM's refresh: the block's first tokens
                // are read with every document key, and a stored document gives `focus`'s answers.
                return .partial(ForwardPlan(queryRows: Array(d..<canvas.count), logitRows: wanted, sparse: nil))
            }
            let queryRows = activeRows(block: rows, masked: masked)
            let querySet = Set(queryRows)
            pendingRows = masked.filter { querySet.contains(model.logitRow(for: $0)) }
            var plan = ForwardPlan(
                queryRows: queryRows, logitRows: pendingRows.map(model.logitRow(for:)),
                sparse: recomputesWholeBlock ? nil : p.focus)
            if let eviction = p.eviction {
                plan.eviction = eviction
                plan.expectedDecoded = p.threshold == nil ? (step < schedule.count ? schedule[step] : 1) : max(1, lastDecoded.count)
            }
            return .partial(plan)
        }
        return .finished
    }

    /// Runs the pending step's forward on this request's own KV.
    func runAlone(_ request: StepRequest) throws -> ForwardOutcome? {
        switch request {
        case .fullRefresh(let logitRows):
            let logits = sequence.fullRefresh(canvas: canvas, logitRows: logitRows, result: &result)
            return ForwardOutcome(logits: logits, logitRows: logitRows)
        case .partial(let plan):
            return try sequence.run(plan, canvas: canvas, result: &result)
        case .finished:
            return nil
        }
    }

    /// Unmasks from the pending step's logits (`outcome.logitRows` may be fewer rows than asked
    /// for when eviction dropped some).
    func accept(_ outcome: ForwardOutcome, accounting: DecodingResult? = nil) {
        if let accounting { result.absorb(accounting) }
        if !prefilled {
            result.prefillSeconds = monotonicSeconds() - started
            prefilled = true
        }
        guard let logits = outcome.logits else { return }
        let produced = Set(outcome.logitRows)
        let computed = pendingRows.filter { produced.contains(model.logitRow(for: $0)) }
        let proposals = sampler.propose(rows: computed, logits: logits)
        for proposal in proposals { confidence[proposal.row] = proposal.confidence }
        let rule: UnmaskingRule =
            parameters.threshold.map { .threshold($0) } ?? .topK(step < schedule.count ? schedule[step] : 1)
        let accepted = rule.select(proposals)
        for choice in accepted {
            canvas.set(choice.row, to: choice.token)
            confidence[choice.row] = nil
        }
        lastDecoded = accepted.map(\.row)
        step += 1
        result.steps += 1
    }

    /// The finished result, with the answer and timings.
    func finish() -> DecodingResult {
        var r = result
        r.answerTokens = canvas.answerTokens
        r.generatedTokens = canvas.generatedTokens
        r.decodeSeconds = monotonicSeconds() - started - r.prefillSeconds
        return r
    }

    private func advanceBlock(_ rows: Range<Int>) {
        let p = parameters
        if canvas.blockEndsAnswer(rows) {
            canvas.fill(from: rows.upperBound, with: model.configuration.eosTokenID ?? canvas.tokens[rows.last!])
            isFinished = true
            return
        }
        block += 1
        step = 0
        if block == p.blockCount {
            isFinished = true
        } else {
            schedule = transferSchedule(masked: canvas.blockRows(block, blockLength: p.blockLength).count, steps: p.stepsPerBlock)
        }
    }

    /// The rows a step inside a block recomputes (sorted).
    private func activeRows(block rows: Range<Int>, masked: [Int]) -> [Int] {
        let p = parameters
        let shift = model.configuration.shiftsLogits ? 1 : 0
        if recomputesWholeBlock {
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
