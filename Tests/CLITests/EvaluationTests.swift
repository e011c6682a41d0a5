import Foundation
import Networks
import NumericCore
import TestSupport
import Testing

@testable import Attacks
@testable import Harness
@testable import UnlearnCLI

/// A quick evaluation: digits, MLP 64-16-10, 4 epochs, 3 models of each algorithm.
enum QuickRun {
  static var spec: ExperimentSpec {
    var s = ExperimentSpec()
    s.dataset.path = TestSupport.digitsPath
    s.model = ModelSpec(architecture: .mlp, hidden: [16])
    s.training.epochs = 4
    s.evaluation.models = 3
    s.evaluation.referenceOriginals = 2
    return s
  }

  static func runner(_ spec: ExperimentSpec = spec, workers: Int, dir: URL) throws -> EvaluationRunner {
    let algos = try ["retrain", "finetune", "gradient-ascent"].map {
      try Registry.algorithm($0, spec: spec, file: "test")
    }
    return EvaluationRunner(
      experiment: try PreparedExperiment(spec: spec), algorithms: algos, models: spec.evaluation.models,
      workers: workers,
      folder: RunFolder(dir), referenceOriginals: spec.evaluation.referenceOriginals)
  }

  /// Every `.npy` and `.safetensors` file under `dir`, by relative path.
  static func outputs(_ dir: URL) throws -> [String: Data] {
    var out = [String: Data]()
    let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)!
    for case let url as URL in e where ["npy", "safetensors"].contains(url.pathExtension) {
      out[String(url.path.dropFirst(dir.path.count))] = try Data(contentsOf: url)
    }
    return out
  }
}

