import Foundation
@testable import FocusTokenizer

/// Paths of the shared tokenizer fixtures and one loaded instance of each tokenizer.
enum Fixtures {
    /// The repository root: three levels above this file (`Tests/FocusTokenizerTests/Fixtures.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/fixtures/tokenizers/<name>/` relative to the repository root.
    static func tokenizerDirectory(_ name: String) -> URL {
        packageRoot.deletingLastPathComponent()
            .appendingPathComponent("shared/fixtures/tokenizers")
            .appendingPathComponent(name)
    }

    static func tokenizerURL(_ name: String) -> URL {
        tokenizerDirectory(name).appendingPathComponent("tokenizer.json")
    }

    /// Loaded once and shared by all tests (loading is the slow part).
    static let ling: BPETokenizer = load("ling-llada")
    static let qwen: BPETokenizer = load("qwen2-dream")

    private static func load(_ name: String) -> BPETokenizer {
        do {
            return try BPETokenizer(contentsOf: tokenizerURL(name))
        } catch {
            fatalError("cannot load fixture tokenizer \(name): \(error)")
        }
    }

    /// One line of `vectors.jsonl`.
    struct Vector {
        let line: Int
        let text: String
        let ids: [Int32]
    }

    /// All reference vectors of tokenizer `name`.
    static func vectors(_ name: String) throws -> [Vector] {
        let url = tokenizerDirectory(name).appendingPathComponent("vectors.jsonl")
        let content = try String(contentsOf: url, encoding: .utf8)
        var vectors: [Vector] = []
        for (index, line) in content.split(separator: "\n").enumerated() {
            // The module's parser, because Foundation's drops a U+FEFF inside a string value.
            let object = try JSONParser.parse(Data(line.utf8))
            guard let text = object["text"]?.stringValue, let ids = object["ids"]?.arrayValue else {
                throw TokenizerError.missingField(path: url.path, field: "line \(index + 1)")
            }
            vectors.append(Vector(line: index + 1, text: text, ids: ids.compactMap { $0.intValue.map(Int32.init) }))
        }
        return vectors
    }
}
