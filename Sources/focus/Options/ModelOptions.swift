import ArgumentParser
import FocusDecoding
import FocusEngine
import FocusStore
import Foundation

/// `--model DIR`: the model directory (Hugging Face layout), defaulting to the embedded model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json, safetensors, tokenizer.json). Default: $FOCUS_MODEL or models/focus-qa-small.")
    var model: String?

    /// The directory to load.
    var directory: URL {
        URL(fileURLWithPath: model ?? ProcessInfo.processInfo.environment["FOCUS_MODEL"] ?? "models/focus-qa-small")
    }

    func load() throws -> LoadedModel {
        do {
            return try LoadedModel(directory: directory)
        } catch {
            throw CLIError.badInput("\(error)")
        }
    }
}

/// `--store DIR` and the number format of stored KV.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Document store directory. Default: $FOCUS_STORE or .focus/store.")
    var store: String?

    @Option(name: .long, help: "Number format of stored KV: f32, f16 or int8.")
    var format: KVNumberFormat = .f16

    @Option(name: .long, help: "Prefill mode: whole, or chunked (Prefilling-dLLM, with --chunk-size).")
    var prefillMode: PrefillKind = .whole

    @Option(name: .long, help: "Tokens per chunk in chunked prefill.")
    var chunkSize = 1024

    @Option(name: .long, help: "Positions in chunked prefill: continuous, or local (every chunk from 0; documents longer than the model's context fit).")
    var chunkPositions: ChunkPositions = .continuous

    @Option(name: .long, help: "Disk budget of the store in bytes (least recently used entries are evicted).")
    var storeBudget: Int64?

    var directory: URL {
        URL(fileURLWithPath: store ?? ProcessInfo.processInfo.environment["FOCUS_STORE"] ?? ".focus/store")
    }

    func validate() throws {
        if let storeBudget, storeBudget < 0 { throw ValidationError("--store-budget must not be negative, got \(storeBudget)") }
        do {
            try prefill.validate()
        } catch let error as DecodingError {
            throw ValidationError(DecodingOptions.flagMessage(error))
        }
    }

    /// Opens (creating when missing) the store; see `directoryMode(databasePath:)` for the mode of
    /// the folders it creates.
    func open(databasePath: String = QueueOptions.defaultPath) throws -> DocumentStore {
        do {
            return try DocumentStore(
                directory: directory, budgetBytes: storeBudget, directoryMode: Self.directoryMode(databasePath: databasePath))
        } catch {
            throw CLIError.io("\(error)")
        }
    }

    /// The mode of new store folders: 0700 when the folder holding the queue database is private
    /// (no access for group or others), else 0755; never more open, whatever the umask.
    static func directoryMode(databasePath: String) -> mode_t {
        var info = stat()
        let folder = URL(fileURLWithPath: databasePath).deletingLastPathComponent().path
        guard stat(folder, &info) == 0 else { return 0o755 }
        return info.st_mode & 0o077 == 0 ? 0o700 : 0o755
    }

    /// How documents are prefilled and stored, as the flags say.
    var prefill: PrefillSettings {
        PrefillSettings(format: format, kind: prefillMode, chunkSize: chunkSize, chunkPositions: chunkPositions)
    }
}

extension KVNumberFormat: ExpressibleByArgument {}
extension ChunkPositions: ExpressibleByArgument {}
extension PrefillKind: ExpressibleByArgument {}
extension DecodingMode: ExpressibleByArgument {}
extension CacheRefresh: ExpressibleByArgument {}
extension BlockScoring: ExpressibleByArgument {}
