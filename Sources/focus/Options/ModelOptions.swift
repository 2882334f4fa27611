import ArgumentParser
import FocusEngine
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
    var prefillMode: String = "whole"

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
        guard ["whole", "chunked"].contains(prefillMode) else {
            throw ValidationError("--prefill-mode must be whole or chunked, not \(prefillMode)")
        }
        guard chunkSize > 0 else { throw ValidationError("--chunk-size must be positive") }
    }

    func open() throws -> DocumentStore {
        do {
            return try DocumentStore(directory: directory, budgetBytes: storeBudget)
        } catch {
            throw CLIError.io("\(error)")
        }
    }

    func prefillOptions(blockSize: Int) -> PrefillOptions {
        var options = PrefillOptions()
        options.numberFormat = format
        options.mode = prefillMode == "chunked" ? .chunked(size: chunkSize) : .whole
        options.chunkPositions = chunkPositions
        options.blockSize = blockSize
        return options
    }
}

extension KVNumberFormat: ExpressibleByArgument {}
extension ChunkPositions: ExpressibleByArgument {}
extension DecodingMode: ExpressibleByArgument {}
extension CacheRefresh: ExpressibleByArgument {}
extension BlockScoring: ExpressibleByArgument {}
