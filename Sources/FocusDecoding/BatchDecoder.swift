import FocusModel

/// Decodes many questions about one document together (FOCUS-style batching).
///
/// Every request keeps its own canvas, schedule and tail KV, and all of them read the same
/// document KV (a store entry, or any other source). At each round the steps of every unfinished
/// request run as one forward: their rows are stacked so that each layer's projections and MLP
/// are single matrix products (weights are read once per round instead of once per request, which
/// is what bounds a CPU decoding a large model), while attention stays per request. With
/// `DecodingParameters.eviction` set, rows unlikely to be decoded this step leave the forward
/// after the scoring layer, so the stacked batch shrinks to the rows that matter.
///
/// Each request's tokens are exactly those `BlockDecoder` gives it alone with the same source
/// (tested); the modes whose traits say they decode together are accepted.
public struct BatchDecoder: DiffusionDecoder {
    public let model: TransformerModel
    /// Tokens that end an answer besides the model's end of text (end of turn, say).
    public let extraStopTokens: [Int32]
    /// The document KV every request decodes against; its rows must be each prompt's first
    /// `documentLength` rows.
    public let documentSource: DocumentKVSource
    /// Called before every round with the number of rounds so far; throwing stops decoding.
    public var onRound: ((Int) throws -> Void)?

    /// A decoder of questions about the document whose KV `documentSource` holds.
    public init(model: TransformerModel, extraStopTokens: [Int32] = [], documentSource: DocumentKVSource) {
        self.model = model
        self.extraStopTokens = extraStopTokens
        self.documentSource = documentSource
    }

    /// Decodes an answer to every prompt; results come in the prompts' order.
    public func decode(_ prompts: [DecodingPrompt], parameters p: DecodingParameters) throws -> [DecodingResult] {
        try Self.checkBatches(p.mode)
        var valid: ValidDecodingParameters?
        var requests: [DecodingRequest] = []
        for prompt in prompts {
            let parameters = try valid ?? ValidDecodingParameters(p)
            valid = parameters
            let request = try DecodingRequest(
                prompt: prompt, parameters: parameters, contextLimit: model.configuration.maxSequenceLength)
            try checkDocument(documentSource, prompt: prompt)
            requests.append(request)
        }
        return try run(requests)
    }

    /// Decodes checked requests with equal parameters; results come in the requests' order.
    public func decode(_ requests: [DecodingRequest]) throws -> [DecodingResult] {
        if let first = requests.first {
            try Self.checkBatches(first.parameters.parameters.mode)
            precondition(requests.allSatisfy { $0.parameters == first.parameters }, "a batch shares its parameters")
        }
        for request in requests { try checkDocument(documentSource, prompt: request.prompt) }
        return try run(requests)
    }

    /// Refuses a mode whose traits do not decode together, naming those that do.
    private static func checkBatches(_ mode: DecodingMode) throws {
        guard mode.traits.decodesTogether else {
            let modes = DecodingMode.allCases.filter(\.traits.decodesTogether).map(\.rawValue)
            let list = modes.dropLast().joined(separator: ", ") + " and " + modes[modes.count - 1]
            throw DecodingError.invalidParameter(
                field: "mode", reason: "\(mode.rawValue) cannot be batched: batching serves \(list) decoding over shared document KV")
        }
    }

    /// Runs checked requests' rounds to the end.
    private func run(_ requests: [DecodingRequest]) throws -> [DecodingResult] {
        let stops = model.stopTokens(extra: extraStopTokens)
        let states = requests.map {
            DecodingState(
                model: model, prompt: $0.prompt, parameters: $0.parameters.parameters, stopTokens: stops,
                documentSource: documentSource)
        }
        var round = 0
        while true {
            var items: [ForwardItem] = []
            var owners: [DecodingState] = []
            for state in states {
                switch state.nextRequest() {
                case .partial(let plan):
                    items.append(ForwardItem(sequence: state.sequence, plan: plan, canvas: state.canvas))
                    owners.append(state)
                case .fullRefresh:
                    preconditionFailure("a request decoding against a document source never refreshes the document")
                case .finished:
                    continue
                }
            }
            if items.isEmpty { break }
            try onRound?(round)
            round += 1
            var accounting = Array(repeating: DecodingResult(), count: items.count)
            let outcomes = try SequenceKV.runTogether(items, accounting: &accounting)
            for (j, state) in owners.enumerated() {
                state.accept(outcomes[j], accounting: accounting[j])
            }
        }
        return states.map { $0.finish() }
    }

    /// Decodes one prompt (a batch of one).
    public func decode(_ prompt: DecodingPrompt, parameters: DecodingParameters) throws -> DecodingResult {
        try decode([prompt], parameters: parameters)[0]
    }
}
