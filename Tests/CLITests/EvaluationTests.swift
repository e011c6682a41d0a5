import Foundation
import Networks
import NumericCore
import TestSupport
import Testing

@testable import Attacks
@testable import Harness
@testable import UnlearnCLI
@testable import UnlearnKit

@Suite(.serialized) struct EvaluateCommandTests {
  func writeConfig(_ dir: URL, models: Int, epochs: Int) throws -> String {
    let url = dir.appendingPathComponent("c.yaml")
    let yaml =
      TestSupport.digitsConfig(
        "model: {hidden: [32]}", "training: {epochs: \(epochs)}", "evaluation: {models: \(models)}")
    try Data(yaml.utf8).write(to: url)
    return url.path
  }

  /// The scorer runs (population, metric) tasks on the worker pool: every score, interval and note
  /// of results.json is the same with one worker and with three (only wall times differ).
  @Test func scores_areIdenticalWithOneAndThreeWorkers() throws {
    let dir = TestSupport.temporaryDirectory("score-workers")
    let config = try writeConfig(dir, models: 6, epochs: 3)
    var masked = [Data]()
    for workers in [1, 3] {
      let run = dir.appendingPathComponent("w\(workers)")
      let (status, _, err) = try runUnlearn(
        ["evaluate", "--config", config, "--out", run.path, "--workers", "\(workers)", "--quiet"])
      #expect(status == 0, "\(err)")
      // Without the wall times and the configuration (whose workers key differs).
      var json =
        try JSONSerialization.jsonObject(
          with: Evaluation.maskedResults(run.appendingPathComponent("results.json"))) as! [String: Any]
      json["config"] = nil
      masked.append(try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
    }
    let text = String(decoding: masked[0], as: UTF8.self)
    #expect(text.contains("lira_online_auc") && text.contains("forgetting_quality"))
    #expect(masked[0] == masked[1])
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
    #expect(try TestSupport.outputs(whole) == TestSupport.outputs(killed))
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
    let config = dir.appendingPathComponent("c.yaml")
    try Data(
      TestSupport.digitsConfig(
        "model: {hidden: [16]}", "training: {epochs: 3}", "evaluation: {models: 3, reference_originals: 2}"
      ).utf8
    ).write(to: config)
    let (s0, _, e0) = try runUnlearn(["evaluate", "--config", config.path, "--out", run.path, "--quiet"])
    #expect(s0 == 0, "\(e0)")
    for by in ["forget_accuracy", "speedup", "weight_distance", "kit_mia"] {
      let (status, out, err) = try runUnlearn([
        "leaderboard", run.path, "--out", dir.path, "--bootstrap", "5", "--by", by,
      ])
      #expect(status == 0, "\(err)")
      #expect(out.contains("| 1 | ") && out.contains("| 2 | "), "\(by): \(out)")
    }
    for f in ["leaderboard.md", "leaderboard.csv", "leaderboard.tex", "leaderboard.html"] {
      #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), "\(f)")
    }
    let (s2, _, e2) = try runUnlearn(["leaderboard", dir.appendingPathComponent("nothing").path])
    #expect(s2 != 0 && e2.contains("config.yaml"), "\(e2)")
    let (s3, _, e3) = try runUnlearn(["leaderboard", run.path, "--by", "no_such_column"])
    #expect(s3 != 0 && e3.contains("unknown column"), "\(e3)")
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
    let metrics = try #require(json["metrics"] as? [String: [String: Any]])
    // The keys of results.json, with the same value objects.
    #expect(metrics["loss_auc"]?["mean"] as? Double == 1)
    #expect((metrics["loss_tpr_at_1pct_fpr"]?["interval"] as? [Double])?.count == 2)
    // The kit's L2-regularised logistic regression on raw losses need not reach 1 (C = 1 limits the slope).
    #expect((metrics["kit_mia"]?["mean"] as? Double ?? 0) > 0.9)
    #expect(json["members"] as? Int == 40 && json["non_members"] as? Int == 40)
    // Logits without labels are an error naming the option.
    try NPYArray(shape: [4, 3], storage: .float32(Array(repeating: 0, count: 12))).encoded().write(
      to: dir.appendingPathComponent("z.npy"))
    let (s2, _, e2) = try runUnlearn([
      "score", "mia", "--members", dir.appendingPathComponent("z.npy").path, "--nonmembers",
      dir.appendingPathComponent("z.npy").path,
    ])
    #expect(s2 != 0 && e2.contains("--member-labels"))
    // With logits: the loss threshold, the kit MIA and the Song & Mittal attacks, under the keys
    // of results.json.
    let y = (0..<40).map { Int64($0 % 3) }
    try NPYArray(shape: [40], storage: .int64(y)).encoded().write(to: dir.appendingPathComponent("y.npy"))
    for (name, seed) in [("zm", 1), ("zn", 2)] {
      let z = TestSupport.randomValues(120, seed: UInt64(seed)).map { $0 * 3 }
      try NPYArray(shape: [40, 3], storage: .float32(z)).encoded().write(to: dir.appendingPathComponent("\(name).npy"))
    }
    let (s3, out3, e3) = try runUnlearn([
      "score", "mia", "--members", dir.appendingPathComponent("zm.npy").path, "--nonmembers",
      dir.appendingPathComponent("zn.npy").path, "--member-labels", dir.appendingPathComponent("y.npy").path,
      "--nonmember-labels", dir.appendingPathComponent("y.npy").path,
    ])
    #expect(s3 == 0, "\(e3)")
    let json3 = try #require(try JSONSerialization.jsonObject(with: Data(out3.utf8)) as? [String: Any])
    let keys = Set((json3["metrics"] as? [String: Any] ?? [:]).keys)
    let expected = (LossThresholdAttack().columns + KitMIAMetric().columns + SongMittalAttacks().columns).map(\.name)
    #expect(keys == Set(expected))
  }
}

@Suite(.serialized) struct ReplayTests {
  /// A run replays to identical bytes; a tampered output or manifest is caught.
  @Test func rerunVerify_provesTheRunByReplay_andCatchesTampering() throws {
    let dir = TestSupport.temporaryDirectory("replay")
    let config = dir.appendingPathComponent("c.yaml")
    try Data(
      TestSupport.digitsConfig(
        "model: {hidden: [16]}", "training: {epochs: 3}",
        "evaluation: {models: 2, reference_originals: 2, algorithms: [sisa, finetune]}"
      ).utf8
    ).write(to: config)
    let run = dir.appendingPathComponent("run")
    let (s0, _, e0) = try runUnlearn(["evaluate", "--config", config.path, "--out", run.path, "--quiet"])
    #expect(s0 == 0, "\(e0)")
    let manifest = try RunManifest.read(run.appendingPathComponent("manifest.json"))
    #expect(
      manifest.files.keys.contains("jobs/sisa/0001/logits.npz")
        && manifest.files.keys.contains("original/model.safetensors"))
    #expect(manifest.timingFiles.contains("jobs/sisa/0001/job.json"))
    let (s1, out1, e1) = try runUnlearn(["rerun", run.path, "--verify", "--quiet"])
    #expect(s1 == 0 && out1.contains("verified: all"), "\(out1) \(e1)")
    // A stored output edited after the run is caught.
    let target = run.appendingPathComponent("jobs/finetune/0000/logits.npz")
    var bytes = try Data(contentsOf: target)
    bytes[bytes.count / 2] ^= 1  // inside an array's data
    try bytes.write(to: target)
    let (s2, out2, _) = try runUnlearn([
      "rerun", run.path, "--verify", "--out", dir.appendingPathComponent("replay2").path,
    ])

    #expect(s2 != 0 && out2.contains("jobs/finetune/0000/logits.npz") && out2.contains("NOT verified"), "\(out2)")
    // A replay into an existing folder is refused.
    let (s3, _, e3) = try runUnlearn(["rerun", run.path, "--out", dir.appendingPathComponent("replay2").path])
    #expect(s3 != 0 && e3.contains("already exists"))
  }
}
