import ArgumentParser

/// The `focus` command line.
@main
struct Focus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "focus",
        abstract: "Long-document question answering with diffusion language models on CPUs.",
        subcommands: [
            AnswerCommand.self, EvalCommand.self, PrefillCommand.self, StoreCommand.self,
            TokenizeCommand.self, LogitsCommand.self,
        ])
}
