import Foundation
import Networks
import NumericCore
import TestSupport
import Testing

@testable import Baselines
@testable import Harness
@testable import UnlearnCLI
@testable import UnlearnKit

/// The external-algorithm protocol: the shipped NumPy example end to end, and every
/// way a command can fail giving a failed row with its reason.
@Suite(.serialized) struct ExternalAlgorithmTests {
  /// Writes an executable script into `dir`.
  func script(_ dir: URL, _ name: String, _ body: String) throws -> String {
    let url = dir.appendingPathComponent(name)
    try Data(body.utf8).write(to: url)
    chmod(url.path, 0o755)
    return url.path
  }

  @Test func numpyExample_runsThroughTheProtocol_andLandsInTheTable() throws {
    let dir = TestSupport.temporaryDirectory("external-numpy")
    let config = dir.appendingPathComponent("c.yaml")
    try Data(
      """
      dataset: {path: \(TestSupport.digitsPath)}
      model: {hidden: [16]}
      training: {epochs: 4}
      evaluation: {models: 2, algorithms: [numpy-finetune]}
      algorithms:
        numpy-finetune:
          kind: external
          command: [python3, examples/python/finetune_numpy.py]
          timeout: 120
          epochs: 3
          learning_rate: 0.05

      """.utf8
    ).write(to: config)
    let run = dir.appendingPathComponent("run")
    let (status, out, err) = try runUnlearn(["evaluate", "--config", config.path, "--out", run.path, "--quiet"])
    #expect(status == 0, "\(err)")
    #expect(out.contains("| numpy-finetune | approximate | 2 |"), "\(out)")
    let log = try String(
      contentsOf: run.appendingPathComponent("jobs/numpy-finetune/0000/external.log"), encoding: .utf8)
    #expect(log.contains("3 epochs") && log.contains("wrote unlearned.safetensors"), "\(log)")
    // The work folder is cleaned after success, and the manifest hashes the logits (not the log).
    #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent(".work/numpy-finetune/0000").path))
    let manifest = try RunManifest.read(run.appendingPathComponent("manifest.json"))
    #expect(manifest.files["jobs/numpy-finetune/0001/logits.npz"] != nil)
    // Deterministic: the same request gives the same bytes (rerun --verify replays the command).
    let (s2, out2, e2) = try runUnlearn(["rerun", run.path, "--verify", "--quiet"])
    #expect(s2 == 0 && out2.contains("verified: all"), "\(out2) \(e2)")
    // The fine-tuned models moved away from the original.
    let results =
      try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("results.json")))
      as! [String: Any]
    let rows = results["rows"] as! [[String: Any]]
    #expect(
      rows.contains { $0["algorithm"] as? String == "numpy-finetune" && ($0["failures"] as? [Any])?.isEmpty == true })
  }

  /// Whether `python3` can import `module` (the PyTorch template runs only where torch is installed).
  static func pythonHas(_ module: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import \(module)"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
  }

  /// The PyTorch template loads the weights into an equivalent torch module (strict names and
  /// shapes), fine-tunes and writes them back, for the MLP and the CNN. Runs only where torch is installed.
  @Test(.enabled(if: pythonHas("torch")), arguments: ["mlp", "cnn"])
  func pytorchTemplate_runsThroughTheProtocol(architecture: String) throws {
    let dir = TestSupport.temporaryDirectory("external-torch-\(architecture)")
    let config = dir.appendingPathComponent("c.yaml")
    let model = architecture == "cnn" ? "{architecture: cnn, channels: [4, 8]}" : "{hidden: [16]}"
    try Data(
      """
      dataset: {path: \(TestSupport.digitsPath)}
      model: \(model)
      training: {epochs: 2}
      evaluation: {models: 2, reference_originals: 0, algorithms: [torch-template]}
      algorithms:
        torch-template:
          {kind: external, command: [python3, examples/python/pytorch_template.py], timeout: 300, epochs: 1}

      """.utf8
    ).write(to: config)
    let (status, out, err) = try runUnlearn([
      "evaluate", "--config", config.path, "--out", dir.appendingPathComponent("run").path, "--quiet",
    ])
    #expect(status == 0 && out.contains("| torch-template | approximate | 2 |"), "\(out)\n\(err)")
  }

  @Test func everyFailureMode_isAFailedRowWithItsReason() throws {
    let dir = TestSupport.temporaryDirectory("external-fail")
    // A tiny Python (standard library only) that rewrites model.safetensors into unlearned.safetensors.
    let rewrite = """
      #!/usr/bin/env python3
      import json, struct, sys, os
      work = sys.argv[-1]
      data = bytearray(open(os.path.join(work, "model.safetensors"), "rb").read())
      n = struct.unpack("<Q", data[:8])[0]
      header = json.loads(data[8:8 + n])
      mode = sys.argv[1]
      if mode == "nan":
          begin = header["layers.0.weight"]["data_offsets"][0]
          data[8 + n + begin: 8 + n + begin + 4] = struct.pack("<f", float("nan"))
      elif mode == "shape":
          header["layers.0.bias"]["shape"] = [4, 4]
          h = json.dumps(header).encode()
          h += b" " * (-len(h) % 8)
          data = struct.pack("<Q", len(h)) + h + data[8 + n:]
      elif mode == "header":
          data = struct.pack("<Q", 1 << 40) + b"{}" * 8
      elif mode == "overflow":
          count = (len(data) - 8 - n) // 4
          data[8 + n:] = struct.pack("<%df" % count, *([3e38] * count))
      elif mode == "huge":
          with open(os.path.join(work, "unlearned.safetensors"), "wb") as f:
              f.truncate(600 << 20)
          sys.exit(0)
      open(os.path.join(work, "unlearned.safetensors"), "wb").write(data)

      """
    let py = try script(dir, "rewrite.py", rewrite)
    let cases: [(name: String, command: [String], timeout: Double?, reason: String)] = [
      ("good", [py, "copy"], nil, ""),
      (
        "exit-1", [try script(dir, "fail.sh", "#!/bin/sh\necho 'something broke' >&2\nexit 1\n")], nil,
        "exited with status 1"
      ),
      ("hang", [try script(dir, "hang.sh", "#!/bin/sh\necho started\nsleep 60\n")], 1, "timed out after 1 s"),
      ("nan", [py, "nan"], nil, "NaN or infinite"),
      ("shape", [py, "shape"], nil, "has shape [4, 4], expected [16]"),
      ("missing", [try script(dir, "nothing.sh", "#!/bin/sh\necho done\n")], nil, "wrote no unlearned.safetensors"),
      ("header", [py, "header"], nil, "exceeds the 100000000-byte limit"),
      ("overflow", [py, "overflow"], nil, "not finite (NaN or infinity)"),
      ("huge", [py, "huge"], nil, "629145600 bytes, over the"),
      ("no-such-command", ["/nonexistent/unlearn-me"], nil, "not an executable file"),
    ]
    let spec = TestSupport.quickSpec(models: 2, referenceOriginals: 0)
    let algos: [any UnlearningAlgorithm] =
      [try Registry.algorithm("retrain", spec: spec, file: "t")]
      + cases.map { ExternalCommand(name: $0.name, command: $0.command, timeout: $0.timeout) }
    let runner = EvaluationRunner(
      experiment: try PreparedExperiment(spec: spec), algorithms: algos, models: 2, workers: 2,
      store: RunStore(dir.appendingPathComponent("run")))
    let start = Date()
    let outcome = try runner.run()
    #expect(Date().timeIntervalSince(start) < 40, "the hanging command was not killed at its time-out")
    let report = try EvaluationReport.make(
      outcome: outcome, runner: runner, scorer: Scorer(metrics: Registry.metrics), toolVersion: "test")
    for c in cases {
      let failures = outcome.failures.filter { $0.algorithm == c.name }
      let row = try #require(report.rows.first { $0.algorithm == c.name })
      if c.reason.isEmpty {
        #expect(failures.isEmpty && row.models == 2, "\(failures)")
      } else {
        #expect(failures.count == 2 && row.models == 0, "\(c.name): \(failures)")
        #expect(failures.allSatisfy { $0.reason.contains(c.reason) }, "\(c.name): \(failures.map(\.reason))")
      }
    }
    // The reason carries the end of the command's log, and the work folder is kept for debugging.
    let exit1 = outcome.failures.first { $0.algorithm == "exit-1" }!.reason
    #expect(exit1.contains("something broke") && exit1.contains("work folder is kept"), "\(exit1)")
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/.work/nan/0000/request.json").path))
    #expect(report.markdown.contains("| exit-1 | approximate | 0 (2 failed) |"))
    #expect(
      report.markdown.contains("- hang: 2 failed; #0: external command \(dir.path)/hang.sh: timed out after 1 s"),
      "\(report.markdown)")
    // The copy writes the original unchanged: the row scores like the original.
    let good = try #require(report.rows.first { $0.algorithm == "good" })
    let original = try #require(report.rows.first { $0.algorithm == "original" })
    #expect(good.metrics["forget_accuracy"]?.mean == original.metrics["forget_accuracy"]?.mean)
  }

  @Test func theWorkFolder_holdsEveryProtocolFile() throws {
    let dir = TestSupport.temporaryDirectory("external-files")
    // The command lists its work folder and the request into its log, then fails so that the folder is kept.
    let list = try script(dir, "list.sh", "#!/bin/sh\nls \"$1\"\ncat \"$1/request.json\"\nenv | sort\nexit 3\n")
    let exp = TestSupport.smallDigitsExperiment(epochs: 1)
    let original = try exp.trainOriginal()
    var req = UnlearningRequest(
      original: original, forget: exp.examples(exp.splits.forget), retain: exp.examples(exp.splits.retain),
      validation: exp.examples(exp.splits.validation), forgetIDs: exp.splits.forget, retainIDs: exp.splits.retain,
      training: exp.spec.training, seed: 42, timeBudget: 30)
    req.jobDirectory = dir.appendingPathComponent("job")
    req.scratchDirectory = dir.appendingPathComponent("work")
    let algo = try ExternalCommand(
      name: "lister",
      parameters: HyperParameters([
        "kind": .string("external"), "command": .list([.string(list)]), "alpha": .double(0.5),
      ]),
      file: "t")
    #expect(throws: HarnessError.self) { try algo.unlearn(req) }
    let log = try String(contentsOf: dir.appendingPathComponent("job/external.log"), encoding: .utf8)
    for f in [
      "architecture.json", "forget.npy", "forget_labels.npy", "forget_ids.npy", "model.safetensors", "request.json",
      "retain.npy",
      "retain_labels.npy", "retain_ids.npy", "validation.npy", "validation_labels.npy",
    ] {
      #expect(log.contains(f + "\n"), "\(f) missing: \(log)")
    }
    #expect(
      log.contains("\"seed\" : 42") && log.contains("\"alpha\" : 0.5") && log.contains("\"timeout_seconds\" : 30"),
      "\(log)")
    #expect(
      log.contains("OMP_NUM_THREADS=1") && log.contains("UNLEARN_WORK_DIR=\(dir.appendingPathComponent("work").path)"))
    // A clean environment: nothing of the harness's own environment beyond PATH and HOME.
    #expect(!log.contains("XDG_") && !log.contains("SWIFT"), "\(log)")
    let work = dir.appendingPathComponent("work")
    let features = try NPYArray.read(work.appendingPathComponent("forget.npy"))
    #expect(features.shape == [exp.splits.forget.count, 1, 8, 8])
    let ids = try NPYArray.read(work.appendingPathComponent("retain_ids.npy"))
    #expect(ids.storage == .int64(exp.splits.retain.map(Int64.init)))
    let weights = try ModelFiles.load(
      work.appendingPathComponent("model.safetensors"), architecture: original.architecture)
    #expect(weights == original)
  }

  @Test func configuration_errorsNameTheKey() throws {
    func make(_ values: [String: ConfigValue]) throws -> ExternalCommand {
      try ExternalCommand(
        name: "x", parameters: HyperParameters(values.merging(["kind": .string("external")]) { $1 }), file: "c.yaml")
    }
    #expect { try make([:]) } throws: { "\($0)".contains("c.yaml: algorithms.x.command") }
    #expect { try make(["command": .string("true"), "timeout": .int(-1)]) } throws: {
      "\($0)".contains("algorithms.x.timeout")
    }
    var spec = ExperimentSpec()
    spec.algorithms["finetune"] = HyperParameters(["kind": .string("external"), "command": .string("true")])
    #expect { try Registry.algorithm("finetune", spec: spec, file: "c.yaml") } throws: {
      "\($0)".contains("is a built-in algorithm")
    }
    let shell = try make(["command": .string("python3 my.py --fast"), "exact": .bool(true), "lr": .double(0.1)])
    #expect(
      shell.command == ["/bin/sh", "-c", "python3 my.py --fast"] && shell.kind == .exact
        && shell.parameters == ["lr": .double(0.1)])
  }
}