@Suite(.serialized) struct RunnerTests {
  @Test func oneAndTwoWorkers_writeIdenticalBytes() throws {
    let a = TestSupport.temporaryDirectory("w1"), b = TestSupport.temporaryDirectory("w2")
    let ra = try QuickRun.runner(workers: 1, dir: a).run()
    _ = try QuickRun.runner(workers: 2, dir: b).run()
    let oa = try QuickRun.outputs(a), ob = try QuickRun.outputs(b)
    // labels, original weights and logits; 9 jobs + 2 original-seeds, 4 splits each
    #expect(oa.count == 4 + 1 + 4 + (3 * 3 + 2) * 4)
    #expect(oa == ob)
    #expect(ra.failures.isEmpty && ra.jobsRun == 11)
    #expect(
      ra.populations[0].map(\.algorithm) == ["original", "retrain", "original-seeds", "finetune", "gradient-ascent"])
  }

  @Test func aRestartedRun_recomputesOnlyUnfinishedJobs_andEndsWithTheSameBytes() throws {
    let whole = TestSupport.temporaryDirectory("whole"), broken = TestSupport.temporaryDirectory("broken")
    _ = try QuickRun.runner(workers: 2, dir: whole).run()
    _ = try QuickRun.runner(workers: 2, dir: broken).run()
    // Simulate a kill: one job lost its marker after writing some logits, one
    // was cut off mid-file, one never started.
    let f = RunFolder(broken), fm = FileManager.default
    try fm.removeItem(at: f.job("finetune", 1).appendingPathComponent("job.json"))
    try fm.removeItem(at: f.job("retrain", 2).appendingPathComponent("job.json"))
    try Data([0x93, 0x4e]).write(to: f.job("retrain", 2).appendingPathComponent("test.npy"))
    try fm.removeItem(at: f.job("gradient-ascent", 0))
    let again = try QuickRun.runner(workers: 2, dir: broken).run()
    #expect(again.jobsRun == 3 && again.jobsSkipped == 8)
    #expect(try QuickRun.outputs(whole) == QuickRun.outputs(broken))
  }

  @Test func aFolderOfAnotherExperiment_isRefused() throws {
    let dir = TestSupport.temporaryDirectory("other")
    _ = try QuickRun.runner(workers: 2, dir: dir).run()
    var other = QuickRun.spec
    other.seed = 5
    #expect(throws: HarnessError.self) { try QuickRun.runner(other, workers: 2, dir: dir).run() }
    var changed = QuickRun.spec
    changed.algorithms = ["finetune": HyperParameters(["epochs": .int(1)])]
    do {
      _ = try QuickRun.runner(changed, workers: 2, dir: dir).run()
      Issue.record("changed hyper-parameters were accepted")
    } catch {
      #expect("\(error)".contains("finetune ran here with other hyper-parameters"), "\(error)")
    }
    // More models later reuse the finished ones.
    var more = QuickRun.spec
    more.evaluation.models = 4
    let r = try QuickRun.runner(more, workers: 2, dir: dir).run()
    #expect(r.jobsRun == 3 && r.jobsSkipped == 11)
  }

  @Test func report_scoresEveryRow_andWritesTheTables() throws {
    let dir = TestSupport.temporaryDirectory("report")
    var spec = QuickRun.spec
    spec.evaluation.models = 4
    let runner = try QuickRun.runner(spec, workers: 2, dir: dir)
    let outcome = try runner.run()
    let report = try EvaluationReport.make(
      outcome: outcome, runner: runner, metrics: Registry.metrics, toolVersion: "test")
    try report.write(to: dir)
    #expect(report.rows.map(\.algorithm) == ["original", "retrain", "original-seeds", "finetune", "gradient-ascent"])
    for row in report.rows {
      for c in [
        "retain_accuracy", "forget_accuracy", "test_accuracy", "kit_mia", "forgetting_quality", "challenge_score",
        "mia_efficacy",
        "sm_modified_entropy", "loss_auc", "lira_online_auc", "rmia_offline_auc", "js_forget", "avg_gap",
      ] {
        #expect(row.metrics[c]?.mean != nil, "\(row.algorithm) \(c)")
      }
    }
    // Weight distance to the same-initialisation retrained model: 1 for the original by definition,
    // measured for single-network algorithms, not meaningful for models from other initialisations.
    #expect(report.rows[0].metrics["weight_distance"]?.mean == 1)
    let ft = try #require(report.rows.first { $0.algorithm == "finetune" }?.metrics["weight_distance"]?.mean)
    #expect(ft.isFinite && ft > 0)
    #expect(report.rows.first { $0.algorithm == "retrain" }?.metrics["weight_distance"]?.mean == nil)
    // The original is one model, scored as N identical copies: every ε hits the peaky guard.
    #expect(report.rows[0].metrics["forgetting_quality"]?.mean == 0)
    #expect(report.rows[0].metrics["forgetting_quality"]?.perExample?.allSatisfy { $0 == 50 } == true)
    // Accuracy means agree with the stored logits.
    let retrain = try #require(outcome.populations[0].first { $0.algorithm == "retrain" })
    let labels = runner.experiment.examples(runner.experiment.splits.test).labels
    let accs = retrain.accuracies("test", labels: labels)
    #expect(report.rows[1].metrics["test_accuracy"]?.mean == accs.reduce(0, +) / 4)
    #expect(report.rows[1].metrics["speedup"]?.mean == 1)
    let md = try String(contentsOf: dir.appendingPathComponent("table.md"), encoding: .utf8)
    #expect(md.contains("| retrain | exact | 4 |") && md.contains("| finetune | approximate | 4 |"))
    let csv = try String(contentsOf: dir.appendingPathComponent("table.csv"), encoding: .utf8)
    #expect(
      csv.split(separator: "\n").count == 6 && csv.hasPrefix("algorithm,round,kind,models,failed,retain_accuracy_mean"))
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("results.json")))
        as? [String: Any])
    #expect(json["schema"] as? String == "unlearn.results" && json["schema_version"] as? Int == 1)
    // LaTeX, the self-contained HTML page and the PNG plots.
    let tex = try String(contentsOf: dir.appendingPathComponent("table.tex"), encoding: .utf8)
    #expect(tex.contains("\\begin{tabular}") && tex.contains("finetune & approximate & 4"))
    let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
    #expect(html.contains("<svg") && html.contains("ROC, LiRA online") && html.contains("Per-example ε"))
    // Self-contained: nothing is fetched (the only URL is the SVG namespace).
    #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href=") && !html.contains("@import"))
    let plots = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("plots").path).sorted()
    #expect(
      plots.contains("roc-lira_online.png") && plots.contains("epsilon-finetune.png")
        && plots.contains("confidence-finetune.png"))
    for p in plots {
      let image = try PNGImage.decode(Data(contentsOf: dir.appendingPathComponent("plots/\(p)")), name: p)
      #expect(image.width == 480 && image.height == 340 && image.channels == 3)
    }
    let columns = try #require(json["columns"] as? [[String: Any]])
    #expect(columns.allSatisfy { $0["direction"] is String })
  }

  @Test func sequentialRounds_areDisjoint_deterministic_andShowSISASavings() throws {
    var spec = QuickRun.spec
    spec.split.forget.fraction = 0.002  // 3 examples a round
    spec.evaluation.models = 2
    let exp = try PreparedExperiment(spec: spec)
    let rounds = try exp.deletionRounds(3)
    #expect(rounds[0].forget == exp.splits.forget)
    for r in 1..<3 {
      #expect(Set(rounds[r].forget).isSubset(of: Set(rounds[r - 1].retain)))
      #expect(rounds[r].forget.count == rounds[0].forget.count)
      #expect(Set(rounds[r].retain).isDisjoint(with: rounds[r].forget))
      #expect(rounds[r].retain.count == rounds[r - 1].retain.count - rounds[0].forget.count)
    }
    func make(_ dir: URL, workers: Int) throws -> EvaluationRunner {
      let algos = try ["retrain", "sisa", "finetune"].map { try Registry.algorithm($0, spec: spec, file: "t") }
      return EvaluationRunner(
        experiment: exp, algorithms: algos, models: 2, workers: workers, folder: RunFolder(dir), rounds: 3)
    }
    let a = TestSupport.temporaryDirectory("rounds1"), b = TestSupport.temporaryDirectory("rounds2")
    let runner = try make(a, workers: 1)
    let outcome = try runner.run()
    _ = try make(b, workers: 2).run()
    #expect(try QuickRun.outputs(a) == QuickRun.outputs(b))
    #expect(
      FileManager.default.fileExists(
        atPath: RunFolder(a).job("sisa", 1).appendingPathComponent("round-3/forget.npy").path))
    #expect(outcome.populations.count == 3)
    let report = try EvaluationReport.make(
      outcome: outcome, runner: runner, metrics: Registry.metrics, toolVersion: "t")
    #expect(report.rows.filter { $0.algorithm == "finetune" }.map(\.round) == [1, 2, 3])
    // SISA retrains only the shards a small batch touches: less than one full retraining per round.
    let sisaWork = report.rows.filter { $0.algorithm == "sisa" }.compactMap { $0.metrics["work_redone"]?.mean }
    #expect(sisaWork.count == 3 && sisaWork.reduce(0, +) < 3 * 0.9, "\(sisaWork)")
    #expect(report.markdown.contains("### Cumulative cost over 3 rounds"))
  }

  @Test func aFailingAlgorithm_isAFailedRowNotAFailedRun() throws {
    struct Broken: UnlearningAlgorithm {
      var name: String { "broken" }
      var kind: UnlearningKind { .approximate }
      func unlearn(_ r: UnlearningRequest) throws -> UnlearnedModel {
        var w = r.original
        w.parameters[0] = .nan
        return UnlearnedModel(w)
      }
    }
    let dir = TestSupport.temporaryDirectory("broken-algo")
    let spec = QuickRun.spec
    let runner = EvaluationRunner(
      experiment: try PreparedExperiment(spec: spec),
      algorithms: [try Registry.algorithm("retrain", spec: spec, file: "t"), Broken()],
      models: 3, workers: 2, folder: RunFolder(dir))
    let outcome = try runner.run()
    #expect(outcome.failures.count == 3 && outcome.failures.allSatisfy { $0.reason.contains("non-finite") })
    let report = try EvaluationReport.make(
      outcome: outcome, runner: runner, metrics: Registry.metrics, toolVersion: "test")
    #expect(report.rows[2].models == 0 && report.rows[2].failures.count == 3)
    #expect(report.markdown.contains("| broken | approximate | 0 (3 failed) |"))
  }
}

