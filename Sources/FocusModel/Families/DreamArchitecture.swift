extension ModelFamily {
    /// Dream-7B: Qwen2.5 shapes run bidirectionally (`model_type: Dream`).
    public static let dream = ModelFamily("dream")
}

/// Dream: Qwen2 names (`model.layers.N.…`) and config keys, biased QKV, and the prediction for
/// position i read from the logits at i − 1.
struct DreamArchitecture: ConfigurationReading {
    let family = ModelFamily.dream
    let modelTypes = ["Dream", "dream"]
    let chatTemplateName = "Dream"
    let shiftsLogits = true
    let shapeKeys = ShapeKeys(
        hidden: "hidden_size", heads: "num_attention_heads", kvHeads: "num_key_value_heads",
        layers: "num_hidden_layers", intermediate: "intermediate_size")

    func configuration(_ k: ConfigKeys) throws -> ModelConfiguration {
        let heads: Int = try k.required("num_attention_heads")
        let mask: Int = try k.optional("mask_token_id") ?? 151_666
        let eos: Int? = try k.optional("eos_token_id")
        let bos: Int? = try k.optional("bos_token_id")
        return ModelConfiguration(
            family: family, hiddenSize: try k.required("hidden_size"),
            layerCount: try k.required("num_hidden_layers"), headCount: heads,
            kvHeadCount: try k.optional("num_key_value_heads") ?? heads,
            intermediateSize: try k.required("intermediate_size"),
            vocabularySize: try k.required("vocab_size"),
            ropeTheta: try k.optional("rope_theta") ?? 10_000,
            rmsNormEpsilon: Float(try k.optional("rms_norm_eps") ?? 1e-6 as Double),
            maxSequenceLength: try k.optional("max_position_embeddings") ?? 32_768,
            hasQKVBias: true, tiedEmbeddings: try k.optional("tie_word_embeddings") ?? false,
            maskTokenID: Int32(mask), eosTokenID: eos.map(Int32.init), bosTokenID: bos.map(Int32.init),
            promptAttention: try k.promptAttention())
    }

    func tensorName(_ role: LayerTensor, layer: Int) -> String {
        let prefix = "model.layers.\(layer)."
        switch role {
        case .attentionNorm: return prefix + "input_layernorm.weight"
        case .query: return prefix + "self_attn.q_proj.weight"
        case .key: return prefix + "self_attn.k_proj.weight"
        case .value: return prefix + "self_attn.v_proj.weight"
        case .queryBias: return prefix + "self_attn.q_proj.bias"
        case .keyBias: return prefix + "self_attn.k_proj.bias"
        case .valueBias: return prefix + "self_attn.v_proj.bias"
        case .output: return prefix + "self_attn.o_proj.weight"
        case .mlpNorm: return prefix + "post_attention_layernorm.weight"
        case .gate: return prefix + "mlp.gate_proj.weight"
        case .up: return prefix + "mlp.up_proj.weight"
        case .down: return prefix + "mlp.down_proj.weight"
        }
    }

    func tensorName(_ role: ModelTensor) -> String {
        switch role {
        case .embedding: return "model.embed_tokens.weight"
        case .finalNorm: return "model.norm.weight"
        case .head: return "lm_head.weight"
        }
    }
}
