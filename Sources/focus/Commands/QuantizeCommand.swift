import ArgumentParser
import FocusModel
import Foundation

/// `focus quantize`: an 8-bit copy of a model folder, loaded by every command like the original.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Write a copy of a model folder with 8-bit linear layers and head (scale per block of 32).")

    @Option(name: .long, help: "Model folder to quantize (config.json and safetensors).")
    var model: String

    @Option(name: .long, help: "Folder to write (must not exist, or be empty).")
    var out: String

    func run() throws {
        try withExitCodes {
            let summary: ModelQuantizer.Summary
            do {
                summary = try ModelQuantizer.quantize(
                    model: URL(fileURLWithPath: model), to: URL(fileURLWithPath: out))
            } catch let error as CheckpointError {
                throw CLIError.badInput("\(error)")
            } catch {
                throw CLIError.io("\(out): \(error)")
            }
            print(
                jsonLine([
                    "quantized_tensors": summary.quantizedTensors, "copied_tensors": summary.copiedTensors,
                    "source_bytes": summary.sourceBytes, "written_bytes": summary.writtenBytes,
                ]))
        }
    }
}