@Suite(.serialized) struct EvaluateCommandTests {
  func writeConfig(_ dir: URL, models: Int, epochs: Int) throws -> String {
    let url = dir.appendingPathComponent("c.yaml")
    let yaml =
      "dataset: {path: \(TestSupport.digitsPath)}\nmodel: {hidden: [32]}\ntraining: {epochs: \(epochs)}\nevaluation: {models: \(models)}\n"
    try Data(yaml.utf8).write(to: url)
    return url.path
  }

  @Test func evaluate_printsTheTable() throws {
    let dir = TestSupport.temporaryDirectory("eval")
    let (status, out, err) = try runUnlearn([
      "evaluate", "--config", writeConfig(dir, models: 2, epochs: 3), "--out", dir.appendingPathComponent("run").path,
      "--quiet",
    ])
    #expect(status == 0, "\(err)")
    for row in ["| original |", "| retrain | exact | 2 |", "| finetune |", "| gradient-ascent |"] {
      #expect(out.contains(row), "\(out)")
    }
    let (s2, out2, _) = try runUnlearn([
      "evaluate", "--config", writeConfig(dir, models: 2, epochs: 3), "--out", dir.appendingPathComponent("run").path,
      "--quiet",
      "--algorithms", "finetune",
    ])
    #expect(s2 == 0 && out2.contains("| finetune |") && !out2.contains("gradient-ascent"))
  }

