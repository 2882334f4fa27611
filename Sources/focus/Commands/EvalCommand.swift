import ArgumentParser
import FocusDecoding
import FocusEngine
import Foundation

/// `focus eval`: exact-match accuracy and throughput of a decoding mode on an evaluation set.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract:
            "Evaluate a decoding mode on a JSONL set: a line per example, then one JSON summary line.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var store: StoreOptions

    @Option(
        name: .long,
        help: "Evaluation set: JSONL of {id, doc_id, document, question, answers, kind}; a document's text on the first line of its doc_id.")
    var set: String

    @Option(name: .long, help: "Evaluate only the first N examples.")
    var limit: Int?

    @Flag(
        name: .long,
        help:
            "Vanilla on block-causal models: compute the document KV once (identical results, faster).")
    var exactDocumentReuse = false

    @Option(
        name: .long,
        help:
            "Vanilla only: run this many steps per question and extrapolate the time to all steps (accuracy is then not measured)."
    )
    var extrapolateSteps: Int?

    @Option(
        name: .long,
        help:
            "Stored mode: decode up to N consecutive questions about the same document together (FOCUS batching)."
    )
    var batch = 1

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if batch <= 0 { throw ValidationError("--batch must be positive") }
        if let extrapolateSteps, extrapolateSteps <= 0 {
            throw ValidationError("--extrapolate-steps must be positive")
        }
    }

    func run() throws {
        try withExitCodes {
            var examples = try EvaluationSet.read(set)
            if let limit { examples = Array(examples.prefix(limit)) }
            let loaded = try model.load()
            let settings = try decoding.settings(for: loaded.configuration, prefill: store.prefill)
            let parameters = settings.decoding
            let engine = QAEngine(loaded: loaded, store: try store.open())
            var tally = EvaluationTally()
            for group in EvaluationSet.groups(examples, size: batch) {
                let requests = group.map { example in
                    var request = QARequest(
                        document: example.document, question: example.question, settings: settings)
                    request.reuseExactDocumentKV = exactDocumentReuse
                    if parameters.mode == .vanilla { request.vanillaStepLimit = extrapolateSteps }
                    return request
                }
                let answers: [QAAnswer]
                do {
                    answers =
                        group.count == 1
                        ? [try engine.answer(requests[0])] : try engine.answerTogether(requests)
                } catch {
                    throw CLIError.engine(
                        error, prefix: "\(set): example \(group.map(\.id).joined(separator: ", ")): ")
                }
                for (example, answer) in zip(group, answers) {
                    record(example, answer, parameters: parameters, into: &tally)
                }
            }
            var summary = tally.summary
            summary["mode"] = parameters.mode.rawValue
            summary["batch"] = batch
            if extrapolateSteps != nil && parameters.mode == .vanilla {
                summary["extrapolated"] = true
                summary["accuracy"] = NSNull()
                summary["by_kind"] = NSNull()
            }
            summary["set"] = set
            summary["model"] = loaded.directory.lastPathComponent
            print(jsonLine(summary))
        }
    }

    /// Scores one answer, prints its line and adds it to the tally.
    private func record(
        _ example: EvaluationExample, _ answer: QAAnswer, parameters: DecodingParameters,
        into tally: inout EvaluationTally
    ) {
        var answer = answer
        if extrapolateSteps != nil, parameters.mode == .vanilla, answer.decoding.steps > 0 {
            let perStep = answer.decoding.decodeSeconds / Double(answer.decoding.steps)
            answer.totalSeconds = answer.decoding.prefillSeconds + perStep * Double(parameters.steps)
            answer.decoding.forwardPasses = parameters.steps
        }
        let correct = example.answers.contains { normalizedAnswer($0) == normalizedAnswer(answer.text) }
        tally.add(answer, correct: correct, kind: example.kind)
        print(
            "\(example.id)\t\(correct ? 1 : 0)\t\(answer.text)\t\(example.answers.joined(separator: " | "))\t\(String(format: "%.3f", answer.totalSeconds))s"
        )
        fflush(stdout)
    }
}

/// Exact match ignores case, surrounding whitespace and a trailing full stop.
func normalizedAnswer(_ text: String) -> String {
    var out = text.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
    while out.hasSuffix(".") { out.removeLast() }
    return out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
}
