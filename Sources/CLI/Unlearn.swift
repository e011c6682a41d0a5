import ArgumentParser
import Foundation
import Harness
import UnlearnKit

/// The `unlearn` command: the root only declares subcommands.
struct Unlearn: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unlearn",
    abstract: "The reference evaluation harness for machine unlearning.",
    version: toolVersion,
    subcommands: [
      Evaluate.self, Merge.self, Rerun.self, Import.self, ScoreCommand.self, LeaderboardCommand.self, Train.self,
      DatasetCommand.self, ConfigCommand.self,
    ])
}

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

  /// Registers `algorithms` and `metrics` next to the built-in ones (for
  /// ``main(registering:metrics:arguments:)`` or tests). A name that is already taken is a
  /// programming error.
  public static func register(_ algorithms: [Registration], metrics: [any Metric] = []) {
    do { try Registry.register(algorithms: algorithms.map { ($0.name, $0.make) }, metrics: metrics) } catch {
      preconditionFailure("UnlearnCLI.register: \(error)")
    }
  }

  /// Parses `arguments` (default: the process's) and runs the `unlearn` command with
  /// `algorithms` registered; exits the process when done.
  public static func main(
    registering algorithms: [Registration] = [], metrics: [any Metric] = [], arguments: [String]? = nil
  ) -> Never {
    register(algorithms, metrics: metrics)
    // A file-size limit (ulimit -f) makes writes fail with EFBIG, reported like a full disk,
    // instead of killing the process; a closed pipe fails the write instead of killing it silently.
    signal(SIGXFSZ, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
    Unlearn.main(arguments)
    exit(0)
  }
}
