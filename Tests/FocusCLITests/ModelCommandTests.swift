import Foundation
import Testing

/// `focus tokenize` and `focus logits` on the tiny model.
@Suite("Model commands")
struct ModelCommandTests {
    /// The JSON value printed on stdout.
    static func json(_ result: CommandResult) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    @Test("tokenize prints one id per UTF-8 byte with the byte-level tokenizer, specials as one id")
    func tokenize() throws {
        let space = try Workspace()
        let model = try space.model()
        let text = "Café by the bridge"
        let byFile = try space.run(["tokenize", "--tokenizer", model + "/tokenizer.json"], stdin: Data(text.utf8))
        #expect(byFile.status == 0, "\(byFile)")
        let ids = try #require(try Self.json(byFile) as? [Int], "\(byFile)")
        #expect(ids == Array(text.utf8).map(Int.init), "no merges: ids are the bytes")

        let byModel = try space.run(["tokenize", "--model", model], stdin: Data(text.utf8))
        #expect(byModel.status == 0)
        #expect(try Self.json(byModel) as? [Int] == ids)

        let special = try space.run(["tokenize", "--model", model], stdin: Data("hi<|eot_id|>".utf8))
        #expect(try Self.json(special) as? [Int] == [104, 105, 297])
    }

    @Test("tokenize refuses non-UTF-8 input (65), a missing tokenizer (65) and both or neither source (64)")
    func tokenizeErrors() throws {
        let space = try Workspace()
        let model = try space.model()
        let latin1 = try space.run(["tokenize", "--model", model], stdin: Data([0x43, 0x61, 0x66, 0xE9]))
        #expect(latin1.status == 65, "\(latin1)")
        #expect(latin1.stderr.contains("not valid UTF-8"))
        let missing = space.path("nowhere/tokenizer.json")
        let noFile = try space.run(["tokenize", "--tokenizer", missing], stdin: Data("hi".utf8))
        #expect(noFile.status == 65, "\(noFile)")
        #expect(noFile.stderr.contains(missing), "\(noFile)")
        let both = try space.run(["tokenize", "--model", model, "--tokenizer", missing], stdin: Data())
        #expect(both.status == 64, "\(both)")
        let neither = try space.run(["tokenize"], stdin: Data())
        #expect(neither.status == 64, "\(neither)")
    }

    @Test("logits prints one row of vocabulary-width logits per position, in the order asked")
    func logits() throws {
        let space = try Workspace()
        let model = try space.model()
        let idsPath = try space.write("ids.json", "[104, 105, 32, 299, 298]")
        let all = try space.run(["logits", "--model", model, "--ids", idsPath])
        #expect(all.status == 0, "\(all)")
        let rows = try #require(try Self.json(all) as? [[Double]], "\(all)")
        #expect(rows.count == 5)
        let width = try #require(rows.first?.count)
        #expect(width >= 300, "at least the vocabulary (the LM head may be padded): \(width)")
        #expect(rows.allSatisfy { $0.count == width && $0.allSatisfy(\.isFinite) })

        let picked = try space.run(["logits", "--model", model, "--ids", idsPath, "--positions", "0,2"])
        #expect(picked.status == 0, "\(picked)")
        let two = try #require(try Self.json(picked) as? [[Double]])
        #expect(two.count == 2)
        // Fewer logit rows may take another matrix kernel: equal up to float rounding.
        #expect(Self.distance(two[0], rows[0]) < 1e-5)
        #expect(Self.distance(two[1], rows[2]) < 1e-5)
        #expect(Self.distance(two[1], rows[1]) > 0.01, "distinct positions have distinct logits")

        let reversed = try space.run(["logits", "--model", model, "--ids", idsPath, "--positions", "3,1"])
        let backwards = try #require(try Self.json(reversed) as? [[Double]])
        try #require(backwards.count == 2)
        #expect(Self.distance(backwards[0], rows[3]) < 1e-5)
        #expect(Self.distance(backwards[1], rows[1]) < 1e-5)
    }

    /// Largest absolute difference of two rows (infinite when their lengths differ).
    static func distance(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test("logits refuses out-of-vocabulary ids, bad positions and non-arrays with exit 65")
    func logitsErrors() throws {
        let space = try Workspace()
        let model = try space.model()
        // The check is against the embedding rows (LLaDA pads 300 ids to 320 rows).
        let outside = try space.write("outside.json", "[1, 2, 320]")
        let tooBig = try space.run(["logits", "--model", model, "--ids", outside])
        #expect(tooBig.status == 65, "\(tooBig)")
        #expect(tooBig.stderr.contains("element 2 is 320, outside the vocabulary of 320"), "\(tooBig)")
        let negative = try space.write("negative.json", "[-1]")
        #expect(try space.run(["logits", "--model", model, "--ids", negative]).status == 65)

        let ids = try space.write("ids.json", "[1, 2, 3]")
        let badPosition = try space.run(["logits", "--model", model, "--ids", ids, "--positions", "0,3"])
        #expect(badPosition.status == 65, "\(badPosition)")
        #expect(badPosition.stderr.contains("--positions"), "\(badPosition)")

        let object = try space.write("object.json", "{\"ids\": [1, 2]}")
        let notArray = try space.run(["logits", "--model", model, "--ids", object])
        #expect(notArray.status == 65, "\(notArray)")
        #expect(notArray.stderr.contains(object), "\(notArray)")
    }
}
