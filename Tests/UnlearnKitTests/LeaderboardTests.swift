import Foundation
import TestSupport
import Testing

@testable import Harness
@testable import Reports
@testable import UnlearnKit

@Suite(.serialized) struct LeaderboardTests {
  /// Every column of results.json ranks, and the leaderboard's value of every algorithm is
  /// the value results.json has (recomputed from the stored outputs with the run's own seeds).
  @Test(arguments: ["single", "sequential"])
  func everyColumnOfResults_ranks_withTheValuesOfResults(_ which: String) throws {
    let (dir, report) = which == "single" ? Runs.single : Runs.sequential
    var ranked = Set<String>()
    for column in report.columns.map(\.name) {
      // Every algorithm ranked, whatever its utility (the gate has its own test).
      let board = try Evaluation.leaderboard(
        [dir], by: column, replicates: 2, seed: 0, workers: 2, utilityTolerance: 1)
      for row in report.rows(round: 1) {
        let expected = row.metrics[column]?.mean
        let got = board.rows.first { $0.algorithm == row.algorithm }
        guard let expected, expected.isFinite else {
          #expect(got == nil, "\(column) \(row.algorithm): \(String(describing: got?.value))")
          continue
        }
        let value = try #require(got?.value, "\(column) \(row.algorithm)")
        #expect(value == expected, "\(column) \(row.algorithm): \(value) vs \(expected)")
        if got?.rank != nil { ranked.insert(column) }
      }
    }
    let required =
      which == "single"
      ? ["challenge_score", "speedup", "weight_distance", "ulira_auc", "ulira_tpr_at_1pct_fpr", "kit_mia"]
      : ["timing_leak", "total_work_redone", "total_speedup", "forgetting_quality"]
    for c in required { #expect(ranked.contains(c), "\(c) ranks no algorithm") }
  }

  /// An algorithm whose job 0000 failed is ranked on its other models, and the table says so.
  @Test func anAlgorithmWithAFailedJob_isRankedOnTheOthers() throws {
    let (dir, _) = Runs.single
    let board = try Evaluation.leaderboard([dir], by: "forget_accuracy", replicates: 5, seed: 1, workers: 2)
    let failing = try #require(board.rows.first { $0.algorithm == "fails-first" })
    #expect(failing.rank != nil && failing.models == 3 && failing.requested == 4)
    #expect(board.markdown.contains("| fails-first | 3 (1 failed) |"), "\(board.markdown)")
    // Closest to the reference: the ranking follows |forget accuracy − reference's| in units of the
    // reference's spread (SISA's reference is its own; the others' is retrain).
    func value(_ name: String) throws -> Double { try #require(board.rows.first { $0.algorithm == name }).value }
    func spread(_ name: String) throws -> Double {
      let s = try #require(Runs.single.1.row(Role(rowName: name))?.metrics["forget_accuracy"]?.std)
      return s > 0 ? s : 1
    }
    func distance(_ r: Leaderboard.Row) throws -> Double {
      let reference = r.algorithm == "sisa" ? "sisa (reference)" : "retrain"
      return abs(r.value - (try value(reference))) / (try spread(reference))
    }
    let ranked = board.rows.filter { $0.rank != nil }.sorted { $0.rank! < $1.rank! }
    #expect(
      ranked.map(\.algorithm).sorted()
        == ["fails-first", "finetune", "sisa"].filter { name in
          !board.rows.contains { $0.algorithm == name && $0.notRanked != nil }
        })
    for (a, b) in zip(ranked, ranked.dropFirst()) { #expect(try distance(a) <= distance(b)) }
    #expect(board.rows.first { $0.algorithm == "retrain" }?.rank == nil)
  }

  @Test func anUnknownColumn_namesTheKnownOnes() {
    #expect { try Evaluation.leaderboard([Runs.single.0], by: "nope", replicates: 1, seed: 0) } throws: {
      "\($0)".contains("unknown column") && "\($0)".contains("challenge_score")
    }
  }
}
