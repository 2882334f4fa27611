/// The architecture family a checkpoint belongs to, named as its `ModelArchitecture` names it.
/// Each family declares its own value (`.llada`, `.dream`) in its file.
public struct ModelFamily: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The family's name (`llada`, `dream`).
    public let name: String

    init(_ name: String) { self.name = name }

    /// Decodes a family by name; a name no registered architecture declares is refused.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard ModelArchitectures.all.contains(where: { $0.family.name == name }) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown model family \"\(name)\"")
        }
        self.name = name
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    public var description: String { name }

    /// The family's architecture, from the registry.
    public var architecture: any ModelArchitecture { ModelArchitectures.architecture(of: self) }
}

/// The config keys that name a family's shapes, for error messages.
struct ShapeKeys {
    let hidden: String
    let heads: String
    let kvHeads: String
    let layers: String
    let intermediate: String
}

/// One model family, in one file: how its `config.json` reads, what its tensors are called, which
/// chat template it speaks and whether its logits are shifted. Adding a family is a new type
/// conforming to this and a line in `ModelArchitectures.all`.
public protocol ModelArchitecture: Sendable {
    /// The family.
    var family: ModelFamily { get }
    /// The `model_type` values of `config.json` that name the family; the first is the one
    /// error messages cite.
    var modelTypes: [String] { get }
    /// The model type whose chat template the family's tokenizer speaks (`chatTemplate(modelType:)`).
    var chatTemplateName: String { get }
    /// The prediction for position i is read from the logits at i − 1 (Dream).
    var shiftsLogits: Bool { get }
    /// The checkpoint name of a per-layer tensor.
    func tensorName(_ role: LayerTensor, layer: Int) -> String
    /// The checkpoint name of a model-level tensor.
    func tensorName(_ role: ModelTensor) -> String
}

/// What a family adds inside this module: reading its configuration and naming its shape keys.
protocol ConfigurationReading: ModelArchitecture {
    /// The config keys naming the shapes, for validation messages.
    var shapeKeys: ShapeKeys { get }
    /// The configuration the keys of `config.json` describe.
    func configuration(_ keys: ConfigKeys) throws -> ModelConfiguration
}

/// The registry of model families.
public enum ModelArchitectures {
    /// Every family focus runs, one line each.
    static let all: [any ConfigurationReading] = [LLaDAArchitecture(), DreamArchitecture()]

    /// The family `model_type` names.
    /// - Throws: `ModelConfigurationError.unknownModelType` naming the type and those known.
    static func architecture(modelType: String, file: String) throws -> any ConfigurationReading {
        guard let architecture = all.first(where: { $0.modelTypes.contains(modelType) }) else {
            throw ModelConfigurationError.unknownModelType(file: file, value: modelType)
        }
        return architecture
    }

    /// The architecture of `family` (every family value is declared by an architecture here).
    static func architecture(of family: ModelFamily) -> any ConfigurationReading {
        guard let architecture = all.first(where: { $0.family == family }) else {
            preconditionFailure("model family \(family) is missing from ModelArchitectures.all")
        }
        return architecture
    }

    /// The first `model_type` of every family, quoted: `"llada" or "Dream"`, for messages.
    static var knownModelTypes: String {
        let names = all.compactMap(\.modelTypes.first).map { "\"\($0)\"" }
        return names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
    }
}
