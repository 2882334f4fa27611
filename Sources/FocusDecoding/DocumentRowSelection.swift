import FocusModel

/// Chooses the document rows a question needs (Focus's sinks and kept blocks) without decoding:
/// the question and a masked answer canvas run through the dense layers against `document`,
/// and the last dense layer's attention picks the rows. Used by `stored-refresh`, which then
/// recomputes only those rows together with the question.
public func selectDocumentRows(
    model: TransformerModel, request: DecodingRequest, document: DocumentKVSource
) throws -> (rows: [Range<Int>], result: DecodingResult) {
    let prompt = request.prompt
    let p = request.parameters.parameters
    let canvas = Canvas(
        prompt: prompt, generationLength: p.generationLength, maskID: model.configuration.maskTokenID,
        stopIDs: [])
    let d = prompt.documentLength
    let sequence = SequenceKV(model: model, document: document, documentLength: d)
    var result = DecodingResult()
    // Selection happens after the dense layers; a model with no layer after them selects at
    // its second-to-last layer rather than keeping the whole document.
    var focus = p.focus
    if focus.denseLayers >= model.configuration.layerCount, model.configuration.layerCount > 1 {
        focus.denseLayers = model.configuration.layerCount - 1
    }
    let layers = max(1, min(focus.denseLayers + 1, model.configuration.layerCount))
    let plan = ForwardPlan(
        queryRows: Array(d..<canvas.count), logitRows: [], sparse: focus, layerLimit: layers)
    let outcome = try sequence.run(plan, canvas: canvas, result: &result)
    return (outcome.selection ?? [0..<d], result)
}

extension DecodingPrompt {
    /// The prompt reduced to the given document rows and the question. The rows keep their
    /// positions, or with `renumber` (rows whose positions repeat, as in chunk-local prefill)
    /// take consecutive positions with the question right after them.
    public func keeping(documentRows ranges: [Range<Int>], renumber: Bool = false) -> DecodingPrompt {
        let rows = ranges.flatMap { Array($0) }
        let question = documentLength..<tokens.count
        let kept = renumber
            ? (0..<(rows.count + question.count)).map(Int32.init)
            : rows.map { positions[$0] } + positions[question]
        return DecodingPrompt(
            tokens: rows.map { tokens[$0] } + tokens[question], documentLength: rows.count, positions: kept)
    }
}
