import FocusQueue
import Foundation
import Testing
import FocusSQLite

/// `focus submit --batch`: JSONL batches are all-or-nothing, and a bad line is named by file
/// and line number.
@Suite("Batch submission")
struct BatchSubmitTests {
    /// A workspace with a model, two documents and one job already queued (so "nothing added"
    /// is checked against a non-empty queue).
    static func prepared(_ label: String = #function) throws -> (Workspace, model: String) {
        let space = try Workspace(label)
        let model = try space.model()
        try space.write("batch/docs/river.txt", Workspace.document)
        try space.write("batch/docs/mill.txt", "The old miller repaired the wheel every autumn before the rains.")
        _ = try space.submit(document: space.path("batch/docs/river.txt"), question: "What was closed?", model: model)
        return (space, model)
    }

    /// Job rows in the database.
    static func jobCount(_ space: Workspace) throws -> Int {
        try Database(path: space.db).fetchOne("SELECT count(*) AS n FROM jobs")?.int("n") ?? -1
    }

    static func submitBatch(_ space: Workspace, model: String, lines: [String]) throws -> (CommandResult, String) {
        let path = try space.write("batch/jobs.jsonl", lines.joined(separator: "\n") + "\n")
        let result = try space.run(["submit"] + space.dbArguments + ["--model", model, "--batch", path])
        return (result, path)
    }

    @Test("a good batch of 3 prints 3 ids; relative documents resolve against the batch's folder")
    func goodBatch() throws {
        let (space, model) = try Self.prepared()
        let (result, _) = try Self.submitBatch(space, model: model, lines: [
            #"{"document": "docs/river.txt", "question": "Where did the market move?"}"#,
            #"{"document": "docs/river.txt", "question": "How long was the bridge closed?", "priority": 5, "key": "b-2"}"#,
            #"{"document": "docs/mill.txt", "question": "What did the miller repair?", "mode": "vanilla"}"#,
        ])
        #expect(result.status == 0, "\(result)")
        let ids = result.lines.compactMap { Int64($0) }
        #expect(ids.count == 3, "\(result)")
        #expect(Set(ids).count == 3)
        #expect(try Self.jobCount(space) == 4)

        let database = try Database(path: space.db)
        let rows = try database.fetchAll(
            "SELECT j.id, j.priority, j.mode, j.idempotency_key, d.path FROM jobs j JOIN documents d ON d.id = j.document_id ORDER BY j.id")
        #expect(rows.map { $0.int("priority") } == [0, 0, 5, 0])
        #expect(rows.map { $0.string("mode") } == ["stored", "stored", "stored", "vanilla"])
        #expect(rows[2].string("idempotency_key") == "b-2")
        #expect(rows[3].string("path") == space.root.appendingPathComponent("batch/docs/mill.txt").standardizedFileURL.path)
        #expect(try database.fetchOne("SELECT count(*) AS n FROM documents")?.int("n") == 2)

        let run = try space.drain()
        #expect(run.status == 0, "\(run)")
        #expect(try space.status()["done"] == 4)
    }

