import Foundation
import Testing
import FocusModel

/// Broken checkpoints give errors that name the file and tensor, never a crash.
@Suite("Checkpoint validation")
struct SafeTensorsValidationTests {
    /// A copy of a fixture checkpoint in a temporary directory, to damage.
    static func copy(_ name: String) throws -> URL {
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("focus-ckpt-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Fixtures.checkpoint(name), to: target)
        return target
    }

    static func remove(_ url: URL) { try? FileManager.default.removeItem(at: url) }

    @Test("a truncated shard names the file")
    func truncatedShard() throws {
        let directory = try Self.copy("llada-bf16-sharded")
        defer { Self.remove(directory) }
        let shard = directory.appendingPathComponent("model-00002-of-00002.safetensors")
        let data = try Data(contentsOf: shard)
        try data.prefix(data.count - 100).write(to: shard)
        do {
            _ = try Checkpoint(directory: directory)
            Issue.record("a truncated shard must be rejected")
        } catch let error as CheckpointError {
            guard case .truncated(let file, _) = error else {
                Issue.record("expected .truncated, got \(error)")
                return
            }
            #expect(file.hasSuffix("model-00002-of-00002.safetensors"))
        }
    }

    @Test("a header length beyond the file, and a header that is not JSON, are rejected")
    func corruptHeader() throws {
        let directory = try Self.copy("llada-f32")
        defer { Self.remove(directory) }
        let file = directory.appendingPathComponent("model.safetensors")
        var data = try Data(contentsOf: file)
        var huge = UInt64(data.count).littleEndian
        data.replaceSubrange(0..<8, with: Data(bytes: &huge, count: 8))
        try data.write(to: file)
        #expect(throws: CheckpointError.self) { try SafeTensorsFile(url: file) }
        var garbage = try Data(contentsOf: Fixtures.checkpoint("llada-f32").appendingPathComponent("model.safetensors"))
        garbage[8] = UInt8(ascii: "#")
        try garbage.write(to: file)
        do {
            _ = try SafeTensorsFile(url: file)
            Issue.record("a header that is not JSON must be rejected")
        } catch let error as CheckpointError {
            #expect(error == .invalidHeader(file: file.path, reason: "header is not a JSON object"))
        }
    }

    @Test("a tensor missing from the index and an extra tensor are named")
    func missingAndExtraTensors() throws {
        let directory = try Self.copy("dream-f32-sharded")
        defer { Self.remove(directory) }
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: index)) as? [String: Any])
        var map = try #require(object["weight_map"] as? [String: String])
        let removed = "model.layers.1.mlp.up_proj.weight"
        let shard = map.removeValue(forKey: removed)
        object["weight_map"] = map
        try JSONSerialization.data(withJSONObject: object).write(to: index)
        #expect(throws: CheckpointError.missingTensor(file: index.path, tensor: removed)) {
            try Checkpoint(directory: directory)
        }
        map[removed] = shard
        map["model.layers.1.mlp.extra.weight"] = shard
        object["weight_map"] = map
        try JSONSerialization.data(withJSONObject: object).write(to: index)
        #expect(throws: CheckpointError.unexpectedTensor(file: index.path, tensor: "model.layers.1.mlp.extra.weight")) {
            try Checkpoint(directory: directory)
        }
    }

    @Test("a shape that contradicts the config is named")
    func shapeMismatch() throws {
        let directory = try Self.copy("llada-f32")
        defer { Self.remove(directory) }
        let config = directory.appendingPathComponent("config.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
        object["mlp_hidden_size"] = 96
        try JSONSerialization.data(withJSONObject: object).write(to: config)
        do {
            _ = try Checkpoint(directory: directory)
            Issue.record("a shape mismatch must be rejected")
        } catch let error as CheckpointError {
            guard case .shapeMismatch(_, let tensor, let expected, _) = error else {
                Issue.record("expected .shapeMismatch, got \(error)")
                return
            }
            #expect(tensor.hasSuffix("ff_proj.weight") || tensor.hasSuffix("up_proj.weight") || tensor.hasSuffix("ff_out.weight"))
            #expect(expected.contains(96))
        }
    }

    @Test("bf16 weights widen exactly and stream in chunks to the same logits")
    func residencyAgrees() throws {
        let widened = try TransformerModel(directory: Fixtures.checkpoint("dream-bf16"), residency: .widened)
        let streamed = try TransformerModel(directory: Fixtures.checkpoint("dream-bf16"), residency: .streamed)
        let tokens: [Int32] = [5, 17, 42, 99, 3, 250]
        let positions = (0..<tokens.count).map(Int32.init)
        let a = widened.forward(tokens: tokens, positions: positions, logitRows: [0, 5]).array
        let b = streamed.forward(tokens: tokens, positions: positions, logitRows: [0, 5]).array
        #expect(relativeError(a, b) < 1e-6)
    }
}
