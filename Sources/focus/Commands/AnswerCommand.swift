import ArgumentParser
import FocusEngine
import Foundation

/// `focus answer`: answers one question about one document directly, without the queue.
struct AnswerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer", abstract: "Answer one question about a document now, without the queue.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "The document: a UTF-8 text file.")
    var document: String

    @Option(name: .long, help: "The question.")
    var question: String

    func validate() throws {
        if question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("--question is empty")
        }
    }

    func run() throws {
        try withExitCodes {
            let text = try readText(document, what: "document")
            let loaded = try model.load()
            let settings = try decoding.settings(for: loaded.configuration, prefill: store.prefill)
            let engine = QAEngine(loaded: loaded, store: try store.open())
            var request = QARequest(document: text, question: question, settings: settings)
            let bar = TerminalProgress(label: "answer")
            request.heartbeat = { bar?.show($0) }
            let answer: QAAnswer
            do {
                answer = try engine.answer(request)
                bar?.finish()
            } catch {
                throw CLIError.engine(error)
            }
            print(answer.text)
            printError(jsonLine(answer.summary))
        }
    }
}

extension QAAnswer {
    /// The figures people look at, as a JSON-ready dictionary.
    var summary: [String: Any] {
        var out: [String: Any] = [
            "mode": mode.rawValue, "answer_tokens": tokens.count, "document_tokens": documentTokens,
            "nfe": decoding.forwardPasses, "steps": decoding.steps,
            "seconds": (totalSeconds * 1000).rounded() / 1000,
            "prefill_seconds": (decoding.prefillSeconds * 1000).rounded() / 1000,
            "decode_seconds": (decoding.decodeSeconds * 1000).rounded() / 1000,
            "attention_density": (decoding.attentionDensity * 10000).rounded() / 10000,
            "peak_rss_bytes": peakResidentBytes,
        ]
        if let prefill {
            out["store_hit"] = prefill.storeHit
            out["kv_load_bytes"] = decoding.kvBytesRead
        }
        if decoding.blocksTotal > 0 {
            out["blocks_selected"] = decoding.blocksSelected
            out["blocks_total"] = decoding.blocksTotal
        }
        return out
    }
}
