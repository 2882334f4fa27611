import Foundation
import Testing
@testable import FocusModel

/// The registry of model families: every `model_type` maps to one architecture, an unknown one
/// is refused by name, and each family's facts come from its own file.
@Suite("Model families")
struct ModelFamilyTests {
    @Test("each model_type names its family; an unknown one is refused naming it and the known types")
    func registry() throws {
        #expect(try ModelArchitectures.architecture(modelType: "llada", file: "config.json").family == .llada)
        #expect(try ModelArchitectures.architecture(modelType: "Dream", file: "config.json").family == .dream)
        #expect(try ModelArchitectures.architecture(modelType: "dream", file: "config.json").family == .dream)
        let error = #expect(throws: ModelConfigurationError.self) {
            try ModelArchitectures.architecture(modelType: "qwen3", file: "config.json")
        }
        #expect(error == .unknownModelType(file: "config.json", value: "qwen3"))
        #expect("\(error!)".hasSuffix(#"unknown model type "qwen3" (expected "llada" or "Dream")"#))
    }

    @Test("families carry their chat template, logit shift and tensor names")
    func familyFacts() {
        let llada = ModelFamily.llada.architecture
        let dream = ModelFamily.dream.architecture
        #expect(llada.chatTemplateName == "llada" && !llada.shiftsLogits)
        #expect(dream.chatTemplateName == "Dream" && dream.shiftsLogits)
        #expect(llada.tensorName(.query, layer: 3) == "model.transformer.blocks.3.q_proj.weight")
        #expect(dream.tensorName(.query, layer: 3) == "model.layers.3.self_attn.q_proj.weight")
        #expect(llada.tensorName(.head) == "model.transformer.ff_out.weight" && dream.tensorName(.head) == "lm_head.weight")
    }

    @Test("a family encodes as its name")
    func familyCoding() throws {
        let data = try JSONEncoder().encode([ModelFamily.llada, .dream])
        #expect(String(decoding: data, as: UTF8.self) == #"["llada","dream"]"#)
        #expect(try JSONDecoder().decode([ModelFamily].self, from: data) == [.llada, .dream])
    }
}
