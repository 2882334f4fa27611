import Foundation

/// Everything that can go wrong while loading a `tokenizer.json` or building a prompt.
///
/// Every case names the file it concerns and, where it applies, the JSON field and value.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// The tokenizer file does not exist or cannot be read.
    case fileNotFound(path: String)
    /// The file is not well-formed JSON; `offset` is the byte where parsing stopped.
    case invalidJSON(path: String, offset: Int, reason: String)
    /// A required field is absent or has the wrong JSON type.
    case missingField(path: String, field: String)
    /// A component (`normalizer`, `pre_tokenizer`, `model`, `decoder`, ...) has a type or
    /// option this implementation does not support.
    case unsupportedComponent(path: String, field: String, value: String)
    /// A merge rule names a token absent from the vocabulary, or produces one.
    case mergeReferencesUnknownToken(path: String, mergeIndex: Int, token: String)
    /// A merge rule is neither `"a b"` nor `["a", "b"]`.
    case malformedMerge(path: String, mergeIndex: Int, value: String)
    /// A split pattern could not be compiled as a regular expression.
    case invalidPattern(path: String, field: String, pattern: String)
    /// A chat template needs a special token that the tokenizer does not have.
    case missingSpecialToken(template: String, token: String)
    /// No chat template is known for this model type.
    case unknownModelType(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): file not found or unreadable"
        case .invalidJSON(let path, let offset, let reason):
            return "\(path): invalid JSON at byte \(offset): \(reason)"
        case .missingField(let path, let field):
            return "\(path): missing or mistyped field `\(field)`"
        case .unsupportedComponent(let path, let field, let value):
            return "\(path): unsupported `\(field)` = \(value)"
        case .mergeReferencesUnknownToken(let path, let index, let token):
            return "\(path): model.merges[\(index)] references unknown token \(token.debugDescription)"
        case .malformedMerge(let path, let index, let value):
            return "\(path): model.merges[\(index)] is malformed: \(value)"
        case .invalidPattern(let path, let field, let pattern):
            return "\(path): `\(field)` is not a valid regular expression: \(pattern.debugDescription)"
        case .missingSpecialToken(let template, let token):
            return "chat template \(template): tokenizer lacks special token \(token)"
        case .unknownModelType(let modelType):
            return "no chat template for model type \(modelType.debugDescription)"
        }
    }
}
