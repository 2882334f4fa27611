extension ModelFamily {
    /// LLaDA-8B and models of its layout (`model_type: llada`).
    public static let llada = ModelFamily("llada")
}

/// LLaDA: OLMo-style names (`model.transformer.blocks.N.…`), its own config keys, logits read at
/// the position they predict.
struct LLaDAArchitecture: ConfigurationReading {
    let family = ModelFamily.llada
    let modelTypes = ["llada"]
    let chatTemplateName = "llada"
    let shiftsLogits = false
    let shapeKeys = ShapeKeys(
        hidden: "d_model", heads: "n_heads", kvHeads: "n_kv_heads", layers: "n_layers", intermediate: "mlp_hidden_size")

    func configuration(_ k: ConfigKeys) throws -> ModelConfiguration {
        let d: Int = try k.required("d_model")
        let heads: Int = try k.required("n_heads")
        let kvHeads: Int = try k.optional("n_kv_heads") ?? heads
        let mlp: Int
        if let hidden: Int = try k.optional("mlp_hidden_size") {
            mlp = hidden
        } else {
            let ratio: Int = try k.required("mlp_ratio")
            mlp = ratio * d
        }
        let vocab: Int = try k.optional("embedding_size") ?? k.required("vocab_size")
        let mask: Int = try k.optional("mask_token_id") ?? 126_336
        let eos: Int? = try k.optional("eos_token_id")
        let bos: Int? = try k.optional("bos_token_id")
        return ModelConfiguration(
            family: family, hiddenSize: d, layerCount: try k.required("n_layers"),
            headCount: heads, kvHeadCount: kvHeads, intermediateSize: mlp,
            vocabularySize: vocab, ropeTheta: try k.optional("rope_theta") ?? 10_000,
            rmsNormEpsilon: Float(try k.optional("rms_norm_eps") ?? 1e-5 as Double),
            maxSequenceLength: try k.optional("max_sequence_length") ?? 4096,
            hasQKVBias: try k.optional("include_qkv_bias") ?? false,
            tiedEmbeddings: try k.optional("weight_tying") ?? false,
            maskTokenID: Int32(mask), eosTokenID: eos.map(Int32.init), bosTokenID: bos.map(Int32.init),
            promptAttention: try k.promptAttention())
    }

    func tensorName(_ role: LayerTensor, layer: Int) -> String {
        let prefix = "model.transformer.blocks.\(layer)."
        switch role {
        case .attentionNorm: return prefix + "attn_norm.weight"
        case .query: return prefix + "q_proj.weight"
        case .key: return prefix + "k_proj.weight"
        case .value: return prefix + "v_proj.weight"
        case .queryBias: return prefix + "q_proj.bias"
        case .keyBias: return prefix + "k_proj.bias"
        case .valueBias: return prefix + "v_proj.bias"
        case .output: return prefix + "attn_out.weight"
        case .mlpNorm: return prefix + "ff_norm.weight"
        case .gate: return prefix + "ff_proj.weight"
        case .up: return prefix + "up_proj.weight"
        case .down: return prefix + "ff_out.weight"
        }
    }

    func tensorName(_ role: ModelTensor) -> String {
        switch role {
        case .embedding: return "model.transformer.wte.weight"
        case .finalNorm: return "model.transformer.ln_f.weight"
        case .head: return "model.transformer.ff_out.weight"
        }
    }
}
