import FocusQueue
import Foundation
import Testing
import FocusSQLite

/// Documents are read once by `focus submit` and stored in the database; workers answer from the
/// stored text and never open the submitted path.
@Suite("Stored document texts")
struct StoredDocumentTextTests {
    @Test("a job is answered from the text stored at submission after its file is removed")
    func fileRemovedAfterSubmit() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let first = try space.submit(document: document, question: "Where did the market move?", model: model)
        let copy = try space.write("copy.txt", Workspace.document)
        _ = try space.submit(document: copy, question: "How long was the bridge closed?", model: model)
        try FileManager.default.removeItem(atPath: document)
        try FileManager.default.removeItem(atPath: copy)

        let run = try space.drain()
        #expect(run.status == 0, "\(run)")
        #expect(try space.status()["done"] == 2)
        #expect(try space.show(first)["error"] == nil)
        let database = try Database(path: space.db)
        #expect(try database.fetchOne("SELECT count(*) AS n FROM document_texts")?.int("n") == 1,
                "one stored text for two files with the same content")
        #expect(try database.fetchOne("SELECT text FROM document_texts")?.string("text") == Workspace.document)
    }

    @Test("a batch line may name a file outside the batch's folder; the worker never reads it again")
    func batchPathOutsideItsFolder() throws {
        let space = try Workspace()
        let model = try space.model()
        let outside = try space.write("elsewhere/notes.txt", Workspace.document)
        let batch = try space.write(
            "batches/today/jobs.jsonl", #"{"document": "../../elsewhere/notes.txt", "question": "What was closed?"}"# + "\n")
        let submit = try space.run(["submit"] + space.dbArguments + ["--model", model, "--batch", batch])
        #expect(submit.status == 0, "\(submit)")
        let id = try #require(submit.lines.first.flatMap { Int64($0) }, "\(submit)")
        #expect(try space.show(id)["document"] as? String == outside, "the path is resolved and kept for display")
        // A file changed after submission would fail its SHA-256 if the worker opened it.
        try space.write("elsewhere/notes.txt", "Something else entirely.")

        let run = try space.drain()
        #expect(run.status == 0, "\(run)")
        let job = try space.show(id)
        #expect(job["state"] as? String == "done", "\(job)")
        #expect(job["error"] == nil, "\(job)")
    }
}
