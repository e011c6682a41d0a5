import ArgumentParser
import Foundation
import Harness
import NumericCore
import Reports
import UnlearnKit

/// `unlearn leaderboard RUN...`: ranks algorithms across finished runs.
struct LeaderboardCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "leaderboard",
    abstract: "Rank algorithms across one or many runs, with bootstrap intervals over seeds.",
    discussion:
      "Writes leaderboard.md, .csv, .tex and .html into --out (default: the current folder) and prints the "
      + "Markdown table."
  )

  @Argument(help: ArgumentHelp("Run folders written by unlearn evaluate.", valueName: "run"))
  var runs: [String]

  @Option(help: ArgumentHelp("The column to rank by (any column name of results.json).", valueName: "column"))
  var by: String = "challenge_score"

  @Option(help: ArgumentHelp("Output folder.", valueName: "dir"))
  var out: String = "."

  /// More replicates than this cost minutes and change no reported digit.
  static let maximumBootstrap = 100_000

  @Option(help: "Bootstrap replicates (at most 100000).")
  var bootstrap: Int = 100

  @Option(help: "Seed of the bootstrap.")
  var seed: UInt64 = 0

  @Option(
    help: ArgumentHelp(
      "Accuracy points (0–100) an algorithm's retain or test accuracy may fall below its reference's and still be "
        + "ranked on a forgetting, cost or composite column; below that it is listed as not ranked.",
      valueName: "points"))
  var utilityTolerance: Double = 100 * Leaderboard.defaultUtilityTolerance

  func validate() throws {
    guard !runs.isEmpty else { throw ValidationError("give at least one run folder") }
    guard (1...Self.maximumBootstrap).contains(bootstrap) else {
      throw ValidationError("--bootstrap must be between 1 and \(Self.maximumBootstrap), got \(bootstrap)")
    }
    guard utilityTolerance.isFinite, (0...100).contains(utilityTolerance) else {
      throw ValidationError("--utility-tolerance must be between 0 and 100 accuracy points")
    }
  }

  func run() throws {
    try reportingErrors {
      let board = try Evaluation.leaderboard(
        runs.map { URL(fileURLWithPath: $0) }, by: by, replicates: bootstrap, seed: seed,
        utilityTolerance: utilityTolerance / 100)
      try board.write(to: URL(fileURLWithPath: out))
      print(board.markdown, terminator: "")
    }
  }
}
