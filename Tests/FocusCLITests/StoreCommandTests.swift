import FocusQueue
import Foundation
import Testing

/// `focus prefill`, `focus answer` and `focus store`: the document store from the command line.
@Suite("Store commands")
struct StoreCommandTests {
    @Test("prefill stores a document; a queued question about it then starts from the store")
    func prefillThenQueuedJob() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let prefill = try space.run(["prefill", "--model", model, "--store", space.store, "--document", document])
        #expect(prefill.status == 0, "\(prefill)")
        let report = try jsonObject(Data(prefill.stdout.utf8))
        #expect(report["store_hit"] as? Bool == false)
        #expect(report["exact_for_questions"] as? Bool == true, "block-causal model: stored KV is exact")
        let key = try #require(report["key"] as? String)
        let tokens = try #require(report["tokens"] as? Int)
        #expect(tokens > Workspace.document.utf8.count, "byte-level tokens plus the template's tokens")

        let list = try space.run(["store", "ls", "--store", space.store])
        #expect(list.status == 0)
        #expect(list.lines.count == 2, "\(list)")
        #expect(list.lines.last?.hasPrefix("\(key)\t\(tokens)\t2\tf16\twhole\ttrue\t") == true, "\(list)")

        let id = try space.submit(document: document, question: "Where did the market move?", model: model)
        #expect(try space.drain().status == 0)
        let job = try space.show(id)
        #expect(job["state"] as? String == "done")
        #expect(job["store_hit"] as? Bool == true, "the nightly prefill serves the queued job: \(job)")

        let again = try space.run(["prefill", "--model", model, "--store", space.store, "--document", document])
        #expect(try jsonObject(Data(again.stdout.utf8))["store_hit"] as? Bool == true)

        let verify = try space.run(["store", "verify", "--store", space.store])
        #expect(verify.status == 0, "\(verify)")
        let checked = try jsonObject(Data(verify.stdout.utf8))
        #expect(checked["entries_checked"] as? Int == 1)
        #expect((checked["problems"] as? [Any])?.isEmpty == true)
    }

    /// Hand edits of a manifest as the JSON it is, each named as in a bug report.
    static let manifestEdits: [(name: String, edit: @Sendable (inout [String: Any]) -> Void)] = [
        ("two layer records swapped", { manifest in
            var layers = manifest["layerRecords"] as! [Any]
            layers.swapAt(0, 1)
            manifest["layerRecords"] = layers
        }),
        ("two block records swapped", { manifest in
            var layers = manifest["layerRecords"] as! [[String: Any]]
            var blocks = layers[0]["blocks"] as! [Any]
            blocks.swapAt(0, 1)
            layers[0]["blocks"] = blocks
            manifest["layerRecords"] = layers
        }),
        ("dataFile ../../other/layer-000.kv", { manifest in
            var layers = manifest["layerRecords"] as! [[String: Any]]
            layers[0]["dataFile"] = "../../other/layer-000.kv"
            manifest["layerRecords"] = layers
        }),
        ("sink index 999999", { $0["sinks"] = [[999_999]] }),
        ("sink index -5", { $0["sinks"] = [[-5]] }),
        ("tokenCount lowered by 6", { $0["tokenCount"] = ($0["tokenCount"] as! Int) - 6 }),
    ]

    @Test("store verify exits 65 naming each hand edit of a manifest; the next answer is unchanged",
          arguments: 0..<6)
    func verifyCatchesManifestEdits(_ index: Int) throws {
        let (name, edit) = Self.manifestEdits[index]
        let space = try Workspace()
        let model = try space.model()
        // Long enough for two blocks of 64 tokens in each layer.
        let document = try space.write("doc.txt", String(repeating: Workspace.document + " ", count: 2))
        let ask = ["answer", "--model", model, "--store", space.store, "--document", document,
                   "--question", "Where did the market move?", "--mode", "stored"]
        let before = try space.run(ask)
        try #require(before.status == 0, "\(before)")
        let list = try space.run(["store", "ls", "--store", space.store])
        let key = try #require(list.lines.last?.split(separator: "\t").first.map(String.init), "\(list)")
        let url = URL(fileURLWithPath: space.store).appendingPathComponent(key).appendingPathComponent("manifest.json")
        func tamper() throws {
            var manifest = try jsonObject(Data(contentsOf: url))
            edit(&manifest)
            try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: url)
        }

        try tamper()
        let after = try space.run(ask)
        #expect(after.status == 0 && after.stdout == before.stdout, "\(name): the edited entry is not served: \(after)")
        #expect(try jsonObject(Data(after.stderr.utf8))["store_hit"] as? Bool == false, "\(name): rebuilt: \(after)")

        try tamper()
        let verify = try space.run(["store", "verify", "--store", space.store])
        #expect(verify.status == 65, "\(name): \(verify)")
        let report = try jsonObject(Data(verify.stdout.utf8))
        #expect(report["removed"] as? [String] == [key], "\(name): \(verify)")
        #expect((report["problems"] as? [String])?.first?.contains("manifestChecksum") == true, "\(name): \(verify)")
    }

    @Test("answer prints the answer on stdout and a JSON summary on stderr")
    func answerNow() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        for mode in ["stored", "vanilla", "cached", "focus"] {
            let result = try space.run(["answer", "--model", model, "--store", space.store, "--document", document,
                                        "--question", "Where did the market move?", "--mode", mode])
            #expect(result.status == 0, "\(result)")
            #expect(result.lines.count <= 1, "at most one answer line: \(result)")
            let summary = try jsonObject(Data(result.stderr.utf8))
            #expect(summary["mode"] as? String == mode)
            #expect(summary["answer_tokens"] as? Int ?? -1 >= 0)
            #expect((summary["nfe"] as? Int ?? 0) > 0, "\(summary)")
        }
    }

    @Test("answer refuses a binary document (65) and an unknown mode (64)")
    func answerErrors() throws {
        let space = try Workspace()
        let model = try space.model()
        let binary = try space.write("doc.bin", Data([0x7F, 0x45, 0x4C, 0x46, 0x00, 0x01]))
        let bad = try space.run(["answer", "--model", model, "--document", binary, "--question", "What?"])
        #expect(bad.status == 65, "\(bad)")
        #expect(bad.stderr.contains("\(binary): document is binary"), "\(bad)")
        let document = try space.write("doc.txt", Workspace.document)
        let mode = try space.run(["answer", "--model", model, "--document", document, "--question", "What?",
                                  "--mode", "telepathy"])
        #expect(mode.status == 64, "\(mode)")
    }
}
