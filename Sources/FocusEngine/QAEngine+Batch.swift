import FocusDecoding
import FocusModel
import Foundation

extension QAEngine {
    /// Answers several questions about one document together.
    ///
    /// In a mode that answers together (`stored`) the questions share the document's stored KV and are decoded as one
    /// batch (`BatchDecoder`: each round's steps of every question run as one forward), which
    /// reads the model's weights once per round instead of once per question. The answers are
    /// exactly those `answer(_:)` gives one at a time. Other modes, and requests that differ in
    /// document or settings, are answered one at a time.
    ///
    /// Each answer's `totalSeconds` is its share of the batch: the batch's wall time divided by
    /// the number of questions. The document's prefill (on a store miss) is charged to the first
    /// answer; the others report a store hit, as they would have one after the other.
    /// The first request's heartbeat reports the batch's progress (prefill layers, then rounds).
    /// Stored KV read for the batch is counted in the answer of the question that first needed
    /// each block, and each answer's decode seconds span the whole batch: per-answer read and
    /// decode figures are shares of one computation, their sums are exact.
    public func answerTogether(_ requests: [QARequest]) throws -> [QAAnswer] {
        guard let first = requests.first else { return [] }
        let batchable = first.parameters.mode.traits.answersTogether
            && requests.allSatisfy {
                $0.document == first.document && $0.parameters == first.parameters && $0.prefill == first.prefill
            }
        guard batchable, requests.count > 1 else { return try requests.map(answer) }
        lock.lock()
        defer { lock.unlock() }
        let started = monotonicSeconds()
        let settings = try first.checkedSettings()
        let prompts = try requests.map { try prompt(document: $0.document, question: $0.question) }
        // Each prompt's one check against the model's context, before anything is prefilled.
        let decodingRequests = try prompts.map {
            try DecodingRequest(
                prompt: storedPrompt($0, options: settings.prefill), parameters: settings.promptParameters,
                contextLimit: loaded.configuration.maxSequenceLength)
        }
        let parameters = settings.decoding.parameters
        let (results, report, repaired) = try withStoredSource(first, prompt: prompts[0]) { source in
            var decoder = BatchDecoder(model: loaded.model, extraStopTokens: loaded.stopTokens, documentSource: source)
            decoder.onRound = Self.stepReporter(first.heartbeat, total: parameters.steps)
            return try decoder.decode(decodingRequests)
        }
        let share = (monotonicSeconds() - started) / Double(requests.count)
        let peak = ProcessMemory.peakResidentBytes
        return zip(prompts, results).enumerated().map { index, pair in
            let (prompt, result) = pair
            var decoding = result
            var shared = report
            if index == 0 {
                if !report.storeHit { decoding.prefillSeconds += report.seconds }
            } else {
                shared.storeHit = true
                shared.seconds = 0
            }
            return QAAnswer(
                text: answerText(result.answerTokens), tokens: result.answerTokens, mode: parameters.mode, decoding: decoding,
                documentTokens: prompt.documentLength, promptTokens: prompt.tokens.count, prefill: shared,
                corruptionsRepaired: index == 0 ? repaired : 0, totalSeconds: share, peakResidentBytes: peak)
        }
    }
}
