import Foundation

/// How the rows of the prompt attend to each other.
public enum PromptAttention: String, Sendable, Codable {
    /// Every row attends to every row (LLaDA, Dream).
    case bidirectional
    /// Document rows attend only within the document; question and answer rows attend to
    /// everything. Stored document KV is exact for such a model.
    case blockCausal = "block_causal"
}

/// Errors raised while reading a model directory.
public enum ModelConfigurationError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case invalidJSON(file: String, reason: String)
    case unknownModelType(file: String, value: String)
    case missingKey(file: String, key: String)
    case invalidValue(file: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path): return "\(path): file not found"
        case .invalidJSON(let file, let reason): return "\(file): not valid JSON (\(reason))"
        case .unknownModelType(let file, let value):
            return "\(file): key \"model_type\": unknown model type \"\(value)\" (expected \(ModelArchitectures.knownModelTypes))"
        case .missingKey(let file, let key): return "\(file): missing key \"\(key)\""
        case .invalidValue(let file, let key, let reason): return "\(file): key \"\(key)\": \(reason)"
        }
    }
}

/// The shape and special tokens of a model, read from a Hugging Face `config.json`.
public struct ModelConfiguration: Sendable, Equatable {
    public var family: ModelFamily
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var intermediateSize: Int
    /// Rows of the embedding and LM head (LLaDA pads the vocabulary to `embedding_size`).
    public var vocabularySize: Int
    public var ropeTheta: Double
    public var rmsNormEpsilon: Float
    public var maxSequenceLength: Int
    public var hasQKVBias: Bool
    public var tiedEmbeddings: Bool
    public var maskTokenID: Int32
    public var eosTokenID: Int32?
    public var bosTokenID: Int32?
    public var promptAttention: PromptAttention
    /// The model's own choice of Focus's dense layers (`focus_dense_layers`, measured for it on
    /// its dev sets), or nil to take the decoder's default.
    public var focusDenseLayers: Int?

    /// Dimension of one attention head.
    public var headDimension: Int { hiddenSize / headCount }
    /// Width of one token's K (or V) row: `kvHeadCount × headDimension`.
    public var kvDimension: Int { kvHeadCount * headDimension }
    /// The prediction for position i is read from the logits at i − 1 (Dream).
    public var shiftsLogits: Bool { family.architecture.shiftsLogits }

    public init(
        family: ModelFamily, hiddenSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
        intermediateSize: Int, vocabularySize: Int, ropeTheta: Double, rmsNormEpsilon: Float,
        maxSequenceLength: Int, hasQKVBias: Bool, tiedEmbeddings: Bool = false,
        maskTokenID: Int32, eosTokenID: Int32?, bosTokenID: Int32?,
        promptAttention: PromptAttention = .bidirectional
    ) {
        self.family = family
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.intermediateSize = intermediateSize
        self.vocabularySize = vocabularySize
        self.ropeTheta = ropeTheta
        self.rmsNormEpsilon = rmsNormEpsilon
        self.maxSequenceLength = maxSequenceLength
        self.hasQKVBias = hasQKVBias
        self.tiedEmbeddings = tiedEmbeddings
        self.maskTokenID = maskTokenID
        self.eosTokenID = eosTokenID
        self.bosTokenID = bosTokenID
        self.promptAttention = promptAttention
    }

