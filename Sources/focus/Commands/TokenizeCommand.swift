import ArgumentParser
import FocusEngine
import FocusTokenizer
import Foundation

/// `focus tokenize`: text on stdin → token ids as a JSON array.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Print the token ids of the text on standard input as a JSON array.")

    @Option(name: .long, help: "Model directory holding tokenizer.json.")
    var model: String?

    @Option(name: .long, help: "A tokenizer.json file.")
    var tokenizer: String?

    func validate() throws {
        if (model == nil) == (tokenizer == nil) {
            throw ValidationError("give exactly one of --model DIR or --tokenizer FILE")
        }
    }

    func run() throws {
        try withExitCodes {
            let path = tokenizer ?? URL(fileURLWithPath: model!).appendingPathComponent("tokenizer.json").path
            let bpe: BPETokenizer
            do {
                bpe = try BPETokenizer(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw CLIError.badInput("\(error)")
            }
            let input = FileHandle.standardInput.readDataToEndOfFile()
            guard let text = String(data: input, encoding: .utf8) else {
                throw CLIError.badInput("standard input is not valid UTF-8")
            }
            print(jsonLine(bpe.encode(text).map(Int.init)))
        }
    }
}
