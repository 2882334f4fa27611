import ArgumentParser
import FocusDecoding
import FocusEngine
import FocusHashing
import FocusModel
import FocusQueue
import FocusWorker
import Foundation

/// `focus submit`: queue one job, or a JSONL batch of jobs.
///
/// A batch is all-or-nothing: every line is checked (JSON, fields, the document file) before
/// anything is written, and the jobs are inserted in one transaction. A relative document path
/// in a batch is resolved against the batch file's folder. Documents are read here, with the
/// submitter's permissions, and their text is stored in the database: workers never open them.
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Queue a question about a document (or a JSONL batch); print the job ids.")

    @OptionGroup var queue: QueueOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var decoding: DecodingOptions
    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: "The document: a UTF-8 text file.")
    var document: String?

    @Option(name: .long, help: "The question.")
    var question: String?

    @Option(name: .long, help: "A JSONL batch: {\"document\", \"question\", \"key\"?, \"priority\"?, \"mode\"?, \"model\"?} a line.")
    var batch: String?

    @Option(name: .long, help: "Idempotency key: submitting the same key again returns the existing job.")
    var key: String?

    @Option(name: .long, help: "Higher runs first.")
    var priority = 0

    @Option(name: .long, help: "Attempts before a failing job is dead.")
    var maxAttempts = 3

    func validate() throws {
        if batch == nil {
            guard document != nil, let question else {
                throw ValidationError("give --document FILE and --question TEXT, or --batch FILE.jsonl")
            }
            if question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw ValidationError("--question is empty")
            }
        } else if document != nil || question != nil || key != nil {
            throw ValidationError("--batch cannot be combined with --document, --question or --key")
        }
        if maxAttempts < 1 { throw ValidationError("--max-attempts must be at least 1") }
    }

    func run() throws {
        try withQueueExitCodes {
            let entries: [BatchEntry]
            if let batch {
                entries = try BatchEntry.read(batch)
            } else {
                entries = [BatchEntry(
                    line: 0, document: document!, question: question!, key: key, priority: priority,
                    mode: nil, model: nil)]
            }
            let loaded = try documentsAndSettings(entries)
            let jobQueue = try queue.open()
            let submissions = try loaded.map { item -> NewJob in
                let id = try jobQueue.registerDocument(item.document)
                return NewJob(
                    documentID: id, question: item.entry.question, modelDir: item.modelDir, settings: item.settings,
                    priority: item.entry.priority, maxAttempts: maxAttempts, idempotencyKey: item.entry.key)
            }
            for submission in try jobQueue.submit(batch: submissions) { print(submission.jobID) }
        }
    }

    /// Reads and checks every entry's document, and resolves its model and settings.
    private func documentsAndSettings(_ entries: [BatchEntry]) throws
        -> [(entry: BatchEntry, document: NewDocument, modelDir: String, settings: JobSettings)]
    {
        var models: [String: ModelConfiguration] = [:]
        return try entries.map { entry in
            let prefix = entry.line > 0 ? "\(batch!): line \(entry.line): " : ""
            let text: String
            do {
                text = try readText(entry.document, what: "document")
            } catch let error as CLIError {
                throw CLIError.badInput(prefix + error.description)
            }
            let data = Data(text.utf8)
            let modelDir = URL(fileURLWithPath: entry.model ?? model.directory.path).standardizedFileURL.path
            if models[modelDir] == nil {
                do {
                    models[modelDir] = try LoadedModel.check(directory: URL(fileURLWithPath: modelDir))
                } catch {
                    throw CLIError.badInput(prefix + "\(error)")
                }
            }
            var settings = try decoding.settings(for: models[modelDir]!, prefill: store.prefill)
            if let mode = entry.mode {
                guard let chosen = DecodingMode(rawValue: mode) else {
                    throw CLIError.badInput(prefix + "field \"mode\": unknown mode \"\(mode)\"")
                }
                settings = settings.with(mode: chosen)
            }
            let digest = SHA256.hexDigest(data)
            let path = URL(fileURLWithPath: entry.document).standardizedFileURL.path
            return (
                entry, NewDocument(sha256: digest, path: path, byteSize: data.count, text: text), modelDir,
                settings
            )
        }
    }
}

/// One job of a submission.
struct BatchEntry {
    var line: Int
    var document: String
    var question: String
    var key: String?
    var priority: Int
    var mode: String?
    var model: String?

    /// Parses a JSONL batch, naming the line and field of the first problem.
    static func read(_ path: String) throws -> [BatchEntry] {
        let text = try readText(path, what: "batch file")
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var entries: [BatchEntry] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            if raw.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] else {
                throw CLIError.badInput("\(path): line \(line): not a JSON object")
            }
            func text(_ field: String, required: Bool) throws -> String? {
                guard let value = object[field] else {
                    if required { throw CLIError.badInput("\(path): line \(line): missing field \"\(field)\"") }
                    return nil
                }
                guard let string = value as? String, !string.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw CLIError.badInput("\(path): line \(line): field \"\(field)\" must be a non-empty string")
                }
                return string
            }
            let document = try text("document", required: true)!
            let resolved = document.hasPrefix("/") ? document : folder.appendingPathComponent(document).path
            var priority = 0
            if let value = object["priority"] {
                // JSON true and false arrive as numbers too: only an integer is a priority.
                let integerTypes: Set<String> = ["i", "s", "l", "q", "I", "S", "L", "Q"]
                guard let number = value as? Int, let boxed = value as? NSNumber,
                      integerTypes.contains(String(cString: boxed.objCType)) else {
                    throw CLIError.badInput("\(path): line \(line): field \"priority\" must be an integer")
                }
                priority = number
            }
            entries.append(BatchEntry(
                line: line, document: resolved, question: try text("question", required: true)!,
                key: try text("key", required: false), priority: priority, mode: try text("mode", required: false),
                model: try text("model", required: false)))
        }
        guard !entries.isEmpty else { throw CLIError.badInput("\(path): no jobs in the batch") }
        return entries
    }
}
