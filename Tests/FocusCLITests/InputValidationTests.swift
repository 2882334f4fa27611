import FocusQueue
import Foundation
import Testing
import FocusSQLite

/// Bad flags are refused before anything is touched, with the exit code of their kind and a
/// message naming the flag; the database and the store stay as they were.
@Suite("Input validation")
struct InputValidationTests {
    /// Everything a command could change: the rows of every table, and the store's files.
    static func snapshot(_ space: Workspace) throws -> String {
        let database = try Database(path: space.db)
        var text = ""
        for table in ["documents", "document_texts", "jobs", "results", "job_metrics", "workers", "worker_documents"] {
            for row in try database.fetchAll("SELECT * FROM \(table) ORDER BY rowid") {
                text += table + ": " + row.values.map { "\($0)" }.joined(separator: "|") + "\n"
            }
        }
        let store = FileManager.default.enumerator(atPath: space.store)?.allObjects as? [String] ?? []
        return text + "store: " + store.sorted().joined(separator: ",")
    }

    /// A workspace with one queued job; returns it with the model and document paths.
    static func prepared(_ label: String = #function) throws -> (Workspace, model: String, document: String) {
        let space = try Workspace(label)
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        _ = try space.submit(document: document, question: "Where did the market move?", model: model)
        return (space, model, document)
    }

    /// Commands with a bad floating-point flag, and the flag their message must name.
    static let badNumbers: [(arguments: [String], flag: String)] = [
        (["submit", "--temperature", "inf"], "--temperature"),
        (["submit", "--temperature", "nan"], "--temperature"),
        (["submit", "--threshold", "nan"], "--threshold"),
        (["submit", "--evict", "inf"], "--evict"),
        (["answer", "--threshold", "nan"], "--threshold"),
        (["answer", "--temperature=-inf"], "--temperature"),
        (["eval", "--set", "set.jsonl", "--evict", "nan"], "--evict"),
        (["run", "--drain", "--lease-seconds", "inf"], "--lease-seconds"),
        (["run", "--drain", "--lease-seconds", "nan"], "--lease-seconds"),
        (["run", "--drain", "--max-time", "nan"], "--max-time"),
        (["run", "--max-time", "inf"], "--max-time"),
        (["daemon", "--lease-seconds", "inf"], "--lease-seconds"),
        (["run", "--drain", "--affinity-wait=-1"], "--affinity-wait"),
        (["daemon", "--affinity-wait", "nan"], "--affinity-wait"),
    ]

    @Test("NaN, infinite and out-of-range numbers exit 64 naming the flag, in every command, touching nothing",
          arguments: badNumbers.indices)
    func nonFiniteNumbers(_ index: Int) throws {
        let (arguments, flag) = Self.badNumbers[index]
        let (space, model, document) = try Self.prepared("number\(index)")
        let before = try Self.snapshot(space)
        var full = arguments + ["--store", space.store]
        switch arguments[0] {
        case "submit": full += space.dbArguments + ["--model", model, "--document", document, "--question", "Why?"]
        case "answer": full += ["--model", model, "--document", document, "--question", "Why?"]
        case "eval": full += ["--model", model]
        default: full += space.dbArguments
        }
        let result = try space.run(full, timeout: 10)
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains(flag) && result.stderr.contains("finite"), "\(result)")
        #expect(try Self.snapshot(space) == before, "nothing changed: \(result)")
    }

    /// Decoding flags that `answer` refuses, and what the message says.
    static let badDecoding: [(arguments: [String], words: String)] = [
        (["--gen-length", "0"], "--gen-length: must be positive"),
        (["--steps", "0"], "--steps: 0 is not a positive multiple"),
        (["--threshold", "5"], "--threshold must be a finite number at least 0 and at most 1, got 5"),
        (["--block-length", "0"], "--block-length: must be positive"),
        (["--block-size", "0"], "--block-size: must be positive"),
        (["--evict", "0"], "--evict must be a finite number at least 1"),
    ]

    @Test("submit refuses bad decoding flags exactly like answer: exit 64 naming the flag",
          arguments: badDecoding.indices)
    func decodingFlags(_ index: Int) throws {
        let (flags, words) = Self.badDecoding[index]
        let (space, model, document) = try Self.prepared("decoding\(index)")
        let before = try Self.snapshot(space)
        let submit = try space.run(
            ["submit"] + space.dbArguments + ["--model", model, "--document", document, "--question", "Why?"] + flags)
        let answer = try space.run(
            ["answer", "--model", model, "--store", space.store, "--document", document, "--question", "Why?"] + flags)
        for result in [submit, answer] {
            #expect(result.status == 64, "\(result)")
            #expect(result.stderr.contains(words), "\(result)")
        }
        #expect(try Self.snapshot(space) == before)
    }

    @Test("answer exits 74 (I/O error) naming the write when the store cannot be written")
    func storeWriteFailureIsIOError() throws {
        let (space, model, document) = try Self.prepared()
        // Files may not grow past 512 bytes, and the signal that would kill the writer is ignored:
        // writes fail as on a full disk.
        let result = try space.run(
            ["answer", "--model", model, "--store", space.store, "--document", document, "--question", "Why?",
             "--mode", "stored"],
            shellSetup: "ulimit -f 1; trap '' XFSZ")
        #expect(result.status == 74, "\(result)")
        #expect(result.stderr.contains("write failed on"), "\(result)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: space.store).filter { $0.count == 64 }
        #expect(entries.isEmpty, "no entry was published")
    }

    @Test("a question too long for the model is named as the question, not the document")
    func questionTooLong() throws {
        let space = try Workspace()
        let model = try space.model(maxSequenceLength: 256)
        let document = try space.write("doc.txt", "A short note.")
        let question = String(repeating: "Why was the bridge closed for forty days? ", count: 24_000)
        try #require(question.utf8.count > 1_000_000)
        let line = try JSONSerialization.data(withJSONObject: ["document": document, "question": question])
        let batch = try space.write("batch.jsonl", line + Data("\n".utf8))
        let submit = try space.run(["submit"] + space.dbArguments + ["--model", model, "--batch", batch], timeout: 60)
        let id = try #require(submit.lines.first.flatMap { Int64($0) }, "\(submit)")
        #expect(try space.drain().status == 0)
        let job = try space.show(id)
        #expect(job["state"] as? String == "failed", "\(job)")
        let error = job["error"] as? String ?? ""
        #expect(error.contains("shorten the question") && !error.contains("shorten the document"), "\(error)")

        let answer = try space.run(["answer", "--model", model, "--store", space.store, "--document", document,
                                    "--question", String(question.prefix(100_000))])
        #expect(answer.status == 65, "\(answer)")
        #expect(answer.stderr.contains("shorten the question"), "\(answer)")
    }
}
