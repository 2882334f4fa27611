import ArgumentParser
import FocusDecoding
import FocusEngine
import Foundation

/// `focus prefill`: warms the document store ahead of questions (e.g. nightly from cron).
struct PrefillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefill", abstract: "Prefill documents into the document store and report what was stored.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "Tokens per stored block.")
    var blockSize = 64

    @Option(name: .long, parsing: .upToNextOption, help: "Document text files.")
    var document: [String]

    func validate() throws {
        if document.isEmpty { throw ValidationError("give at least one --document FILE") }
        if blockSize <= 0 { throw ValidationError("--block-size must be positive") }
    }

    func run() throws {
        try withExitCodes {
            let loaded = try model.load()
            let prefiller = DocumentPrefiller(loaded: loaded, store: try store.open())
            let engine = QAEngine(loaded: loaded, store: nil)
            for path in document {
                let text = try readText(path, what: "document")
                let prompt: DecodingPrompt
                do {
                    prompt = try engine.prompt(document: text, question: "?")
                } catch {
                    throw CLIError.badInput("\(path): \(error)")
                }
                let ids = Array(prompt.tokens[..<prompt.documentLength])
                let report: PrefillReport
                do {
                    (_, report) = try prefiller.prefill(documentIDs: ids, options: store.prefill.options(blockSize: blockSize))
                } catch {
                    throw CLIError.io("\(path): \(error)")
                }
                print(jsonLine([
                    "document": path, "key": report.key, "tokens": report.documentTokens, "rows": report.storedRows,
                    "store_hit": report.storeHit, "seconds": (report.seconds * 1000).rounded() / 1000,
                    "bytes_on_disk": report.compressedBytes, "decoded_bytes": report.decodedBytes,
                    "compression_ratio": (report.compressionRatio * 100).rounded() / 100,
                    "exact_for_questions": report.exactForQuestions,
                ]))
            }
        }
    }
}