  @Test func unknownAlgorithm_isAClearError() throws {
    let (status, _, err) = try runUnlearn(["evaluate", "--algorithms", "finetune,magic", "--models", "2"])
    #expect(status != 0 && err.contains("magic") && err.contains("known algorithms"), "\(err)")
  }

  /// Kills a running `unlearn evaluate` with SIGKILL after some jobs finished,
  /// runs it again, and compares every output with an uninterrupted run.
  @Test func aKilledRun_resumesToTheSameBytes() throws {
    let dir = TestSupport.temporaryDirectory("kill")
    let config = try writeConfig(dir, models: 12, epochs: 30)
    let whole = dir.appendingPathComponent("whole"), killed = dir.appendingPathComponent("killed")
    let (s0, _, e0) = try runUnlearn(["evaluate", "--config", config, "--out", whole.path, "--quiet"])
    #expect(s0 == 0, "\(e0)")

    let p = Process()
    p.executableURL = TestSupport.repositoryRoot.appendingPathComponent(".build/release/unlearn")
    p.arguments = ["evaluate", "--config", config, "--out", killed.path, "--quiet"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    func finishedJobs() -> Int {
      let e = FileManager.default.enumerator(at: killed.appendingPathComponent("jobs"), includingPropertiesForKeys: nil)
      var n = 0
      while let u = e?.nextObject() as? URL { if u.lastPathComponent == "job.json" { n += 1 } }
      return n
    }
    let deadline = Date().addingTimeInterval(60)
    while finishedJobs() < 4 && p.isRunning && Date() < deadline { usleep(2_000) }
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    let before = finishedJobs()
    #expect(p.terminationReason == .uncaughtSignal, "the run finished before it could be killed")
    #expect(before < 52, "the run finished before it could be killed")

    let (s1, _, e1) = try runUnlearn(["evaluate", "--config", config, "--out", killed.path, "--quiet"])
    #expect(s1 == 0, "\(e1)")
    #expect(finishedJobs() == 3 * 12 + 16)  // 12 models of 3 algorithms, 16 original-seeds
    #expect(try QuickRun.outputs(whole) == QuickRun.outputs(killed))
    let fq = { (url: URL) throws -> [Double?] in
      let r = try JSONDecoder().decode(Rows.self, from: Data(contentsOf: url.appendingPathComponent("results.json")))
      return r.rows.map { $0.metrics["forgetting_quality"]?.mean }
    }
    #expect(try fq(whole) == fq(killed))
  }

  /// SIGINT stops cleanly (no new job starts, a message says how to resume), and the rerun completes.
  @Test func sigint_stopsCleanly_andSaysHowToResume() throws {
    let dir = TestSupport.temporaryDirectory("sigint")
    let config = try writeConfig(dir, models: 40, epochs: 30)
    let out = dir.appendingPathComponent("run")
    let p = Process()
    p.executableURL = TestSupport.repositoryRoot.appendingPathComponent(".build/release/unlearn")
    p.arguments = ["evaluate", "--config", config, "--out", out.path]
    let err = Pipe()
    p.standardOutput = FileHandle.nullDevice
    p.standardError = err
    try p.run()
    let deadline = Date().addingTimeInterval(60)
    while p.isRunning && Date() < deadline
      && !FileManager.default.fileExists(atPath: out.appendingPathComponent("jobs/retrain/0002/job.json").path)
    {
      usleep(2_000)
    }
    kill(p.processIdentifier, SIGINT)
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus != 0 && message.contains("run the same command again to resume"), "\(message)")
    #expect(
      !message.contains("Fatal")
        && !FileManager.default.fileExists(atPath: out.appendingPathComponent("results.json").path))
    let (s1, _, e1) = try runUnlearn(["evaluate", "--config", config, "--out", out.path, "--quiet"])
    #expect(s1 == 0, "\(e1)")
    #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("manifest.json").path))
  }

  struct Rows: Decodable {
    struct Row: Decodable { var metrics: [String: MetricValue] }
    var rows: [Row]
  }
}

