import FocusDecoding
import FocusModel
import FocusStore
import Foundation

/// Where a question stands, for leases and progress bars.
public struct EngineProgress: Sendable {
    public enum Phase: String, Sendable { case prefill, decode }
    public var phase: Phase
    /// Layers prefilled, or denoising steps taken (threshold decoding may finish early).
    public var done: Int
    public var total: Int
}

/// An answer and what it cost.
public struct QAAnswer: Sendable {
    public var text: String
    public var tokens: [Int32]
    public var mode: DecodingMode
    public var decoding: DecodingResult
    public var documentTokens: Int
    public var promptTokens: Int
    /// The store's report for stored modes (`storeHit` tells whether the prefill was skipped).
    public var prefill: PrefillReport?
    /// Stored entries found corrupt, discarded and rebuilt while answering.
    public var corruptionsRepaired = 0
    public var totalSeconds: Double
    public var peakResidentBytes: Int
}

/// Answers questions about documents: tokenises with the model's chat template, serves document
/// KV from the store where the mode uses it, and decodes with the chosen decoder.
public final class QAEngine: @unchecked Sendable {
    public let loaded: LoadedModel
    public let store: DocumentStore?
    /// The stored document decoded last, kept open (pinned) with its loaded blocks so that the
    /// next question about the same document reads nothing from disk.
    private var recent: (key: String, source: StoredDocumentKV)?
    let lock = NSLock()

    public init(loaded: LoadedModel, store: DocumentStore?) {
        self.loaded = loaded
        self.store = store
    }

    /// The prompt of a question about a document, its document segment first.
    public func prompt(document: String, question: String) throws -> DecodingPrompt {
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw DecodingError.emptyQuestion }
        guard !document.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw EngineError.document("the document is empty")
        }
        let qa = loaded.template.qaPrompt(document: document, question: question)
        return DecodingPrompt(document: qa.documentIDs, question: qa.questionIDs)
    }

    /// Answers `request`.
    public func answer(_ request: QARequest) throws -> QAAnswer {
        lock.lock()
        defer { lock.unlock() }
        let started = monotonicSeconds()
        let prompt = try self.prompt(document: request.document, question: request.question)
        let settings = try request.checkedSettings()
        let mode = settings.decoding.parameters.mode
        let fromStore = mode.traits.documentFromStore
        // The prompt's one check against the model's context, before anything is prefilled.
        var input = ModeDecodingInput(
            model: loaded.model, extraStopTokens: loaded.stopTokens,
            request: try DecodingRequest(
                prompt: fromStore ? storedPrompt(prompt, options: settings.prefill) : prompt,
                parameters: settings.promptParameters, contextLimit: loaded.configuration.maxSequenceLength))
        input.reuseExactDocumentKV = request.reuseExactDocumentKV
        input.vanillaStepLimit = request.vanillaStepLimit
        input.documentPositionsRepeat = settings.prefill.chunkPositions == .local
        input.onStep = Self.stepReporter(request.heartbeat, total: settings.decoding.parameters.steps)
        var prefillReport: PrefillReport?
        var repaired = 0
        let result: DecodingResult
        if fromStore {
            let storedInput = input
            (result, prefillReport, repaired) = try withStoredSource(request, prompt: prompt) { source in
                var withSource = storedInput
                withSource.documentSource = source
                return try mode.decode(withSource)
            }
        } else {
            result = try mode.decode(input)
        }
        var decoding = result
        if let report = prefillReport, !report.storeHit { decoding.prefillSeconds += report.seconds }
        return QAAnswer(
            text: answerText(result.answerTokens), tokens: result.answerTokens, mode: mode, decoding: decoding,
            documentTokens: prompt.documentLength, promptTokens: prompt.tokens.count, prefill: prefillReport,
            corruptionsRepaired: repaired, totalSeconds: monotonicSeconds() - started,
            peakResidentBytes: ProcessMemory.peakResidentBytes)
    }

    /// The answer's text: its tokens decoded without special tokens, trimmed.
    func answerText(_ tokens: [Int32]) -> String {
        loaded.tokenizer.decode(tokens, skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func stepReporter(
        _ heartbeat: (@Sendable (EngineProgress) throws -> Void)?, total: Int
    ) -> ((Int) throws -> Void)? {
        heartbeat.map { beat in { try beat(EngineProgress(phase: .decode, done: $0, total: total)) } }
    }

    // MARK: - Stored modes

    /// Runs `body` on the stored KV of the request's document (prefilled on a miss); a corrupt
    /// entry found while reading is removed, prefilled again and `body` retried once.
    /// - Returns: what `body` returned, the store's report and the number of entries repaired.
    func withStoredSource<T>(
        _ request: QARequest, prompt: DecodingPrompt, _ body: (StoredDocumentKV) throws -> T
    ) throws -> (T, PrefillReport, Int) {
        guard let store else { throw EngineError.store("mode \(request.parameters.mode.rawValue) needs a document store") }
        var repaired = 0
        while true {
            do {
                let (source, report) = try storedSource(
                    store: store, prompt: prompt, options: request.prefill, heartbeat: request.heartbeat)
                return (try body(source), report, repaired)
            } catch let error as StoreError {
                guard error.isCorruption, repaired == 0, let key = recent?.key else { throw error }
                recent = nil
                try store.remove(try StoreKey(hex: key))
                repaired += 1
            }
        }
    }

    /// The prompt over the rows the store holds for the document (chunk anchors included), at
    /// their stored positions, with the question after them.
    func storedPrompt(_ prompt: DecodingPrompt, options: PrefillOptions) -> DecodingPrompt {
        let prefiller = DocumentPrefiller(loaded: loaded, store: nil)
        let (tokens, chunks) = prefiller.storedTokens(
            documentIDs: Array(prompt.tokens[..<prompt.documentLength]), options: options)
        let positions = prefiller.storedPositions(chunks: chunks, options: options)
        let question = prompt.tokens[prompt.documentLength...]
        return DecodingPrompt(
            tokens: tokens + question, documentLength: tokens.count,
            positions: positions.flat + (0..<question.count).map { positions.next + Int32($0) })
    }

    /// The stored KV of the prompt's document, prefilled on a miss.
    private func storedSource(
        store: DocumentStore, prompt: DecodingPrompt, options: PrefillOptions,
        heartbeat: (@Sendable (EngineProgress) throws -> Void)?
    ) throws -> (StoredDocumentKV, PrefillReport) {
        let prefiller = DocumentPrefiller(loaded: loaded, store: store)
        let documentIDs = Array(prompt.tokens[..<prompt.documentLength])
        let key = prefiller.key(documentIDs: documentIDs, options: options).hex
        if let recent, recent.key == key {
            let manifest = recent.source.document.manifest
            let report = PrefillReport(manifest: manifest, documentTokens: documentIDs.count, storeHit: true, seconds: 0)
            return (recent.source, report)
        }
        let (document, report) = try prefiller.prefill(
            documentIDs: documentIDs, checkedOptions: options,
            heartbeat: heartbeat.map { beat in { try beat(EngineProgress(phase: .prefill, done: $0, total: $1)) } })
        let source = StoredDocumentKV(document: document)
        recent?.source.document.close()
        recent = (key, source)
        return (source, report)
    }
}
