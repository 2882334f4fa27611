import FocusQueue
import Foundation
import Testing
import FocusSQLite

/// Bad documents, questions, models and databases: each refused with its exit code and a
/// message naming the problem, and nothing queued.
@Suite("Bad input")
struct BadInputTests {
    /// Submits `document` and returns the result; asserts no job was added.
    static func submitRefused(_ space: Workspace, document: String, question: String = "What is it?",
                              model: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let result = try space.run(
            ["submit"] + space.dbArguments + ["--model", model, "--document", document, "--question", question],
            sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "no id printed: \(result)", sourceLocation: sourceLocation)
        if FileManager.default.fileExists(atPath: space.db) {
            let jobs = try Database(path: space.db).fetchOne("SELECT count(*) AS n FROM jobs")?.int("n")
            #expect(jobs == 0, "nothing queued: \(result)", sourceLocation: sourceLocation)
        }
        return result
    }

    // MARK: - Documents

    @Test("missing, empty, blank, binary and non-UTF-8 documents exit 65 naming the file")
    func badDocuments() throws {
        let space = try Workspace()
        let model = try space.model()
        let cases: [(name: String, data: Data?, words: String)] = [
            ("missing.txt", nil, "document not found or unreadable"),
            ("empty.txt", Data(), "document is empty"),
            ("blank.txt", Data(" \n\t\n".utf8), "document has no text"),
            ("binary.bin", Data([0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x14, 0x00, 0x41]), "document is binary (contains NUL bytes)"),
            ("latin1.txt", Data([0x43, 0x61, 0x66, 0xE9, 0x20, 0x6E, 0x61, 0xEF, 0x76, 0x65]), "document is not valid UTF-8"),
        ]
        for item in cases {
            let path = space.path("docs/\(item.name)")
            if let data = item.data { try space.write("docs/\(item.name)", data) }
            let result = try Self.submitRefused(space, document: path, model: model)
            #expect(result.status == 65, "\(item.name): \(result)")
            #expect(result.stderr.contains("\(path): \(item.words)"), "\(item.name): \(result)")
        }
    }

    // MARK: - Questions

