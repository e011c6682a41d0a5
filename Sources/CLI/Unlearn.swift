import ArgumentParser
import Foundation
import Harness

/// The `unlearn` command: the root only declares subcommands.
struct Unlearn: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unlearn",
    abstract: "The reference evaluation harness for machine unlearning.",
    version: toolVersion,
    subcommands: [
      Evaluate.self, Merge.self, Rerun.self, ScoreCommand.self, LeaderboardCommand.self, Train.self,
      DatasetCommand.self,
    ])
}

/// The harness version written into every output.
let toolVersion = "0.1.0"

/// The `unlearn` command line as a library, so that a participant's package can run
/// every `unlearn` command with its own algorithms registered, without forking the harness:
///
/// ```swift
/// // Sources/my-unlearn/main.swift, in a package depending on this one
/// import UnlearnCLI
/// UnlearnCLI.main(registering: [
///   .init(name: "my-method") { config, experiment in try MyMethod(config) }
/// ])
/// ```
/// `my-unlearn evaluate --algorithms my-method,finetune` then evaluates it next to the baselines,
/// with the same outputs, tables, manifests and replays as `unlearn`.
public enum UnlearnCLI {
  /// One algorithm a participant registers: its configuration name and how to build it
  /// from its configuration section (`algorithms.<name>`, read strictly: call
  /// `config.finish()` after reading your keys) and the experiment.
  public struct Registration: Sendable {
    public var name: String
    public var make: @Sendable (ConfigReader, ExperimentSpec) throws -> any UnlearningAlgorithm

    public init(
      name: String, make: @escaping @Sendable (ConfigReader, ExperimentSpec) throws -> any UnlearningAlgorithm
    ) {
      self.name = name
      self.make = make
    }
  }

  /// The harness version written into every output.
  public static var version: String { toolVersion }

  /// Registers `algorithms` next to the built-in ones (for ``main(registering:arguments:)``
  /// or tests). A name that is already taken is a programming error.
  public static func register(_ algorithms: [Registration]) {
    Registry.extra.withLock { extra in
      for a in algorithms {
        precondition(
          !Registry.algorithms.contains { $0.name == a.name } && !extra.contains { $0.name == a.name },
          "UnlearnCLI.register: an algorithm named \(a.name) is already registered")
        extra.append((a.name, a.make))
      }
    }
  }

  /// Parses `arguments` (default: the process's) and runs the `unlearn` command with
  /// `algorithms` registered; exits the process when done.
  public static func main(registering algorithms: [Registration] = [], arguments: [String]? = nil) -> Never {
    register(algorithms)
    Unlearn.main(arguments)
    exit(0)
  }
}