@Suite(.serialized) struct ScoreCommandTests {
  let fixtures = TestSupport.fixtures.appendingPathComponent("challenge")

  @Test func scoresTheOracleFixture() throws {
    let (status, out, err) = try runUnlearn([
      "score", "challenge", "--unlearned", fixtures.appendingPathComponent("shift64_U.npy").path,
      "--retrained", fixtures.appendingPathComponent("shift64_R.npy").path,
      "--retain-accuracy-unlearned", "99", "--retain-accuracy-retrained", "100",
      "--test-accuracy-unlearned", "90", "--test-accuracy-retrained", "90",
    ])
    #expect(status == 0, "\(err)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    let expected = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("expected.json")))
        as? [String: [String: Any]])
    #expect(json["epsilons"] as? [Double] == expected["shift64"]?["epsilons"] as? [Double])
    #expect(json["num_models"] as? Int == 64)
    let f = try #require(json["forgetting_quality"] as? Double)
    #expect(f == expected["shift64"]?["forgetting_quality"] as? Double)
    #expect(json["score"] as? Double == f * 0.99)
  }

  @Test func logitsWithLabels_giveTheSameAsConfidences() throws {
    let dir = TestSupport.temporaryDirectory("score")
    let (m, s, c) = (6, 5, 3)
    let lu = TestSupport.randomValues(m * s * c, seed: 1).map { $0 * 4 },
      lr = TestSupport.randomValues(m * s * c, seed: 2).map { $0 * 4 }
    let y: [Int64] = [0, 2, 1, 1, 0]
    try NPYArray(shape: [m, s, c], storage: .float32(lu)).encoded().write(to: dir.appendingPathComponent("u.npy"))
    try NPYArray(shape: [m, s, c], storage: .float32(lr)).encoded().write(to: dir.appendingPathComponent("r.npy"))
    try NPYArray(shape: [s], storage: .int64(y)).encoded().write(to: dir.appendingPathComponent("y.npy"))
    let (status, out, err) = try runUnlearn([
      "score", "challenge", "--unlearned", dir.appendingPathComponent("u.npy").path, "--retrained",
      dir.appendingPathComponent("r.npy").path,
      "--labels", dir.appendingPathComponent("y.npy").path,
    ])
    #expect(status == 0, "\(err)")
    let labels = (0..<(m * s)).map { Int32(y[$0 % s]) }
    let cu = logitScaledConfidences(logits: Tensor(shape: [m * s, c], scalars: lu), labels: labels)
    let cr = logitScaledConfidences(logits: Tensor(shape: [m * s, c], scalars: lr), labels: labels)
    let direct = try ChallengeScore.evaluate(unlearned: cu, retrained: cr, models: m, examples: s)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    #expect(json["epsilons"] as? [Double] == direct.epsilons)
    #expect(json["score"] == nil)
  }

  @Test func mismatchedInputs_areClearErrors() throws {
    let dir = TestSupport.temporaryDirectory("score-bad")
    try NPYArray(shape: [64, 16], storage: .float32(Array(repeating: 1, count: 1024))).encoded().write(
      to: dir.appendingPathComponent("f32.npy"))
    try NPYArray(shape: [64], storage: .int64(Array(repeating: 1, count: 64))).encoded().write(
      to: dir.appendingPathComponent("i64.npy"))
    let u = fixtures.appendingPathComponent("shift64_U.npy").path
    let cases: [([String], String)] = [
      (["--unlearned", u, "--retrained", fixtures.appendingPathComponent("far64_R.npy").path], "shapes differ"),
      (["--unlearned", u, "--retrained", dir.appendingPathComponent("f32.npy").path], "dtypes differ"),
      (["--unlearned", dir.appendingPathComponent("i64.npy").path, "--retrained", u], "not supported"),
      (["--unlearned", dir.appendingPathComponent("missing.npy").path, "--retrained", u], "missing.npy"),
      (
        ["--unlearned", u, "--retrained", u, "--labels", dir.appendingPathComponent("i64.npy").path],
        "[models, examples, classes]"
      ),
      (["--unlearned", u, "--retrained", u, "--retain-accuracy-unlearned", "99"], "all four accuracies"),
    ]
    for (args, needle) in cases {
      let (status, out, err) = try runUnlearn(["score", "challenge"] + args)
      #expect(status != 0 && out.isEmpty, "\(args)")
      #expect(err.contains(needle) && !err.contains("Fatal"), "\(args): \(err)")
    }
  }
}

