import FocusDecoding
import FocusModel
import FocusTokenizer
import Foundation

/// Errors raised while opening a model directory for question answering.
public enum EngineError: Error, CustomStringConvertible {
    case model(directory: String, underlying: Error)
    case document(String)
    case store(String)

    public var description: String {
        switch self {
        case .model(let directory, let underlying): return "model \(directory): \(underlying)"
        case .document(let reason): return "document: \(reason)"
        case .store(let reason): return "document store: \(reason)"
        }
    }
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
            let modelType = model.configuration.family == .llada ? "llada" : "Dream"
            template = try chatTemplate(modelType: modelType, tokenizer: tokenizer)
            identity = checkpoint.identity()
            var hasher = FNV1a64()
            hasher.combine((try? Data(contentsOf: tokenizerURL)) ?? Data())
            tokenizerDigest = hasher.hexDigest
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError.model(directory: directory.path, underlying: error)
        }
    }

    public var configuration: ModelConfiguration { model.configuration }

    /// The mode that answers best by default: `stored` where stored document KV is exact
    /// (block-causal models), `focus` for bidirectional ones.
    public var defaultMode: DecodingMode {
        configuration.promptAttention == .blockCausal ? .stored : .focus
    }

    /// Stop tokens of the chat template besides the model's EOS.
    public var stopTokens: [Int32] { template.stopTokenIDs }
}

