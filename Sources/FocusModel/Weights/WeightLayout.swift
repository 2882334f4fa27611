/// The names and shapes of every tensor a configuration implies, named by the family's architecture.
public struct WeightLayout: Sendable {
    /// Tensor name → shape, in PyTorch's `[out, in]` layout for linear layers.
    public let shapes: [String: [Int]]
    private let architecture: any ModelArchitecture

    public init(configuration c: ModelConfiguration) {
        let architecture = c.family.architecture
        self.architecture = architecture
        var shapes: [String: [Int]] = [:]
        let d = c.hiddenSize
        for layer in 0..<c.layerCount {
            for role in LayerTensor.allCases {
                if role.isBias && !c.hasQKVBias { continue }
                shapes[architecture.tensorName(role, layer: layer)] = role.shape(c)
            }
        }
        shapes[architecture.tensorName(.embedding)] = [c.vocabularySize, d]
        shapes[architecture.tensorName(.finalNorm)] = [d]
        if !c.tiedEmbeddings {
            shapes[architecture.tensorName(.head)] = [c.vocabularySize, d]
        }
        self.shapes = shapes
    }

    /// Parameters over all tensors.
    public var parameterCount: Int { shapes.values.reduce(0) { $0 + $1.reduce(1, *) } }

    /// The checkpoint name of a per-layer tensor.
    public func name(_ role: LayerTensor, layer: Int) -> String {
        architecture.tensorName(role, layer: layer)
    }

    /// The checkpoint name of a model-level tensor.
    public func name(_ role: ModelTensor) -> String { architecture.tensorName(role) }
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
