import ArgumentParser

/// The `unlearn` command: the root only declares subcommands.
@main
struct Unlearn: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unlearn",
    abstract: "The reference evaluation harness for machine unlearning.",
    version: toolVersion,
    subcommands: [Evaluate.self, Rerun.self, ScoreCommand.self, LeaderboardCommand.self, Train.self, DatasetCommand.self])
}

/// The harness version written into every output.
let toolVersion = "0.1.0"