@Suite(.serialized) struct LeaderboardAndMIACommandTests {
  @Test func leaderboard_ranksAndWritesEveryFormat() throws {
    let dir = TestSupport.temporaryDirectory("leaderboard")
    let run = dir.appendingPathComponent("run")
    _ = try QuickRun.runner(workers: 2, dir: run).run()
    let runner = try QuickRun.runner(workers: 2, dir: run)
    let report = try EvaluationReport.make(
      outcome: try runner.run(), runner: runner, metrics: Registry.metrics, toolVersion: "t")
    try report.write(to: run)
    let (status, out, err) = try runUnlearn([
      "leaderboard", run.path, "--out", dir.path, "--bootstrap", "10", "--by", "forget_accuracy",
    ])
    #expect(status == 0, "\(err)")
    #expect(out.contains("| 1 | ") && out.contains("| 2 | ") && out.contains("| ref | retrain |"), "\(out)")
    for f in ["leaderboard.md", "leaderboard.csv", "leaderboard.tex", "leaderboard.html"] {
      #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), "\(f)")
    }
    // Closest to retrain: the ranking follows |forget accuracy − retrain's|.
    let data = try Leaderboard.load(run)
    let board = try Leaderboard.make(
      runs: [data], metric: AccuracyMetric(), column: "forget_accuracy", replicates: 5, seed: 1, workers: 2)
    let retrain = try #require(board.rows.first { $0.algorithm == "retrain" }).value
    let ranked = board.rows.filter { $0.rank != nil }.sorted { $0.rank! < $1.rank! }
    #expect(ranked.count == 2 && abs(ranked[0].value - retrain) <= abs(ranked[1].value - retrain))
    let (s2, _, e2) = try runUnlearn(["leaderboard", dir.appendingPathComponent("nothing").path])
    #expect(s2 != 0 && e2.contains("results.json"))
  }

