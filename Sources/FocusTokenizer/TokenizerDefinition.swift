import Foundation

// MARK: - Errors

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

// MARK: - Definition

/// A token from the `added_tokens` list of `tokenizer.json`.
public struct AddedToken: Sendable, Equatable {
    /// The token id.
    public let id: Int32
    /// The literal text that the token stands for.
    public let content: String
    /// Whether decoding with `skipSpecialTokens` drops it.
    public let isSpecial: Bool
}

/// Everything `BPETokenizer` needs from a `tokenizer.json`, validated.
struct TokenizerDefinition {
    /// Token string of every id (BPE vocabulary and added tokens); empty for unused ids.
    var idToToken: [String] = []
    /// BPE vocabulary, token string -> id.
    var vocabulary: [String: Int32] = [:]
    /// Merge rules keyed by `left << 32 | right`; the value packs `rank << 32 | merged id`.
    var merges: [UInt64: UInt64] = [:]
    /// Added tokens in file order.
    var addedTokens: [AddedToken] = []
    /// Whether the normalizer applies Unicode NFC.
    var normalizesToNFC = false
    /// The split regex, or nil for no splitting.
    var splitPattern: String?
    /// Whether a piece found whole in the vocabulary skips the merges.
    var ignoresMerges = false

    /// Reads and validates `url`.
    static func load(contentsOf url: URL) throws -> TokenizerDefinition {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.fileNotFound(path: path)
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(data)
        } catch let failure as JSONParser.Failure {
            throw TokenizerError.invalidJSON(path: path, offset: failure.offset, reason: failure.reason)
        }
        var definition = TokenizerDefinition()
        try definition.readNormalizer(root["normalizer"], path: path)
        try definition.readPreTokenizer(root["pre_tokenizer"], path: path)
        try definition.readDecoder(root["decoder"], path: path)
        try definition.readModel(root["model"], path: path)
        try definition.readAddedTokens(root["added_tokens"], path: path)
        return definition
    }

    // MARK: - Components

    private mutating func readNormalizer(_ value: JSONValue?, path: String) throws {
        guard let value, !value.isNull else { return }
        let type = value["type"]?.stringValue
        switch type {
        case "NFC":
            normalizesToNFC = true
        case "Sequence":
            guard let members = value["normalizers"]?.arrayValue else {
                throw TokenizerError.missingField(path: path, field: "normalizer.normalizers")
            }
            for member in members { try readNormalizer(member, path: path) }
        default:
            throw TokenizerError.unsupportedComponent(
                path: path, field: "normalizer.type", value: type ?? value.summary)
        }
    }

    private mutating func readPreTokenizer(_ value: JSONValue?, path: String) throws {
        guard let value, !value.isNull else {
            throw TokenizerError.unsupportedComponent(path: path, field: "pre_tokenizer", value: "null")
        }
        let type = value["type"]?.stringValue
        switch type {
        case "Sequence":
            guard let members = value["pretokenizers"]?.arrayValue else {
                throw TokenizerError.missingField(path: path, field: "pre_tokenizer.pretokenizers")
            }
            let types = members.map { $0["type"]?.stringValue ?? $0.summary }
            guard types == ["Split", "ByteLevel"] else {
                throw TokenizerError.unsupportedComponent(
                    path: path, field: "pre_tokenizer.pretokenizers", value: types.joined(separator: ", "))
            }
            try readSplit(members[0], path: path)
            try readByteLevel(members[1], field: "pre_tokenizer.pretokenizers[1]", requireRegex: false, path: path)
        case "ByteLevel":
            try readByteLevel(value, field: "pre_tokenizer", requireRegex: true, path: path)
            splitPattern = PatternScanner.gpt2Pattern
        default:
            throw TokenizerError.unsupportedComponent(
                path: path, field: "pre_tokenizer.type", value: type ?? value.summary)
        }
    }

    private mutating func readSplit(_ value: JSONValue, path: String) throws {
        let field = "pre_tokenizer.pretokenizers[0]"
        let behavior = value["behavior"]?.stringValue ?? "missing"
        guard behavior == "Isolated" else {
            throw TokenizerError.unsupportedComponent(path: path, field: "\(field).behavior", value: behavior)
        }
        if value["invert"]?.boolValue == true {
            throw TokenizerError.unsupportedComponent(path: path, field: "\(field).invert", value: "true")
        }
        if let regex = value["pattern"]?["Regex"]?.stringValue {
            splitPattern = regex
        } else if let literal = value["pattern"]?["String"]?.stringValue {
            splitPattern = NSRegularExpression.escapedPattern(for: literal)
        } else {
            throw TokenizerError.missingField(path: path, field: "\(field).pattern")
        }
        do {
            _ = try NSRegularExpression(pattern: splitPattern!)
        } catch {
            throw TokenizerError.invalidPattern(path: path, field: "\(field).pattern", pattern: splitPattern!)
        }
    }

    private func readByteLevel(_ value: JSONValue, field: String, requireRegex: Bool, path: String) throws {
        let type = value["type"]?.stringValue ?? value.summary
        guard type == "ByteLevel" else {
            throw TokenizerError.unsupportedComponent(path: path, field: "\(field).type", value: type)
        }
        if value["add_prefix_space"]?.boolValue == true {
            throw TokenizerError.unsupportedComponent(path: path, field: "\(field).add_prefix_space", value: "true")
        }
        let usesRegex = value["use_regex"]?.boolValue ?? true
        if usesRegex != requireRegex {
            throw TokenizerError.unsupportedComponent(path: path, field: "\(field).use_regex", value: String(usesRegex))
        }
    }

    private func readDecoder(_ value: JSONValue?, path: String) throws {
        let type = value?["type"]?.stringValue
        guard type == "ByteLevel" else {
            throw TokenizerError.unsupportedComponent(
                path: path, field: "decoder.type", value: type ?? value?.summary ?? "missing")
        }
    }

    // MARK: - Model

    private mutating func readModel(_ model: JSONValue?, path: String) throws {
        guard let model, case .object = model else {
            throw TokenizerError.missingField(path: path, field: "model")
        }
        let type = model["type"]?.stringValue ?? "BPE"
        guard type == "BPE" else {
            throw TokenizerError.unsupportedComponent(path: path, field: "model.type", value: type)
        }
        for option in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let text = model[option]?.stringValue, !text.isEmpty {
                throw TokenizerError.unsupportedComponent(path: path, field: "model.\(option)", value: text)
            }
        }
        if model["byte_fallback"]?.boolValue == true {
            throw TokenizerError.unsupportedComponent(path: path, field: "model.byte_fallback", value: "true")
        }
        if let dropout = model["dropout"], !dropout.isNull, dropout.intValue != 0 {
            throw TokenizerError.unsupportedComponent(path: path, field: "model.dropout", value: dropout.summary)
        }
        ignoresMerges = model["ignore_merges"]?.boolValue ?? false
        guard case .object(let entries)? = model["vocab"] else {
            throw TokenizerError.missingField(path: path, field: "model.vocab")
        }
        vocabulary.reserveCapacity(entries.count)
        var maxID = -1
        for entry in entries {
            guard let id = entry.value.intValue, id >= 0, id < Int(Int32.max) else {
                throw TokenizerError.missingField(path: path, field: "model.vocab[\(entry.key.debugDescription)]")
            }
            vocabulary[entry.key] = Int32(id)
            maxID = max(maxID, id)
        }
        idToToken = [String](repeating: "", count: maxID + 1)
        for (token, id) in vocabulary { idToToken[Int(id)] = token }
        guard let mergeList = model["merges"]?.arrayValue else {
            throw TokenizerError.missingField(path: path, field: "model.merges")
        }
        try readMerges(mergeList, path: path)
    }

    private mutating func readMerges(_ list: [JSONValue], path: String) throws {
        merges.reserveCapacity(list.count)
        for (rank, entry) in list.enumerated() {
            let left: String, right: String
            switch entry {
            case .string(let line):
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.malformedMerge(path: path, mergeIndex: rank, value: entry.summary)
                }
                left = String(parts[0])
                right = String(parts[1])
            case .array(let pair):
                guard pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue else {
                    throw TokenizerError.malformedMerge(path: path, mergeIndex: rank, value: entry.summary)
                }
                left = a
                right = b
            default:
                throw TokenizerError.malformedMerge(path: path, mergeIndex: rank, value: entry.summary)
            }
            guard let leftID = vocabulary[left] else {
                throw TokenizerError.mergeReferencesUnknownToken(path: path, mergeIndex: rank, token: left)
            }
            guard let rightID = vocabulary[right] else {
                throw TokenizerError.mergeReferencesUnknownToken(path: path, mergeIndex: rank, token: right)
            }
            guard let mergedID = vocabulary[left + right] else {
                throw TokenizerError.mergeReferencesUnknownToken(path: path, mergeIndex: rank, token: left + right)
            }
            let key = UInt64(UInt32(leftID)) << 32 | UInt64(UInt32(rightID))
            // A repeated pair keeps its last rank, as in the reference implementation.
            merges[key] = UInt64(rank) << 32 | UInt64(UInt32(mergedID))
        }
    }

    // MARK: - Added tokens

    private mutating func readAddedTokens(_ value: JSONValue?, path: String) throws {
        guard let value, !value.isNull else { return }
        guard let list = value.arrayValue else {
            throw TokenizerError.missingField(path: path, field: "added_tokens")
        }
        for (index, item) in list.enumerated() {
            let field = "added_tokens[\(index)]"
            guard let id = item["id"]?.intValue, id >= 0, id < Int(Int32.max) else {
                throw TokenizerError.missingField(path: path, field: "\(field).id")
            }
            guard let content = item["content"]?.stringValue, !content.isEmpty else {
                throw TokenizerError.missingField(path: path, field: "\(field).content")
            }
            for option in ["lstrip", "rstrip", "single_word"] where item[option]?.boolValue == true {
                throw TokenizerError.unsupportedComponent(path: path, field: "\(field).\(option)", value: "true")
            }
            let special = item["special"]?.boolValue ?? false
            addedTokens.append(AddedToken(id: Int32(id), content: content, isSpecial: special))
            if id >= idToToken.count {
                idToToken.append(contentsOf: [String](repeating: "", count: id + 1 - idToToken.count))
            }
            idToToken[id] = content
        }
    }
}
