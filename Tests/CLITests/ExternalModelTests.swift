import Foundation
import NumericCore
import TestSupport
import Testing

@testable import Harness
@testable import UnlearnCLI

/// External models (`model.kind: external`): the NumPy backend through the whole protocol, the
/// refusals, every way a command's output can be wrong, and non-determinism declared by a backend.
@Suite(.serialized) struct ExternalModelTests {
  static let backend = "examples/numpy-backend/backend.py"

  /// A configuration of the NumPy backend (softmax regression, 3 epochs) with `evaluation` and `algorithms` sections.
  static func config(_ dir: URL, evaluation: String, algorithms: String) throws -> URL {
    let url = dir.appendingPathComponent("c.yaml")
    try Data(
      """
      dataset: {path: \(TestSupport.digitsPath)}
      model: {kind: external, command: [python3, \(backend)], timeout: 120}
      training: {epochs: 3, schedule: constant}
      evaluation: \(evaluation)
      algorithms:
      \(algorithms)

      """.utf8
    ).write(to: url)
    return url
  }

  /// An external algorithm running the NumPy fine-tune, then the shell line `after` (`$1` is the work folder).
  static func finetune(_ name: String, after: String = "true", before: String = "true") -> String {
    let line = "\(before) && python3 \(backend) --finetune \"$1\" && \(after)"
    return "  \(name): {kind: external, command: [sh, -c, '\(line)', sh]}"
  }

  @Test func numpyBackend_wholeProtocol_twoRounds_verifies_andShardsMergeToTheSameScores() throws {
    let dir = TestSupport.temporaryDirectory("external-model")
    // Round 2's command prints the hash of the checkpoint it was given: round 1's.
    let config = try Self.config(
      dir, evaluation: "{models: 4, rounds: 2, reference_originals: 2, algorithms: [numpy-finetune]}",
      algorithms: Self.finetune("numpy-finetune", before: "sha256sum \"$1\"/model/0.weight.npy"))
    let run = dir.appendingPathComponent("run")
    let (status, out, err) = try runUnlearn(["evaluate", "--config", config.path, "--out", run.path, "--quiet"])
    #expect(status == 0, "\(err)")
    #expect(out.contains("| numpy-finetune | approximate | 4 |"), "\(out)")
    let fm = FileManager.default
    for path in [
      "original/checkpoint/0.weight.npy", "original/round-2/logits.npz", "jobs/retrain/0003/round-2/checkpoint",
      "jobs/numpy-finetune/0000/round-1/checkpoint/0.bias.npy", "jobs/numpy-finetune/0000/round-2/logits.npz",
      "jobs/original-seeds/0001/round-1/checkpoint", "jobs/original-seeds/0001/round-2/logits.npz",
    ] {
      #expect(fm.fileExists(atPath: run.appendingPathComponent(path).path), "\(path)")
    }
    // Round 2 unlearned from round 1's checkpoint, and round 1 from the original's.
    let logOf = { (round: Int) in
      try String(
        contentsOf: run.appendingPathComponent("jobs/numpy-finetune/0002/round-\(round)/external.log"), encoding: .utf8)
    }
    let hashOf = { (path: String) in try SHA256.hex(fileAt: run.appendingPathComponent(path)) }
    #expect(try logOf(1).contains(hashOf("original/checkpoint/0.weight.npy")))
    #expect(try logOf(2).contains(hashOf("jobs/numpy-finetune/0002/round-1/checkpoint/0.weight.npy")))
    // The manifest hashes the checkpoints; the original's identity is its checkpoint's hash.
    let manifest = try RunManifest.read(run.appendingPathComponent("manifest.json"))
    #expect(manifest.files["jobs/numpy-finetune/0001/round-2/checkpoint/0.weight.npy"] != nil)
    let store = RunStore(run, rounds: 2)
    #expect(
      try manifest.originalWeightsSHA256 == store.checkpointSHA256(run.appendingPathComponent("original/checkpoint")))
    // Scored from logits; the weight distance says why it is missing.
    let results = try String(contentsOf: run.appendingPathComponent("results.json"), encoding: .utf8)
    #expect(results.contains("an external model: the harness stores its checkpoints unread"))
    #expect(results.contains("\"score\""))
    let record = try #require(try store.record(JobID(algorithm: "numpy-finetune", index: 1)))
    #expect(record.backend == BackendDeclaration(deterministic: true, device: "cpu") && record.seconds.count == 2)

