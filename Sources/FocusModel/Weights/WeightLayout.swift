/// The names and shapes of every tensor a configuration implies, in the family's naming scheme.
public struct WeightLayout: Sendable {
    /// Tensor name → shape, in PyTorch's `[out, in]` layout for linear layers.
    public let shapes: [String: [Int]]
    private let family: ModelFamily

    public init(configuration c: ModelConfiguration) {
        family = c.family
        var shapes: [String: [Int]] = [:]
        let d = c.hiddenSize
        for layer in 0..<c.layerCount {
            for role in LayerTensor.allCases {
                if role.isBias && !c.hasQKVBias { continue }
                shapes[Self.name(role, layer: layer, family: c.family)] = role.shape(c)
            }
        }
        shapes[Self.name(.embedding, family: c.family)] = [c.vocabularySize, d]
        shapes[Self.name(.finalNorm, family: c.family)] = [d]
        if !c.tiedEmbeddings {
            shapes[Self.name(.head, family: c.family)] = [c.vocabularySize, d]
        }
        self.shapes = shapes
    }

    /// Parameters over all tensors.
    public var parameterCount: Int { shapes.values.reduce(0) { $0 + $1.reduce(1, *) } }

    /// The checkpoint name of a per-layer tensor.
    public func name(_ role: LayerTensor, layer: Int) -> String {
        Self.name(role, layer: layer, family: family)
    }

    /// The checkpoint name of a model-level tensor.
    public func name(_ role: ModelTensor) -> String { Self.name(role, family: family) }

    static func name(_ role: LayerTensor, layer: Int, family: ModelFamily) -> String {
        switch family {
        case .llada:
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
        case .dream:
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
    }

    static func name(_ role: ModelTensor, family: ModelFamily) -> String {
        switch (family, role) {
        case (.llada, .embedding): return "model.transformer.wte.weight"
        case (.llada, .finalNorm): return "model.transformer.ln_f.weight"
        case (.llada, .head): return "model.transformer.ff_out.weight"
        case (.dream, .embedding): return "model.embed_tokens.weight"
        case (.dream, .finalNorm): return "model.norm.weight"
        case (.dream, .head): return "lm_head.weight"
        }
    }
}

/// The tensors of one transformer layer.
public enum LayerTensor: CaseIterable, Sendable {
    case attentionNorm, query, key, value, queryBias, keyBias, valueBias, output
    case mlpNorm, gate, up, down

    var isBias: Bool { self == .queryBias || self == .keyBias || self == .valueBias }

    func shape(_ c: ModelConfiguration) -> [Int] {
        let d = c.hiddenSize
        switch self {
        case .attentionNorm, .mlpNorm, .queryBias: return [d]
        case .keyBias, .valueBias: return [c.kvDimension]
        case .query, .output: return [d, d]
        case .key, .value: return [c.kvDimension, d]
        case .gate, .up: return [c.intermediateSize, d]
        case .down: return [d, c.intermediateSize]
        }
    }
}

/// The tensors outside the layers.
public enum ModelTensor: Sendable {
    case embedding, finalNorm, head
}
