import Foundation
import Testing

/// `focus results --expected KEY` (what `make run` prints) and `focus eval` reading an evaluation
/// set that states each document once and tags each question with its kind.
@Suite("Scoring answers")
struct ScoringTests {
    @Test("results --expected puts each keyed answer beside its expected one and counts the matches")
    func answerKeyScoresKeyedJobs() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        for (index, question) in ["Where did the market move?", "What rose every spring?"].enumerated() {
            _ = try space.submit(
                document: document, question: question, model: model, extra: ["--key", "k\(index + 1)"])
        }
        _ = try space.submit(document: document, question: "Unkeyed question?", model: model)
        #expect(try space.drain().status == 0)
        let shown = try space.show(1)
        let first = try #require(shown["answer"] as? String)
        let key = """
            {"k1": {"question": "q", "answers": ["\(first.trimmingCharacters(in: .whitespaces)).", "other"]},
             "k2": {"question": "q", "answers": ["an answer the tiny model never gives"]},
             "k3": {"question": "q", "answers": ["never submitted"]}}
            """
        let keyPath = try space.write("answers.json", key)
        let result = try space.run(["results"] + space.dbArguments + ["--expected", keyPath])
        #expect(result.status == 0, "\(result)")
        let lines = result.lines
        #expect(lines.count == 5, "\(result)")
        #expect(lines.first?.hasPrefix("key") == true)
        #expect(lines[1].hasPrefix("k1") && lines[1].hasSuffix(" ok"), "\(result)")
        #expect(lines[2].hasPrefix("k2") && lines[2].hasSuffix(" wrong"), "\(result)")
        #expect(lines[3].hasPrefix("k3") && lines[3].contains(" - ") && lines[3].hasSuffix(" wrong"), "\(result)")
        #expect(lines.last == "score: 1/3 correct", "\(result)")
    }

    @Test("a malformed answer key names the file and key; --expected refuses other formats")
    func badAnswerKey() throws {
        let space = try Workspace()
        let keyPath = try space.write("answers.json", #"{"k1": {"answers": []}}"#)
        let bad = try space.run(["results"] + space.dbArguments + ["--expected", keyPath])
        #expect(bad.status == 65, "\(bad)")
        #expect(bad.stderr.contains("answers.json: key \"k1\""), "\(bad)")
        let csv = try space.run(["results"] + space.dbArguments + ["--expected", keyPath, "--format", "csv"])
        #expect(csv.status == 64, "\(csv)")
    }

    @Test("eval reads a document stated once per doc_id and reports accuracy by kind")
    func evaluationSetByKind() throws {
        let space = try Workspace()
        let model = try space.model()
        let rows = [
            #"{"id": "a", "doc_id": "d1", "document": "\#(Workspace.document)", "question": "Where did the market move?", "answers": ["x"], "kind": "single-hop"}"#,
            #"{"id": "b", "doc_id": "d1", "question": "What rose every spring?", "answers": ["y"], "kind": "two-hop"}"#,
            #"{"id": "c", "doc_id": "d1", "question": "Where were the ledgers carried?", "answers": ["z"], "kind": "single-hop"}"#,
        ]
        let set = try space.write("set.jsonl", rows.joined(separator: "\n") + "\n")
        let result = try space.run(
            ["eval", "--model", model, "--set", set, "--mode", "cached", "--store", space.store], timeout: 120)
        #expect(result.status == 0, "\(result)")
        let summaryLine = try #require(result.lines.last)
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any])
        #expect(summary["examples"] as? Int == 3)
        let byKind = try #require(summary["by_kind"] as? [String: [String: Any]])
        #expect(byKind["single-hop"]?["examples"] as? Int == 2)
        #expect(byKind["two-hop"]?["examples"] as? Int == 1)

        let orphan = try space.write(
            "orphan.jsonl", #"{"id": "b", "doc_id": "d9", "question": "q?", "answers": ["y"]}"# + "\n")
        let refused = try space.run(["eval", "--model", model, "--set", orphan])
        #expect(refused.status == 65, "\(refused)")
        #expect(refused.stderr.contains("orphan.jsonl: line 1"), "\(refused)")
    }
}
