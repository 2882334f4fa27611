import Foundation
import Testing
import FocusModel

@Suite("Configs and checkpoints")
struct CheckpointTests {
    @Test("LLaDA-8B-Instruct's config and index load into the right shapes without weights")
    func lladaFixture() throws {
        let checkpoint = try Checkpoint(
            directory: Fixtures.shared.appendingPathComponent("llada-8b-instruct"), requireWeights: false)
        let c = checkpoint.configuration
        #expect(c.family == .llada)
        #expect(c.hiddenSize == 4096 && c.layerCount == 32 && c.headCount == 32 && c.kvHeadCount == 32)
        #expect(c.intermediateSize == 12288 && c.vocabularySize == 126_464)
        #expect(c.maskTokenID == 126_336 && c.eosTokenID == 126_081)
        #expect(checkpoint.weightMap.count == 291)
        #expect(checkpoint.layout.shapes.count == 291)
        #expect(checkpoint.layout.parameterCount == 8_015_581_184)
        #expect(c.parameterCount == 8_015_581_184)
    }

    @Test("Dream-7B's config: GQA, biases, shifted logits")
    func dreamFixture() throws {
        let c = try ModelConfiguration(directory: Fixtures.shared.appendingPathComponent("dream-7b"))
        #expect(c.family == .dream && c.hasQKVBias && c.shiftsLogits)
        #expect(c.headCount == 28 && c.kvHeadCount == 4 && c.headDimension == 128)
        #expect(c.maskTokenID == 151_666 && c.ropeTheta == 1_000_000)
    }

    @Test("config errors name the key")
    func configErrors() throws {
        let unknown = Data(#"{"model_type": "gpt2"}"#.utf8)
        #expect(throws: ModelConfigurationError.unknownModelType(file: "config.json", value: "gpt2")) {
            try ModelConfiguration(json: unknown)
        }
        let missing = Data(#"{"model_type": "llada", "n_heads": 4}"#.utf8)
        #expect(throws: ModelConfigurationError.missingKey(file: "config.json", key: "d_model")) {
            try ModelConfiguration(json: missing)
        }
        let heads = Data(
            #"{"model_type": "llada", "d_model": 64, "n_heads": 5, "n_layers": 1, "mlp_hidden_size": 8, "vocab_size": 10, "mask_token_id": 3}"#.utf8)
        #expect(throws: ModelConfigurationError.self) { try ModelConfiguration(json: heads) }
        do {
            _ = try ModelConfiguration(json: heads)
        } catch let error as ModelConfigurationError {
            #expect(error.description.contains("n_heads"))
        }
        let kv = Data(
            #"{"model_type": "Dream", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 3, "num_hidden_layers": 1, "intermediate_size": 8, "vocab_size": 10, "mask_token_id": 3}"#.utf8)
        do {
            _ = try ModelConfiguration(json: kv)
            Issue.record("kv heads not dividing heads must be rejected")
        } catch let error as ModelConfigurationError {
            #expect(error.description.contains("num_key_value_heads"))
        }
    }
}
