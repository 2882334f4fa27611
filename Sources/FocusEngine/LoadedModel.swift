import FocusDecoding
import FocusHashing
import FocusModel
import FocusTokenizer
import Foundation

/// Errors raised while opening a model directory for question answering.
public enum EngineError: Error, CustomStringConvertible {
    case model(directory: String, underlying: Error)
    case document(String)
    case store(String)
    /// The tokenizer and the config disagree (inside `model`).
    case mismatch(String)

    public var description: String {
        switch self {
        case .model(let directory, let underlying): return "model \(directory): \(underlying)"
        case .document(let reason): return "document: \(reason)"
        case .store(let reason): return "document store: \(reason)"
        case .mismatch(let reason): return reason
        }
    }
}

extension ModelConfiguration {
    /// `stored` where stored document KV is exact (block-causal models), `focus` for
    /// bidirectional ones.
    public var defaultDecodingMode: DecodingMode { promptAttention == .blockCausal ? .stored : .focus }

    /// Block-causal models never need their document KV recomputed; bidirectional ones refresh
    /// everything at each block, as Fast-dLLM does.
    public var defaultCacheRefresh: CacheRefresh { promptAttention == .blockCausal ? .afterDocument : .full }

    /// Focus's dense layers: the model's `focus_dense_layers` when its config declares one, else
    /// the decoder's default.
    public var defaultDenseLayers: Int { focusDenseLayers ?? FocusParameters().denseLayers }
}

/// A model directory opened for question answering: weights, tokenizer, chat template, and the
/// digests that identify them in document-store keys.
public final class LoadedModel: @unchecked Sendable {
    public let directory: URL
    public let model: TransformerModel
    public let tokenizer: BPETokenizer
    public let template: ChatTemplate
    /// Digest of the config and weights.
    public let identity: String
    /// Digest of `tokenizer.json`.
    public let tokenizerDigest: String

    /// Opens `directory`; any problem is an `EngineError.model` naming the directory and file.
    public init(directory: URL, residency: WeightResidency = .automatic) throws {
        self.directory = directory
        do {
            let checkpoint = try Checkpoint(directory: directory)
            model = try TransformerModel(checkpoint: checkpoint, residency: residency)
            let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
            tokenizer = try BPETokenizer(contentsOf: tokenizerURL)
            template = try chatTemplate(modelType: model.configuration.family.architecture.chatTemplateName, tokenizer: tokenizer)
            identity = try Self.digest(of: [directory.appendingPathComponent("config.json")] + checkpoint.shardFiles)
            tokenizerDigest = try Self.digest(of: [tokenizerURL])
            try Self.checkFit(tokenizer: tokenizer, template: template, configuration: model.configuration)
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError.model(directory: directory.path, underlying: error)
        }
    }

    public var configuration: ModelConfiguration { model.configuration }

    /// XXH64 of every byte of `files`, in order: any change to the config or any weight is a
    /// different model to the document store. Files are memory-mapped, not read into memory.
    static func digest(of files: [URL]) throws -> String {
        var combined = Data()
        for file in files {
            let data = try Data(contentsOf: file, options: .alwaysMapped)
            let hash = data.withUnsafeBytes { XXH64.hash($0) }
            withUnsafeBytes(of: hash.littleEndian) { combined.append(contentsOf: $0) }
        }
        return combined.withUnsafeBytes { XXH64.hexString(XXH64.hash($0)) }
    }

    /// The tokenizer must produce ids the model has, and agree on its special tokens.
    static func checkFit(tokenizer: BPETokenizer, template: ChatTemplate, configuration c: ModelConfiguration) throws {
        if tokenizer.vocabularySize > c.vocabularySize {
            throw EngineError.mismatch(
                "tokenizer.json has \(tokenizer.vocabularySize) tokens, more than the model's vocabulary of \(c.vocabularySize) (config.json vocab_size)")
        }
        if template.maskTokenID != c.maskTokenID {
            throw EngineError.mismatch(
                "tokenizer.json's mask token is id \(template.maskTokenID), config.json mask_token_id is \(c.maskTokenID)")
        }
        if let eos = c.eosTokenID, !template.stopTokenIDs.contains(eos) {
            throw EngineError.mismatch(
                "config.json eos_token_id \(eos) is not an end token of tokenizer.json (\(template.stopTokenIDs))")
        }
    }

    /// Validates a model directory as loading would — config, every weight header and shape,
    /// tokenizer, and their fit — without widening or hashing the weights; for callers that
    /// only queue work for the model, such as `focus submit`.
    public static func check(directory: URL) throws -> ModelConfiguration {
        do {
            let checkpoint = try Checkpoint(directory: directory)
            let tokenizer = try BPETokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json"))
            let configuration = checkpoint.configuration
            let template = try chatTemplate(modelType: configuration.family.architecture.chatTemplateName, tokenizer: tokenizer)
            try checkFit(tokenizer: tokenizer, template: template, configuration: configuration)
            return configuration
        } catch {
            throw EngineError.model(directory: directory.path, underlying: error)
        }
    }

    /// Stop tokens of the chat template besides the model's EOS.
    public var stopTokens: [Int32] { template.stopTokenIDs }
}