    /// Reads `config.json` from a model directory.
    public init(directory: URL) throws {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelConfigurationError.missingFile(url.path)
        }
        try self.init(json: data, file: url.path)
    }

    /// Parses the contents of a `config.json`; `file` names it in errors.
    public init(json data: Data, file: String = "config.json") throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ModelConfigurationError.invalidJSON(file: file, reason: "\(error.localizedDescription)")
        }
        guard let dict = object as? [String: Any] else {
            throw ModelConfigurationError.invalidJSON(file: file, reason: "top level is not an object")
        }
        let keys = ConfigKeys(dict: dict, file: file)
        let architecture = try ModelArchitectures.architecture(modelType: try keys.required("model_type"), file: file)
        self = try architecture.configuration(keys)
        focusDenseLayers = try keys.optional("focus_dense_layers")
        try validate(file: file)
    }

    /// Checks that the shapes are consistent, naming the offending key.
    public func validate(file: String = "config.json") throws {
        let keys = ModelArchitectures.architecture(of: family).shapeKeys
        let (dKey, hKey, kvKey) = (keys.hidden, keys.heads, keys.kvHeads)
        func positive(_ value: Int, _ key: String) throws {
            if value <= 0 {
                throw ModelConfigurationError.invalidValue(file: file, key: key, reason: "must be positive, got \(value)")
            }
        }
        try positive(hiddenSize, dKey)
        try positive(headCount, hKey)
        try positive(kvHeadCount, kvKey)
        try positive(layerCount, keys.layers)
        try positive(intermediateSize, keys.intermediate)
        try positive(vocabularySize, "vocab_size")
        if hiddenSize % headCount != 0 {
            throw ModelConfigurationError.invalidValue(
                file: file, key: hKey, reason: "\(headCount) heads do not divide \(dKey) \(hiddenSize)")
        }
        if headCount % kvHeadCount != 0 {
            throw ModelConfigurationError.invalidValue(
                file: file, key: kvKey, reason: "\(kvHeadCount) kv heads do not divide \(headCount) heads")
        }
        if headDimension % 2 != 0 {
            throw ModelConfigurationError.invalidValue(
                file: file, key: hKey, reason: "head dimension \(headDimension) must be even for RoPE")
        }
        if let dense = focusDenseLayers, dense < 0 || dense > layerCount {
            throw ModelConfigurationError.invalidValue(
                file: file, key: "focus_dense_layers", reason: "\(dense) is outside 0…\(layerCount) (the model's layers)")
        }
        if maskTokenID < 0 || Int(maskTokenID) >= vocabularySize {
            throw ModelConfigurationError.invalidValue(
                file: file, key: "mask_token_id", reason: "\(maskTokenID) outside the vocabulary of \(vocabularySize)")
        }
    }

    /// Parameters of the transformer, embedding and head included.
    public var parameterCount: Int {
        let d = hiddenSize
        let attention = 2 * d * d + 2 * d * kvDimension + (hasQKVBias ? d + 2 * kvDimension : 0)
        let mlp = 3 * d * intermediateSize
        let perLayer = attention + mlp + 2 * d
        let head = tiedEmbeddings ? 0 : vocabularySize * d
        return layerCount * perLayer + vocabularySize * d + head + d
    }
}

// MARK: - Reading typed keys

/// Typed access to the keys of a parsed `config.json`, with errors that name the key.
struct ConfigKeys {
    let dict: [String: Any]
    let file: String

    func optional<T>(_ key: String) throws -> T? {
        guard let raw = dict[key], !(raw is NSNull) else { return nil }
        if let value = convert(raw, to: T.self) { return value }
        throw ModelConfigurationError.invalidValue(
            file: file, key: key, reason: "expected \(T.self), got \(raw)")
    }

    func required<T>(_ key: String) throws -> T {
        guard let value: T = try optional(key) else {
            throw ModelConfigurationError.missingKey(file: file, key: key)
        }
        return value
    }

    func promptAttention() throws -> PromptAttention {
        guard let raw: String = try optional("prompt_attention") else { return .bidirectional }
        guard let value = PromptAttention(rawValue: raw) else {
            throw ModelConfigurationError.invalidValue(
                file: file, key: "prompt_attention",
                reason: "unknown pattern \"\(raw)\" (expected \"bidirectional\" or \"block_causal\")")
        }
        return value
    }

    private func convert<T>(_ raw: Any, to type: T.Type) -> T? {
        if T.self == Int.self, let n = raw as? NSNumber {
            let d = n.doubleValue
            return d == d.rounded() ? Int(d) as? T : nil
        }
        if T.self == Double.self, let n = raw as? NSNumber { return n.doubleValue as? T }
        if T.self == Bool.self, let b = raw as? Bool { return b as? T }
        if T.self == String.self, let s = raw as? String { return s as? T }
        return nil
    }
}
