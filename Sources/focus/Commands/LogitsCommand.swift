import ArgumentParser
import FocusEngine
import Foundation

/// `focus logits`: the engine's logits for a JSON array of token ids, for checking against
/// other implementations.
struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Print the logits at the requested positions of a token sequence as a JSON array of arrays.")

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "File holding a JSON array of token ids (mask tokens allowed).")
    var ids: String

    @Option(name: .long, help: "Comma-separated positions to print, in that order (default: all).")
    var positions: String?

    func run() throws {
        try withExitCodes {
            let loaded = try model.load()
            guard let data = FileManager.default.contents(atPath: ids) else {
                throw CLIError.badInput("\(ids): file not found")
            }
            guard let array = (try? JSONSerialization.jsonObject(with: data)) as? [NSNumber], !array.isEmpty else {
                throw CLIError.badInput("\(ids): expected a non-empty JSON array of token ids")
            }
            let vocabulary = loaded.configuration.vocabularySize
            let tokens = try array.enumerated().map { index, number -> Int32 in
                let id = number.intValue
                guard id >= 0, id < vocabulary else {
                    throw CLIError.badInput("\(ids): element \(index) is \(id), outside the vocabulary of \(vocabulary)")
                }
                return Int32(id)
            }
            guard tokens.count <= loaded.configuration.maxSequenceLength else {
                throw CLIError.badInput("\(ids): \(tokens.count) tokens exceed the model's maximum of \(loaded.configuration.maxSequenceLength)")
            }
            let rows = try positions.map { list in
                try list.split(separator: ",").map { item -> Int in
                    guard let row = Int(item.trimmingCharacters(in: .whitespaces)), row >= 0, row < tokens.count else {
                        throw CLIError.badInput("--positions: \"\(item)\" is not a position in 0..<\(tokens.count)")
                    }
                    return row
                }
            } ?? Array(0..<tokens.count)
            let logits = loaded.model.forward(
                tokens: tokens, positions: (0..<tokens.count).map(Int32.init), logitRows: rows)
            let out = (0..<rows.count).map { logits.rowArray($0).map(Double.init) }
            print(jsonLine(out))
        }
    }
}