  @Test func scoreMIA_onLossesAndOnLogits() throws {
    let dir = TestSupport.temporaryDirectory("score-mia")
    // Members have smaller losses: a perfect separation.
    try NPYArray(shape: [40], storage: .float64((0..<40).map { 0.01 * Double($0) })).encoded().write(
      to: dir.appendingPathComponent("m.npy"))
    try NPYArray(shape: [40], storage: .float64((0..<40).map { 1 + Double($0) })).encoded().write(
      to: dir.appendingPathComponent("n.npy"))
    let (status, out, err) = try runUnlearn([
      "score", "mia", "--members", dir.appendingPathComponent("m.npy").path, "--nonmembers",
      dir.appendingPathComponent("n.npy").path,
    ])
    #expect(status == 0, "\(err)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    #expect((json["loss_threshold"] as? [String: Double])?["auc"] == 1)
    // The kit's L2-regularised logistic regression on raw losses need not reach 1 (C = 1 limits the slope).
    #expect((json["kit_mia"] as? Double ?? 0) > 0.9)
    // Logits without labels are an error naming the option.
    try NPYArray(shape: [4, 3], storage: .float32(Array(repeating: 0, count: 12))).encoded().write(
      to: dir.appendingPathComponent("z.npy"))
    let (s2, _, e2) = try runUnlearn([
      "score", "mia", "--members", dir.appendingPathComponent("z.npy").path, "--nonmembers",
      dir.appendingPathComponent("z.npy").path,
    ])
    #expect(s2 != 0 && e2.contains("--member-labels"))
  }
}

@Suite(.serialized) struct ReplayTests {
  /// A run replays to identical bytes; a tampered output or manifest is caught.
  @Test func rerunVerify_provesTheRunByReplay_andCatchesTampering() throws {
    let dir = TestSupport.temporaryDirectory("replay")
    let config = dir.appendingPathComponent("c.yaml")
    try Data(
      "dataset: {path: \(TestSupport.digitsPath)}\nmodel: {hidden: [16]}\ntraining: {epochs: 3}\nevaluation: {models: 2, reference_originals: 2, algorithms: [sisa, finetune]}\n"
        .utf8
    ).write(to: config)
    let run = dir.appendingPathComponent("run")
    let (s0, _, e0) = try runUnlearn(["evaluate", "--config", config.path, "--out", run.path, "--quiet"])
    #expect(s0 == 0, "\(e0)")
    let manifest = try RunManifest.read(run.appendingPathComponent("manifest.json"))
    #expect(
      manifest.files.keys.contains("jobs/sisa/0001/forget.npy")
        && manifest.files.keys.contains("original/model.safetensors"))
    #expect(manifest.timingFiles.contains("jobs/sisa/0001/job.json"))
    let (s1, out1, e1) = try runUnlearn(["rerun", run.path, "--verify", "--quiet"])
    #expect(s1 == 0 && out1.contains("verified: all"), "\(out1) \(e1)")
    // A stored output edited after the run is caught.
    let target = run.appendingPathComponent("jobs/finetune/0000/test.npy")
    var bytes = try Data(contentsOf: target)
    bytes[bytes.count - 1] ^= 1
    try bytes.write(to: target)
    let (s2, out2, _) = try runUnlearn([
      "rerun", run.path, "--verify", "--out", dir.appendingPathComponent("replay2").path,
    ])

    #expect(s2 != 0 && out2.contains("jobs/finetune/0000/test.npy") && out2.contains("NOT verified"), "\(out2)")
    // A replay into an existing folder is refused.
    let (s3, _, e3) = try runUnlearn(["rerun", run.path, "--out", dir.appendingPathComponent("replay2").path])
    #expect(s3 != 0 && e3.contains("already exists"))
  }
}