    let (s2, out2, e2) = try runUnlearn(["rerun", run.path, "--verify", "--quiet"])
    #expect(s2 == 0 && out2.contains("verified: all"), "\(out2) \(e2)")

    var shards = [String]()
    for i in 0..<2 {
      let d = dir.appendingPathComponent("shard-\(i)")
      let (s, _, e) = try runUnlearn(["evaluate", "--config", config.path, "--shard", "\(i)/2", "--out", d.path])
      #expect(s == 0, "\(e)")
      shards.append(d.path)
    }
    let merged = dir.appendingPathComponent("merged")
    let (s3, _, e3) = try runUnlearn(["merge"] + shards + ["--out", merged.path, "--quiet"])
    #expect(s3 == 0, "\(e3)")
    #expect(try ShardTests.metricsWithoutTimes(merged) == ShardTests.metricsWithoutTimes(run))
  }

  @Test func whatNeedsTheHarnessNetworks_isRefused_namingWhatApplies() throws {
    let dir = TestSupport.temporaryDirectory("external-model-refusals")
    let cases: [(evaluation: String, model: String?, expected: String)] = [
      ("{models: 2, algorithms: [finetune]}", nil, "the algorithms that apply to an external model are retrain"),
      ("{models: 2, algorithms: [ext], ulira_shadows: 4}", nil, "evaluation.ulira_shadows"),
      ("{models: 2}", "{kind: external}", "an external model needs a command"),
      (
        "{models: 2}", "{kind: external, command: [x], hidden: [3]}",
        "model.hidden: is used only with model.kind: builtin"
      ),
      ("{models: 2}", "{command: [x]}", "model.command: is used only with model.kind: external"),
    ]
    for (n, c) in cases.enumerated() {
      var url = try Self.config(
        dir, evaluation: c.evaluation, algorithms: "  ext: {kind: external, command: [/bin/true]}")
      if let model = c.model {
        let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(
          of: "model: {kind: external, command: [python3, \(Self.backend)], timeout: 120}", with: "model: \(model)")
        url = dir.appendingPathComponent("c\(n).yaml")
        try Data(text.utf8).write(to: url)
      }
      let run = dir.appendingPathComponent("run-\(n)")
      let (status, _, err) = try runUnlearn(["evaluate", "--config", url.path, "--out", run.path, "--quiet"])
      #expect(status == 1 && err.contains(c.expected), "\(c): \(err)")
      #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("original").path))
    }
  }

  @Test func everyBadOutput_failsItsJob_withTheReason_andTheRunGoesOn() throws {
    let dir = TestSupport.temporaryDirectory("external-model-failures")
    let save = "python3 -c \"import numpy as np, sys; w = sys.argv[1]; "
    let bad: [(name: String, after: String, reason: String)] = [
      ("no-checkpoint", "rm -r \"$1\"/checkpoint", "wrote no checkpoint/ folder"),
      ("empty-checkpoint", "rm \"$1\"/checkpoint/*", "its checkpoint/ folder is empty"),
      ("link", "ln -s /etc/passwd \"$1\"/checkpoint/passwd", "checkpoint/passwd is not a regular file"),
      ("shape", save + "np.save(w + \\\"/logits.npy\\\", np.zeros((3, 10), np.float32))\" \"$1\"", "has shape [3, 10]"),
      (
        "nan",
        save + "z = np.load(w + \\\"/logits.npy\\\"); z[5, 2] = np.nan; np.save(w + \\\"/logits.npy\\\", z)\" \"$1\"",
        "not finite (NaN or infinity) in the row of id"
      ),
      ("declaration", "echo {\\\"deterministic\\\": 1} > \"$1\"/backend.json", "backend.json must be a JSON object"),
      ("no-logits", "rm \"$1\"/logits.npy", "wrote no logits.npy"),
    ]
    let config = try Self.config(
      dir,
      evaluation: "{models: 2, reference_originals: 0, algorithms: [\(bad.map(\.name).joined(separator: ", "))]}",
      algorithms: bad.map { Self.finetune($0.name, after: $0.after) }.joined(separator: "\n"))
    let run = dir.appendingPathComponent("run")
    let (status, out, err) = try runUnlearn(["evaluate", "--config", config.path, "--out", run.path, "--quiet"])
    #expect(status == 3, "\(err)")
    #expect(out.contains("| retrain | exact | 2 |"), "\(out)")
    let store = RunStore(run)
    for b in bad {
      let failure = try #require(try store.failure(JobID(algorithm: b.name, index: 0)), "\(b.name)")
      #expect(failure.reason.contains("exited normally, but") && failure.reason.contains(b.reason), "\(failure.reason)")
    }
  }

  @Test func aNondeterministicBackend_failsVerification_sayingWhichFilesAndWhy() throws {
    let dir = TestSupport.temporaryDirectory("external-model-gpu")
    let noisy =
      "head -c 16 /dev/urandom > \"$1\"/checkpoint/noise.bin && "
      + "echo {\\\"deterministic\\\": false, \\\"device\\\": \\\"cuda:0\\\"} > \"$1\"/backend.json"
    let config = try Self.config(
      dir, evaluation: "{models: 2, reference_originals: 0, algorithms: [gpu-finetune]}",
      algorithms: Self.finetune("gpu-finetune", after: noisy))
    let run = dir.appendingPathComponent("run")
    let (status, _, err) = try runUnlearn(["evaluate", "--config", config.path, "--out", run.path, "--quiet"])
    #expect(status == 0, "\(err)")
    let (s2, out, _) = try runUnlearn(["rerun", run.path, "--verify"])
    #expect(s2 != 0)
    #expect(
      out.contains(
        "different (its backend declared itself non-deterministic, on cuda:0)\t"
          + "jobs/gpu-finetune/0000/checkpoint/noise.bin"), "\(out)")
    #expect(out.contains("2 of them belong to jobs whose backend declared itself non-deterministic"), "\(out)")
    #expect(out.contains("identical\tjobs/retrain/0000/checkpoint/0.weight.npy"), "\(out)")
  }

  /// An organiser's flow: prepare, compute a population in a short PyTorch script, import it, then
  /// evaluate an external algorithm against it. The challenge score in results.json is what
  /// `unlearn score challenge` gives on the same arrays.
  @Test(.enabled(if: ExternalAlgorithmTests.pythonHas("torch")))
  func importedPyTorchPopulation_scoresAsScoreChallengeDoesOnTheSameArrays() throws {
    let dir = TestSupport.temporaryDirectory("external-import")
    let config = try Self.config(
      dir, evaluation: "{models: 4, reference_originals: 0, algorithms: [numpy-finetune]}",
      algorithms: Self.finetune("numpy-finetune"))
    let run = dir.appendingPathComponent("run"), population = dir.appendingPathComponent("population")
    let (s0, out0, e0) = try runUnlearn(["import", "--config", config.path, "--out", run.path])
    #expect(s0 == 0 && out0.contains("splits.json"), "\(e0)")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "examples/import/train_population.py", run.path, population.path, "--models", "4"]
    p.currentDirectoryURL = TestSupport.repositoryRoot
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let (s1, out1, e1) = try runUnlearn([
      "import", "--config", config.path, "--out", run.path, "--from", population.path,
    ])
    #expect(s1 == 0 && out1.contains("imported original 1, retrain 4"), "\(e1)")
    // Importing twice, or ids of another split, is refused.
    let (s2, _, e2) = try runUnlearn(["import", "--config", config.path, "--out", run.path, "--from", population.path])
    #expect(s2 == 1 && e2.contains("already holds an original"), "\(e2)")
    let (s3, table, e3) = try runUnlearn(["evaluate", "--config", config.path, "--out", run.path, "--quiet"])
    #expect(s3 == 0 && table.contains("| numpy-finetune | approximate | 4 |"), "\(e3)")
    #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("jobs/retrain/0000/checkpoint").path))

    // The same arrays, stacked: [models, forget examples, classes].
    func stack(_ algorithm: String) throws -> URL {
      var values = [Float](), shape = [Int]()
      for i in 0..<4 {
        let a = try NPZArchive.read(run.appendingPathComponent("jobs/\(algorithm)/000\(i)/logits.npz"))["forget"]
        guard let a, case .float32(let v) = a.storage else { throw CocoaError(.fileReadCorruptFile) }
        values += v
        shape = a.shape
      }
      let url = dir.appendingPathComponent("\(algorithm).npy")
      try NPYArray(shape: [4] + shape, storage: .float32(values)).encoded().write(to: url)
      return url
    }
    let results =
      try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("results.json")))
      as! [String: Any]
    func metric(_ algorithm: String, _ name: String) -> Double {
      let row = (results["rows"] as! [[String: Any]]).first { $0["algorithm"] as? String == algorithm }!
      let m = (row["metrics"] as! [String: Any])[name]
      return (m as? [String: Any]).map { $0["mean"] as! Double } ?? (m as! Double)
    }
    let (s4, json, e4) = try runUnlearn([
      "score", "challenge", "--unlearned", try stack("numpy-finetune").path, "--retrained", try stack("retrain").path,
      "--labels", run.appendingPathComponent("labels/forget.npy").path,
      "--retain-accuracy-unlearned", "\(100 * metric("numpy-finetune", "retain_accuracy"))",
      "--retain-accuracy-retrained", "\(100 * metric("retrain", "retain_accuracy"))",
      "--test-accuracy-unlearned", "\(100 * metric("numpy-finetune", "test_accuracy"))",
      "--test-accuracy-retrained", "\(100 * metric("retrain", "test_accuracy"))",
    ])
    #expect(s4 == 0, "\(e4)")
    let scored = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
    let f = metric("numpy-finetune", "forgetting_quality")
    #expect(f > 0 && scored["forgetting_quality"] as! Double == f, "\(json)")
    let score = metric("numpy-finetune", "challenge_score")
    #expect(abs(scored["score"] as! Double - score) <= 1e-12 * score, "\(scored["score"]!) vs \(score)")
  }

  /// The PyTorch backend of examples/pytorch on a Kaggle-layout sample: trains, fine-tunes, runs the
  /// NeurIPS 2023 starting kit's `unlearning` function through the adapter, and replays bit for bit
  /// on the CPU. The ResNet-18 (narrowed) trains through the same protocol.
  @Test(.enabled(if: ExternalAlgorithmTests.pythonHas("torch")), arguments: ["small_cnn", "resnet18"])
  func pytorchBackend_onTheKaggleLayout_runsAndReplaysBitForBit(network: String) throws {
    let dir = TestSupport.temporaryDirectory("external-pytorch")
    let data = dir.appendingPathComponent("kaggle")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "examples/pytorch/make_kaggle_sample.py", data.path, "--images", "120"]
    p.currentDirectoryURL = TestSupport.repositoryRoot
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let small = network == "small_cnn"
    let algorithms = small ? "[torch-finetune, starting-kit]" : "[]"
    let config = dir.appendingPathComponent("c.yaml")
    try Data(
      """
      dataset: {path: \(data.path), layout: kaggle}
      model:
        kind: external
        command: [python3, examples/pytorch/backend.py]
        parameters: {network: \(network), width: 4}
      training: {epochs: 2, batch_size: 32, learning_rate: 0.05, schedule: cosine}
      evaluation: {models: \(small ? 4 : 2), reference_originals: 0, algorithms: \(algorithms)}
      algorithms:
        torch-finetune: {kind: external, command: [python3, examples/pytorch/backend.py, --finetune]}
        starting-kit:
          kind: external
          command: [python3, examples/pytorch/neurips_adapter.py, examples/pytorch/starting_kit_finetune.py]

      """.utf8
    ).write(to: config)
    let run = dir.appendingPathComponent("run")
    let (status, out, err) = try runUnlearn(["evaluate", "--config", config.path, "--out", run.path, "--quiet"])
    #expect(status == 0, "\(err)")
    if small {
      #expect(
        out.contains("| starting-kit | approximate | 4 |") && out.contains("| torch-finetune | approximate | 4 |"))
      let log = try String(
        contentsOf: run.appendingPathComponent("jobs/starting-kit/0001/external.log"), encoding: .utf8)
      #expect(log.contains("unlearning(starting_kit_finetune.py) on cpu"), "\(log)")
    } else {
      #expect(
        FileManager.default.fileExists(
          atPath: run.appendingPathComponent("original/checkpoint/layer4.1.bn2.running_mean.npy").path))
    }
    let record = try #require(try RunStore(run).originalRecord())
    #expect(record.backend == BackendDeclaration(deterministic: true, device: "cpu"))
    let (s2, out2, e2) = try runUnlearn(["rerun", run.path, "--verify", "--quiet"])
    #expect(s2 == 0 && out2.contains("verified: all"), "\(out2) \(e2)")
  }

  /// Shards of a non-deterministic backend would each train their own original: the merge refuses
  /// them, saying what to do; with the original trained once (--originals-only) and given to every
  /// shard (--original-from), the merge gives the run of one machine.
  @Test func shardsOfANondeterministicBackend_shareOneOriginal() throws {
    let dir = TestSupport.temporaryDirectory("external-model-gpu-shards")
    let config = dir.appendingPathComponent("c.yaml")
    let noisy =
      "python3 \(Self.backend) \"$1\" && head -c 16 /dev/urandom > \"$1\"/checkpoint/noise.bin && "
      + "echo {\\\"deterministic\\\": false} > \"$1\"/backend.json"
    try Data(
      """
      dataset: {path: \(TestSupport.digitsPath)}
      model: {kind: external, command: [sh, -c, '\(noisy)', sh]}
      training: {epochs: 2, schedule: constant}
      evaluation: {models: 2, reference_originals: 0, algorithms: [numpy-finetune]}
      algorithms:
      \(Self.finetune("numpy-finetune"))

      """.utf8
    ).write(to: config)
    func shards(_ prefix: String, _ extra: [String]) throws -> [String] {
      try (0..<2).map { i in
        let d = dir.appendingPathComponent("\(prefix)-\(i)")
        let (s, _, e) = try runUnlearn(
          ["evaluate", "--config", config.path, "--shard", "\(i)/2", "--out", d.path, "--quiet"] + extra)
        #expect(s == 0, "\(e)")
        return d.path
      }
    }
    let apart = try shards("apart", [])
    let (s1, _, e1) = try runUnlearn(["merge"] + apart + ["--out", dir.appendingPathComponent("m1").path])
    #expect(s1 == 1 && e1.contains("original/checkpoint/noise.bin") && e1.contains("--originals-only"), "\(e1)")

    let original = dir.appendingPathComponent("original")
    let (s2, _, e2) = try runUnlearn(
      ["evaluate", "--config", config.path, "--out", original.path, "--originals-only", "--quiet"])
    #expect(s2 == 0, "\(e2)")
    #expect(!FileManager.default.fileExists(atPath: original.appendingPathComponent("jobs/retrain/0000").path))
    let together = try shards("together", ["--original-from", original.path])
    let merged = dir.appendingPathComponent("m2")
    let (s3, table, e3) = try runUnlearn(["merge"] + together + ["--out", merged.path, "--quiet"])
    #expect(s3 == 0 && table.contains("| numpy-finetune | approximate | 2 |"), "\(e3)")
    let hash = { (run: URL) in try SHA256.hex(fileAt: run.appendingPathComponent("original/checkpoint/noise.bin")) }
    #expect(try hash(merged) == hash(original))
    // Another experiment's originals are refused.
    let other = dir.appendingPathComponent("other.yaml")
    try Data(
      try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "epochs: 2", with: "epochs: 3").utf8
    )
    .write(to: other)
    let (s4, _, e4) = try runUnlearn(
      [
        "evaluate", "--config", other.path, "--out", dir.appendingPathComponent("x").path, "--original-from",
        original.path,
      ])
    #expect(s4 == 1 && e4.contains("is not a run folder of this experiment"), "\(e4)")
  }
}