    @Test("an empty or blank --question is a usage error (64) naming --question")
    func emptyQuestion() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        for question in ["", "   \n"] {
            let result = try Self.submitRefused(space, document: document, question: question, model: model)
            #expect(result.status == 64, "\(result)")
            #expect(result.stderr.contains("--question is empty"), "\(result)")
        }
    }

    // MARK: - Models

    @Test("a missing model directory exits 65 naming it")
    func missingModelDirectory() throws {
        let space = try Workspace()
        let document = try space.write("doc.txt", Workspace.document)
        let nowhere = space.path("no-such-model")
        let result = try Self.submitRefused(space, document: document, model: nowhere)
        #expect(result.status == 65, "\(result)")
        #expect(result.stderr.contains(nowhere), "\(result)")
    }

    @Test("a model directory without tokenizer.json exits 65 naming tokenizer.json")
    func modelWithoutTokenizer() throws {
        let space = try Workspace()
        let model = try space.model()
        try FileManager.default.removeItem(atPath: model + "/tokenizer.json")
        let document = try space.write("doc.txt", Workspace.document)
        let result = try Self.submitRefused(space, document: document, model: model)
        #expect(result.status == 65, "\(result)")
        #expect(result.stderr.contains("tokenizer.json"), "\(result)")
    }

    @Test("a config.json with an unknown model_type exits 65 naming config.json and the type")
    func unknownModelType() throws {
        let space = try Workspace()
        let model = try space.model()
        let configURL = URL(fileURLWithPath: model + "/config.json")
        var config = try jsonObject(Data(contentsOf: configURL))
        config["model_type"] = "gpt-telepathic"
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let document = try space.write("doc.txt", Workspace.document)
        let result = try Self.submitRefused(space, document: document, model: model)
        #expect(result.status == 65, "\(result)")
        #expect(result.stderr.contains("config.json"), "\(result)")
        #expect(result.stderr.contains("gpt-telepathic"), "\(result)")
    }

    @Test("a config.json that is not JSON exits 65 naming config.json")
    func brokenConfig() throws {
        let space = try Workspace()
        let model = try space.model()
        try Data("{\"model_type\": \"llada\", ".utf8).write(to: URL(fileURLWithPath: model + "/config.json"))
        let document = try space.write("doc.txt", Workspace.document)
        let result = try Self.submitRefused(space, document: document, model: model)
        #expect(result.status == 65, "\(result)")
        #expect(result.stderr.contains("config.json"), "\(result)")
    }

    // MARK: - Database

    @Test("a database file that is not SQLite: exit 74, the file's bytes unchanged")
    func notADatabase() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        var generator = SystemRandomNumberGenerator()
        let garbage = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try space.write("queue/focus.sqlite", garbage)
        let commands: [[String]] = [
            ["submit"] + space.dbArguments + ["--model", model, "--document", document, "--question", "What?"],
            ["run", "--drain"] + space.dbArguments + ["--store", space.store],
            ["status"] + space.dbArguments,
            ["results"] + space.dbArguments,
        ]
        for arguments in commands {
            let result = try space.run(arguments)
            #expect(result.status == 74, "\(result)")
            #expect(result.stderr.contains("\(space.db): file is not a database"), "\(result)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: space.db)) == garbage, "\(arguments[0]) left the file untouched")
        }
        #expect(!FileManager.default.fileExists(atPath: space.db + "-wal"))
    }

    // MARK: - Documents that change after submission

    @Test("a document queued without its text (an older queue) edited or deleted after submission: the job fails naming the file")
    func documentChangedAfterSubmission() throws {
        let space = try Workspace()
        let model = try space.model()
        let edited = try space.write("edited.txt", Workspace.document)
        let deleted = try space.write("deleted.txt", "The mayor promised a new wall that was never finished.")
        let editedID = try space.submit(document: edited, question: "Where did the market move?", model: model)
        let deletedID = try space.submit(document: deleted, question: "What was never finished?", model: model)
        // As a database of schema version 2 or older left them: documents without their text.
        try Database(path: space.db).execute("DELETE FROM document_texts")
        try space.write("edited.txt", Workspace.document + " A later addition.")
        try FileManager.default.removeItem(atPath: deleted)
        let run = try space.drain()
        #expect(run.status == 0, "\(run)")
        let editedJob = try space.show(editedID)
        #expect(editedJob["state"] as? String == "failed")
        #expect((editedJob["error"] as? String)?.contains("\(edited): document changed since it was submitted") == true, "\(editedJob)")
        let deletedJob = try space.show(deletedID)
        #expect(deletedJob["state"] as? String == "failed")
        #expect((deletedJob["error"] as? String)?.contains("\(deleted): document no longer readable") == true, "\(deletedJob)")
    }

    // MARK: - Too long for the model

    @Test("a document longer than max_sequence_length: the job fails with a reason naming the limit")
    func documentTooLong() throws {
        let space = try Workspace()
        let model = try space.model(maxSequenceLength: 256)
        let long = String(repeating: "The clerks carried the ledgers upstairs. ", count: 20)
        let document = try space.write("long.txt", long)
        let id = try space.submit(document: document, question: "Who carried the ledgers?", model: model)
        let run = try space.drain()
        #expect(run.status == 0, "run --drain finishes its queue even when a job fails: \(run)")
        #expect(run.stderr.contains("1 failed"), "the failure is summarised on stderr: \(run)")
        let shown = try space.show(id)
        #expect(shown["state"] as? String == "failed", "\(shown)")
        #expect(shown["attempt"] as? Int == 1, "bad input is not retried: \(shown)")
        let error = try #require(shown["error"] as? String, "\(shown)")
        #expect(error.contains("256"), "the reason names the limit: \(error)")
        #expect(shown["answer"] == nil)
        #expect(try space.status()["failed"] == 1)
    }
}
