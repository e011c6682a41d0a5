import Foundation
import TestSupport
import Testing

@testable import Harness
@testable import Reports
@testable import UnlearnKit

/// Verdicts a broken or degenerate submission cannot game: a model with every weight zeroed
/// (an external command) wins no column of the leaderboard, a deterministic method's F is
/// flagged, and a TPR at an FPR finer than the forget set can resolve is not certified.
@Suite(.serialized) struct VerdictTests {
  static let run: (URL, EvaluationReport) = {
    let dir = TestSupport.temporaryDirectory("verdicts")
    let script = dir.appendingPathComponent("zero.py")
    // Copies the original's safetensors header and writes zeros for every weight (float32 0 is all-zero bytes).
    try! Data(
      """
      import os, struct, sys
      work = sys.argv[1]
      data = open(os.path.join(work, "model.safetensors"), "rb").read()
      (n,) = struct.unpack("<Q", data[:8])
      open(os.path.join(work, "unlearned.safetensors"), "wb").write(data[:8 + n] + bytes(len(data) - 8 - n))

      """.utf8
    ).write(to: script)
    let yaml = """
      dataset: {path: \(TestSupport.digitsPath)}
      model: {hidden: [16]}
      training: {epochs: 4}
      evaluation: {models: 4, reference_originals: 2, workers: 2, algorithms: [finetune, influence, zero]}
      algorithms:
        zero: {kind: external, command: [python3, \(script.path)], timeout: 60}

      """
    let spec = try! ExperimentSpec.load(yaml: yaml)
    let out = dir.appendingPathComponent("run")
    let report = try! Evaluation.run(spec, EvaluationOptions(out: out))!
    return (out, report)
  }()

  @Test func aZeroedModel_winsNoColumn_andIsNotRankedOnUtility() throws {
    let (dir, report) = Self.run
    let zero = try #require(report.row(.algorithm("zero")))
    #expect(zero.models == 4)
    #expect(try #require(zero.metrics["test_accuracy"]?.mean) < 0.2)
    var gated = 0
    for column in report.columns {
      let board = try Evaluation.leaderboard([dir], by: column.name, replicates: 2, seed: 0, workers: 2)
      let row = board.rows.first { $0.algorithm == "zero" }
      #expect(row?.rank != 1, "zero ranks first on \(column.name)")
      if column.category != .utility, let row {
        #expect(row.rank == nil && row.notRanked?.hasPrefix("utility:") == true, "\(column.name)")
        #expect(board.markdown.contains("| zero |") && board.markdown.contains("not ranked: utility"))
        gated += 1
      }
    }
    #expect(gated > 20)
  }

  @Test func influenceWithoutNoise_isFlaggedDeterministic() throws {
    let (dir, report) = Self.run
    let f = try #require(report.row(.algorithm("influence"))?.metrics["forgetting_quality"])
    #expect(f.flag?.hasPrefix("F not informative: deterministic outputs") == true, "\(String(describing: f))")
    let json = try String(contentsOf: dir.appendingPathComponent("results.json"), encoding: .utf8)
    #expect(json.contains("F not informative: deterministic outputs"))
    let md = try String(contentsOf: dir.appendingPathComponent("table.md"), encoding: .utf8)
    // (The zeroed model's outputs are constant, so it is flagged too.)
    let line = md.split(separator: "\n").first { $0.hasPrefix("- F of ") && $0.contains("F not informative") }
    #expect(line?.contains("influence") == true, "\(md)")
    // Fine-tuning from one original with different seeds is not deterministic.
    #expect(report.row(.algorithm("finetune"))?.metrics["forgetting_quality"]?.flag == nil)
  }

  @Test func tprAtATenthOfAPercent_isNotCertifiable_with126ForgetExamples() throws {
    let (_, report) = Self.run
    #expect(report.rounds[0].count == 126)
    var checked = 0
    for row in report.rows where row.models > 0 {
      // LiRA's non-members are the forget examples under held-out retrained models: 126 distinct
      // examples however many models; the loss attack's are the test split's examples.
      for (column, distinct) in [("lira_online_tpr_at_0.1pct_fpr", 126), ("loss_tpr_at_0.1pct_fpr", 269)] {
        let v = try #require(row.metrics[column])
        guard v.mean != nil else { continue }
        checked += 1
        #expect(
          v.flag?.hasPrefix("not certifiable: \(distinct) distinct non-member examples") == true,
          "\(row.algorithm) \(column): \(v.flag ?? "no flag")")
      }
    }
    #expect(checked >= 8)
    // The small-N warning is in the notes.
    #expect(report.notes.contains { $0.hasPrefix("Warning: F with 4 models per side") })
  }
}
