import Foundation
import Networks
import NumericCore
import TestSupport
import Testing

@testable import Attacks
@testable import Harness
@testable import Reports
@testable import UnlearnKit

/// Runs of the pipeline shared by the tests of this target (each made once).
enum Runs {
  /// An algorithm whose first job always fails (registered once for the process).
  static let registered: Void = {
    try? Registry.register(algorithms: [("fails-first", { _, _ in Fake.Failing(name: "fails-first", failing: [0]) })])
  }()

  static func spec(models: Int = 4, algorithms: [String] = ["finetune", "gradient-ascent"]) -> ExperimentSpec {
    var s = TestSupport.quickSpec(models: models, referenceOriginals: 2)
    s.evaluation.algorithms = algorithms
    s.evaluation.workers = 2
    return s
  }

  /// Evaluates `spec` into a fresh folder.
  static func evaluate(_ spec: ExperimentSpec, _ name: String, metrics: [any Metric] = Registry.metrics) throws
    -> (URL, EvaluationReport)
  {
    _ = registered
    let dir = TestSupport.temporaryDirectory(name)
    let report = try Evaluation.run(spec, EvaluationOptions(out: dir, metrics: metrics))
    return (dir, try #require(report))
  }

  /// One round, U-LiRA shadows, an algorithm whose job 0000 failed.
  static let single: (URL, EvaluationReport) = {
    var s = spec(algorithms: ["finetune", "fails-first", "sisa"])
    s.evaluation.uliraShadows = 4
    return try! evaluate(s, "single")
  }()

  /// Three deletion rounds.
  static let sequential: (URL, EvaluationReport) = {
    var s = spec(models: 2, algorithms: ["sisa", "finetune"])
    s.split.forget.fraction = 0.002  // 3 examples a round
    s.evaluation.rounds = 3
    return try! evaluate(s, "sequential")
  }()
}

@Suite(.serialized) struct PipelineTests {
  @Test func everyRowIsScored_andTheReportsAreWritten() throws {
    let (dir, report) = Runs.single
    #expect(
      report.rows.map(\.algorithm) == [
        "original", "sisa (original)", "retrain", "original-seeds", "sisa (reference)", "finetune", "fails-first",
        "sisa",
      ])
    for row in report.rows where row.models > 0 {
      for c in [
        "retain_accuracy", "forget_accuracy", "test_accuracy", "kit_mia", "forgetting_quality", "challenge_score",
        "mia_efficacy", "sm_modified_entropy", "loss_auc", "lira_online_auc", "rmia_offline_auc", "js_forget",
        "avg_gap",
      ] {
        #expect(row.metrics[c]?.mean != nil, "\(row.algorithm) \(c): \(row.metrics[c]?.note ?? "")")
      }
    }
    // Weight distance: 1 for the original by definition, measured for single networks,
    // not meaningful for models from other initialisations.
    #expect(report.row(.original)?.metrics["weight_distance"]?.mean == 1)
    let ft = try #require(report.row(.algorithm("finetune"))?.metrics["weight_distance"]?.mean)
    #expect(ft.isFinite && ft > 0)
    #expect(report.row(.retrain)?.metrics["weight_distance"]?.mean == nil)
    #expect(report.row(.algorithm("sisa"))?.metrics["weight_distance"]?.note?.contains("ensembles") == true)
    // The original is one model, scored as N identical copies: every ε hits the peaky guard, and
    // it is not flagged (it is not an unlearned population).
    #expect(report.row(.original)?.metrics["forgetting_quality"]?.mean == 0)
    #expect(report.row(.original)?.metrics["forgetting_quality"]?.perExample?.allSatisfy { $0 == 50 } == true)
    #expect(report.row(.original)?.metrics["forgetting_quality"]?.flag == nil)
    // SISA is exact: it has its own reference (N ensembles trained from scratch on retain with
    // the same shards and slices), and its comparisons are read against it.
    let sisaReference = try #require(report.row(.ownReference("sisa")))
    #expect(sisaReference.models == 4 && sisaReference.kind == .exact)
    #expect(sisaReference.metrics["forgetting_quality"]?.note?.contains("the noise floor") == true)
    #expect(
      report.row(.algorithm("sisa"))?.metrics["forgetting_quality"]?.note?.contains("against sisa (reference)") == true)
    #expect(report.row(.algorithm("finetune"))?.metrics["forgetting_quality"]?.note?.contains("against") == false)
    // Forgetting columns say whether they separate the original from the retrain floor.
    let power = try #require(report.power)
    #expect(power.contains { $0.column == "forgetting_quality" && $0.round == 1 })
    #expect(!power.contains { $0.column == "retain_accuracy" })
    // U-LiRA for the approximate algorithms that finished all their shadow runs.
    #expect(report.row(.algorithm("finetune"))?.metrics["ulira_auc"]?.mean != nil)
    #expect(report.row(.algorithm("sisa"))?.metrics["ulira_auc"]?.mean == nil)
    // Accuracy means agree with the stored logits.
    let store = RunStore(dir)
    let retrain = try store.population(
      PopulationEntry(role: .retrain, kind: .exact, requested: 4), round: 0, request: LoadRequest(splits: [.test]))
    let accs = try retrain.accuracies(.test, labels: try #require(try store.labels(round: 0).test))
    #expect(report.row(.retrain)?.metrics["test_accuracy"]?.mean == accs.reduce(0, +) / 4)
    #expect(report.row(.retrain)?.metrics["speedup"]?.mean == 1)
    // The failed job: a row of 3 models that says 1 failed, with the reason.
    let failing = try #require(report.row(.algorithm("fails-first")))
    #expect(failing.models == 3 && failing.requested == 4 && failing.countText == "3 (1 failed)")
    #expect(failing.failures.first?.reason.contains("failed on purpose") == true)
    #expect(report.markdown.contains("| fails-first | approximate | 3 (1 failed) |"))
    // Every report file, and the plots as PNG files and inline SVG.
    let md = try String(contentsOf: dir.appendingPathComponent("table.md"), encoding: .utf8)
    #expect(md.contains("| retrain | exact | 4 |") && md.contains("| finetune | approximate | 4 |"))
    let csv = try String(contentsOf: dir.appendingPathComponent("table.csv"), encoding: .utf8)
    #expect(csv.hasPrefix("algorithm,round,kind,models,failed,retain_accuracy_mean"))
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("results.json")))
        as? [String: Any])
    #expect(json["schema"] as? String == "unlearn.results" && json["schema_version"] as? Int == 1)
    let tex = try String(contentsOf: dir.appendingPathComponent("table.tex"), encoding: .utf8)
    #expect(tex.contains("\\begin{tabular}") && tex.contains("finetune & approximate & 4"))
    let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
    #expect(html.contains("<svg") && html.contains("ROC, LiRA online") && html.contains("Per-example ε"))
    let plots = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("plots").path)
    #expect(plots.contains("roc-lira_online_auc.png") && plots.contains("forgetting_quality-finetune.png"))
    #expect(plots.count == html.components(separatedBy: "<svg").count - 1)
    for p in plots.prefix(3) {
      let image = try PNGImage.decode(Data(contentsOf: dir.appendingPathComponent("plots/\(p)")), name: p)
      #expect(image.width == 2 * Int(Plot.width) && image.channels == 3)
    }
  }

  @Test func sequentialRounds_showSISASavings_inTheTableOverAllRounds() throws {
    let (_, report) = Runs.sequential
    #expect(report.rows.filter { $0.algorithm == "finetune" }.map(\.round) == [1, 2, 3])
    // SISA retrains only the shards a small batch touches: less than one full retraining per round.
    let sisa = try #require(report.row(.algorithm("sisa"))?.metrics["total_work_redone"]?.mean)
    #expect(sisa < 3 * 0.9 && report.row(.retrain)?.metrics["total_work_redone"]?.mean == 3)
    #expect(report.markdown.contains("### Over all 3 rounds"))
    #expect(report.row(.algorithm("sisa"))?.metrics["timing_leak"]?.mean != nil)
  }

  /// A new metric is one file and one registration line: its column reaches results.json,
  /// every table, the HTML page and the leaderboard, with no other file changed.
  @Test func aNewMetric_reachesEveryReport() throws {
    let metrics = Registry.metrics + [MedianForgetLoss()]
    let (dir, report) = try Runs.evaluate(
      Runs.spec(models: 3, algorithms: ["finetune"]), "new-metric", metrics: metrics)
    let value = try #require(report.row(.algorithm("finetune"))?.metrics["median_forget_loss"]?.mean)
    let json = try String(contentsOf: dir.appendingPathComponent("results.json"), encoding: .utf8)
    #expect(json.contains("\"median_forget_loss\""))
    let md = try String(contentsOf: dir.appendingPathComponent("table.md"), encoding: .utf8)
    #expect(md.contains("median forget loss ≈R") && md.contains(String(format: "%.4f", value)))
    let csv = try String(contentsOf: dir.appendingPathComponent("table.csv"), encoding: .utf8)
    #expect(csv.contains("median_forget_loss_mean"))
    let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
    #expect(html.contains("median forget loss") && html.contains("a test of the registry"))
    let board = try Evaluation.leaderboard([dir], by: "median_forget_loss", metrics: metrics, replicates: 3, seed: 0)
    #expect(board.rows.first { $0.algorithm == "finetune" }?.value == value)
    #expect(board.markdown.contains("median forget loss"))
  }

  @Test func theLibrary_replaysARun_andCatchesTampering() throws {
    let (dir, _) = try Runs.evaluate(Runs.spec(models: 2, algorithms: ["sisa"]), "replay")
    let replay = try Evaluation.replay(
      dir, EvaluationOptions(out: TestSupport.temporaryDirectory("again").appendingPathComponent("run")))
    #expect(!replay.isEmpty && replay.allSatisfy { $0.status == "identical" })
    let logits = dir.appendingPathComponent("jobs/sisa/0001/logits.npz")
    var bytes = try Data(contentsOf: logits)
    bytes[bytes.count / 2] ^= 1  // inside an array's data
    try bytes.write(to: logits)
    let tampered = try Evaluation.replay(
      dir, EvaluationOptions(out: TestSupport.temporaryDirectory("again2").appendingPathComponent("run")))
    #expect(tampered.contains { $0.file == "jobs/sisa/0001/logits.npz" && $0.status.contains("differs") })
  }
}
