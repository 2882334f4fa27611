import FocusQueue
import Foundation
import Testing
import FocusSQLite

/// What focus writes for people and other programs cannot be turned against them: results show
/// control characters escaped and CSV cells that would run as formulas neutralised; folders are
/// never more open than 0755 (0700 beside a private database), whatever the umask.
@Suite("Output safety")
struct OutputSafetyTests {
    /// Permission bits of `path`.
    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int, "\(path) has permissions")
    }

    @Test("results table and csv escape control characters; csv neutralises formulas")
    func resultsAreEscaped() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let questions = ["\u{1B}[2J\u{1B}]0;owned\u{07}Where?\nReally?", "=HYPERLINK(\"http://x\")", "+1+2", "@SUM(A1)", "-3-4"]
        let lines = try questions.map { question in
            String(decoding: try JSONSerialization.data(withJSONObject: ["document": document, "question": question]), as: UTF8.self)
        }
        let batch = try space.write("batch.jsonl", lines.joined(separator: "\n") + "\n")
        #expect(try space.run(["submit"] + space.dbArguments + ["--model", model, "--batch", batch]).status == 0)
        #expect(try space.drain().status == 0)
        try Database(path: space.db).execute("UPDATE results SET answer = answer || char(27) || '[31mred' || char(13)")

        let table = try space.run(["results"] + space.dbArguments)
        #expect(table.status == 0, "\(table)")
        let csv = try space.run(["results"] + space.dbArguments + ["--format", "csv"])
        #expect(csv.status == 0, "\(csv)")
        for output in [table.stdout, csv.stdout] {
            let controls = output.unicodeScalars.filter { $0.properties.generalCategory == .control && $0 != "\n" }
            #expect(controls.isEmpty, "no raw control character: \(controls.map(\.value))")
            #expect(output.split(separator: "\n").count == questions.count + 1, "one line per job: \(output)")
        }
        #expect(table.stdout.contains("\\u{1B}[2J"), "\(table.stdout)")
        #expect(csv.stdout.contains("\\u{1B}[2J\\u{1B}]0;owned\\u{7}Where?\\nReally?"), "\(csv.stdout)")
        #expect(csv.stdout.contains("\\u{1B}[31mred\\r"), "\(csv.stdout)")
        for formula in ["'=HYPERLINK(\"\"http://x\"\")", "'+1+2", "'@SUM(A1)", "'-3-4"] {
            #expect(csv.stdout.contains("\"\(formula)\""), "\(formula) in \(csv.stdout)")
        }
        let json = try space.run(["results"] + space.dbArguments + ["--format", "json"])
        #expect(json.stdout.contains("\\u001b[2J"), "JSON keeps its own escapes: \(json.stdout)")
    }

    @Test("under umask 000 the store's folders are 0755 and its files 0644; the database folder 0755")
    func foldersUnderOpenUmask() throws {
        let space = try Workspace(createSchema: false)
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let database = space.path("new/dir/q.sqlite")
        let submit = try space.run(
            ["submit", "--db", database, "--model", model, "--document", document, "--question", "Where?"],
            shellSetup: "umask 000")
        #expect(submit.status == 0, "\(submit)")
        let drain = try space.run(["run", "--drain", "--db", database, "--store", space.store], shellSetup: "umask 000")
        #expect(drain.status == 0, "\(drain)")

        #expect(try Self.mode(space.path("new")) == 0o755)
        #expect(try Self.mode(space.path("new/dir")) == 0o755)
        let entries = try FileManager.default.contentsOfDirectory(atPath: space.store).filter { $0.count == 64 }
        try #require(entries.count == 1)
        for folder in [space.store, space.store + "/locks", space.store + "/" + entries[0]] {
            #expect(try Self.mode(folder) == 0o755, "\(folder)")
        }
        #expect(try Self.mode(space.store + "/" + entries[0] + "/manifest.json") == 0o644)
    }

    @Test("beside a private database folder the store's folders are 0700 and its files 0600")
    func privateDatabaseMakesAPrivateStore() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        _ = try space.submit(document: document, question: "Where did the market move?", model: model)
        let queueFolder = URL(fileURLWithPath: space.db).deletingLastPathComponent().path
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: queueFolder)
        let drain = try space.run(["run", "--drain"] + space.dbArguments + ["--store", space.store], shellSetup: "umask 000")
        #expect(drain.status == 0, "\(drain)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: space.store).filter { $0.count == 64 }
        try #require(entries.count == 1)
        for folder in [space.store, space.store + "/locks", space.store + "/" + entries[0]] {
            #expect(try Self.mode(folder) == 0o700, "\(folder)")
        }
        #expect(try Self.mode(space.store + "/" + entries[0] + "/layer-000.kv") == 0o600)
    }
}
