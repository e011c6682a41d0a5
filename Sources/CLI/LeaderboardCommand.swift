import ArgumentParser
import Foundation
import Harness
import NumericCore

/// `unlearn leaderboard RUN...`: ranks algorithms across finished runs.
struct LeaderboardCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "leaderboard",
    abstract: "Rank algorithms across one or many runs, with bootstrap intervals over seeds.",
    discussion:
      "Writes leaderboard.md, .csv, .tex and .html into --out (default: the current folder) and prints the Markdown table."
  )

  @Argument(help: ArgumentHelp("Run folders written by unlearn evaluate.", valueName: "run"))
  var runs: [String]

  @Option(help: ArgumentHelp("The metric to rank by (a column name of results.json).", valueName: "metric"))
  var by: String = "challenge_score"

  @Option(help: ArgumentHelp("Output folder.", valueName: "dir"))
  var out: String = "."

  @Option(help: "Bootstrap replicates.")
  var bootstrap: Int = 100

  @Option(help: "Seed of the bootstrap.")
  var seed: UInt64 = 0

  func validate() throws {
    guard !runs.isEmpty else { throw ValidationError("give at least one run folder") }
    guard bootstrap >= 1 else { throw ValidationError("--bootstrap must be at least 1") }
  }

  func run() throws {
    try reportingErrors {
      guard let metric = Registry.metrics.first(where: { $0.columns.contains { $0.name == by } }) else {
        throw HarnessError(
          "--by \(by)",
          "unknown metric; known: \(Registry.metrics.flatMap { $0.columns.map(\.name) }.joined(separator: ", "))")
      }
      let data = try runs.map { try Leaderboard.load(URL(fileURLWithPath: $0)) }
      let board = try Leaderboard.make(
        runs: data, metric: metric, column: by, replicates: bootstrap, seed: seed, workers: WorkerPool.availableCores)
      let dir = URL(fileURLWithPath: out)
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      try writeAtomically(Data(board.markdown.utf8), to: dir.appendingPathComponent("leaderboard.md"))
      try writeAtomically(Data(board.csv.utf8), to: dir.appendingPathComponent("leaderboard.csv"))
      try writeAtomically(Data(board.latex.utf8), to: dir.appendingPathComponent("leaderboard.tex"))
      try writeAtomically(Data(board.html.utf8), to: dir.appendingPathComponent("leaderboard.html"))
      print(board.markdown, terminator: "")
    }
  }
}