    /// Bad batches: each exits 65, names the batch file and the line, and adds no job.
    static let badBatches: [(name: String, lines: [String], line: Int, words: String)] = [
        ("malformed JSON", [
            #"{"document": "docs/river.txt", "question": "Where did the market move?"}"#,
            #"{"document": "docs/river.txt", "question": "#,
            #"{"document": "docs/mill.txt", "question": "What did the miller repair?"}"#,
        ], 2, "not a JSON object"),
        ("missing question field", [
            #"{"document": "docs/river.txt", "question": "Where did the market move?"}"#,
            #"{"document": "docs/mill.txt"}"#,
        ], 2, "missing field \"question\""),
        ("missing document field", [
            #"{"question": "Where did the market move?"}"#,
        ], 1, "missing field \"document\""),
        ("empty question", [
            #"{"document": "docs/river.txt", "question": "Where did the market move?"}"#,
            #"{"document": "docs/river.txt", "question": "What was closed?"}"#,
            #"{"document": "docs/mill.txt", "question": "   "}"#,
        ], 3, "field \"question\" must be a non-empty string"),
        ("missing document file", [
            #"{"document": "docs/river.txt", "question": "Where did the market move?"}"#,
            #"{"document": "docs/nowhere.txt", "question": "Where is it?"}"#,
        ], 2, "nowhere.txt: document not found"),
        ("priority not an integer", [
            #"{"document": "docs/river.txt", "question": "Where did the market move?", "priority": "high"}"#,
        ], 1, "field \"priority\" must be an integer"),
        ("priority true", [
            #"{"document": "docs/river.txt", "question": "Where did the market move?"}"#,
            #"{"document": "docs/river.txt", "question": "Why?", "priority": true}"#,
        ], 2, "field \"priority\" must be an integer"),
        ("priority 1.5", [
            #"{"document": "docs/river.txt", "question": "Why?", "priority": 1.5}"#,
        ], 1, "field \"priority\" must be an integer"),
        ("unknown mode", [
            #"{"document": "docs/river.txt", "question": "Where did the market move?"}"#,
            #"{"document": "docs/river.txt", "question": "Why?", "mode": "telepathy"}"#,
        ], 2, "unknown mode \"telepathy\""),
        ("a JSON array, not an object", [
            #"["docs/river.txt", "Where did the market move?"]"#,
        ], 1, "not a JSON object"),
    ]

    @Test("a bad batch exits 65 naming file and line, and adds nothing", arguments: badBatches.indices)
    func badBatch(_ index: Int) throws {
        let bad = Self.badBatches[index]
        let (space, model) = try Self.prepared("bad\(index)")
        let before = try Self.jobCount(space)
        let (result, path) = try Self.submitBatch(space, model: model, lines: bad.lines)
        #expect(result.status == 65, "\(bad.name): \(result)")
        #expect(result.stdout.isEmpty, "\(bad.name): no ids printed: \(result)")
        #expect(result.stderr.contains("\(path): line \(bad.line):"), "\(bad.name): \(result)")
        #expect(result.stderr.contains(bad.words), "\(bad.name): \(result)")
        #expect(try Self.jobCount(space) == before, "\(bad.name): nothing added")
    }

    @Test("an empty batch file and a batch of blank lines exit 65")
    func emptyBatch() throws {
        let (space, model) = try Self.prepared()
        let before = try Self.jobCount(space)
        let empty = try space.write("batch/empty.jsonl", "")
        let emptyResult = try space.run(["submit"] + space.dbArguments + ["--model", model, "--batch", empty])
        #expect(emptyResult.status == 65, "\(emptyResult)")
        #expect(emptyResult.stderr.contains("\(empty): batch file is empty"), "\(emptyResult)")
        let blank = try space.write("batch/blank.jsonl", "\n   \n\n")
        let blankResult = try space.run(["submit"] + space.dbArguments + ["--model", model, "--batch", blank])
        #expect(blankResult.status == 65, "\(blankResult)")
        #expect(blankResult.stderr.contains(blank), "\(blankResult)")
        #expect(try Self.jobCount(space) == before)
    }

    @Test("a batch repeating an idempotency key queues one job for both lines")
    func repeatedKeyInBatch() throws {
        let (space, model) = try Self.prepared()
        let (result, _) = try Self.submitBatch(space, model: model, lines: [
            #"{"document": "docs/river.txt", "question": "Where did the market move?", "key": "same"}"#,
            #"{"document": "docs/river.txt", "question": "Where did the market move?", "key": "same"}"#,
        ])
        #expect(result.status == 0, "\(result)")
        #expect(result.lines.count == 2)
        #expect(Set(result.lines).count == 1, "\(result)")
        #expect(try Self.jobCount(space) == 2)
    }
}
