import ArgumentParser

/// The `focus` command line.
@main
struct Focus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "focus",
        abstract: "Long-document question answering with diffusion language models on CPUs.",
        subcommands: [
            SubmitCommand.self, RunCommand.self, DaemonCommand.self, StatusCommand.self, ShowCommand.self,
            ResultsCommand.self, MetricsCommand.self, CancelCommand.self, RetryCommand.self,
            AnswerCommand.self, EvalCommand.self, PrefillCommand.self, StoreCommand.self,
            TokenizeCommand.self, LogitsCommand.self, QuantizeCommand.self,
        ])
}
