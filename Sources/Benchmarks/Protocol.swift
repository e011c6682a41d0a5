import Foundation
import Harness
import NumericCore

/// One timed command: wall seconds, CPU seconds (user + system of the process and its
/// children) and peak resident memory.
struct Timed {
  var seconds: Double
  var cpuSeconds: Double
  var peakMiB: Double
}

/// Runs `arguments` and measures it with `wait4`'s resource usage. The child is started with
/// `posix_spawn` and reaped here: Foundation's `Process` reaps its children on a thread of its
/// own, and when it won the race `wait4` found no child and left the usage at zero.
func timedRun(_ arguments: [String], output: URL? = nil) throws -> Timed {
  let command = arguments.joined(separator: " ")
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 1, output?.path ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
  let argv: [UnsafeMutablePointer<CChar>?] = (["/usr/bin/env"] + arguments).map { strdup($0) } + [nil]
  defer { for a in argv { free(a) } }
  var pid: pid_t = 0
  let start = Date()
  let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
  guard spawned == 0 else { throw HarnessError(command, "could not start (\(String(cString: strerror(spawned))))") }
  var status: Int32 = 0
  var usage = rusage()
  var reaped: pid_t
  repeat { reaped = wait4(pid, &status, 0, &usage) } while reaped < 0 && errno == EINTR
  let seconds = Date().timeIntervalSince(start)
  guard reaped == pid else { throw HarnessError(command, "wait4 failed (\(String(cString: strerror(errno))))") }
  guard status == 0 else { throw HarnessError(command, "failed (wait status \(status))") }
  func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
  return Timed(
    seconds: seconds, cpuSeconds: s(usage.ru_utime) + s(usage.ru_stime), peakMiB: Double(usage.ru_maxrss) / 1024)
}

/// The whole protocol of `configs/protocol.yaml`, ours against the PyTorch peer
/// (`bench/pytorch_protocol.py`, 2 processes of 1 thread), in alternating rounds.
func protocolBench(rounds: Int, models: Int) throws {
  let fm = FileManager.default
  let tmp = fm.temporaryDirectory.appendingPathComponent("unlearn-protocol-\(UUID().uuidString)")
  defer { try? fm.removeItem(at: tmp) }
  var spec = try ExperimentSpec.load(file: URL(fileURLWithPath: "configs/protocol.yaml"))
  spec.evaluation.models = models
  let config = tmp.appendingPathComponent("protocol.yaml")
  try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
  try Data(spec.yaml.utf8).write(to: config)
  // The peer's data: the digits as unlearn loads them, and the same splits.
  let experiment = try PreparedExperiment(spec: spec)
  let data = tmp.appendingPathComponent("data")
  try fm.createDirectory(at: data, withIntermediateDirectories: true)
  let d = experiment.dataset
  try NPYArray(shape: [d.count, d.examples.features.rowLength], storage: .float32(d.examples.features.scalars))
    .encoded().write(to: data.appendingPathComponent("features.npy"))
  try NPYArray(shape: [d.count], storage: .int64(d.examples.labels.map(Int64.init))).encoded().write(
    to: data.appendingPathComponent("labels.npy"))
  let s = experiment.splits
  let splits: [String: [Int]] = ["train": s.train, "forget": s.forget, "retain": s.retain, "test": s.test]
  try JSONSerialization.data(withJSONObject: splits).write(to: data.appendingPathComponent("splits.json"))

  let torchAvailable = (try? timedRun(["python3", "-c", "import torch"])) != nil
  var ours = [Timed](), theirs = [Timed](), scoring = [Double]()
  for r in 0..<rounds {
    let out = tmp.appendingPathComponent("run-\(r)")
    ours.append(
      try timedRun([
        CommandLine.arguments[0].replacingOccurrences(of: "unlearn-bench", with: "unlearn"), "evaluate", "--config",
        config.path, "--out", out.path, "--quiet",
      ]))
    // Scoring alone: the same command on the finished folder (load, metrics, reports, manifest).
    try? fm.removeItem(at: out.appendingPathComponent("results.json"))
    scoring.append(
      try timedRun([
        CommandLine.arguments[0].replacingOccurrences(of: "unlearn-bench", with: "unlearn"), "evaluate", "--config",
        config.path, "--out", out.path, "--quiet",
      ]).seconds)
    try? fm.removeItem(at: out)
    if torchAvailable {
      theirs.append(
        try timedRun(
          ["python3", "bench/pytorch_protocol.py", data.path, "--models", "\(models)", "--workers", "2"],
          output: tmp.appendingPathComponent("peer-\(r).json")))
    }
  }
  let cores = Double(WorkerPool.availableCores)
  print("The challenge protocol (configs/protocol.yaml: original, \(models) retrained, fine-tuned and gradient-ascent")
  print("models, digits MLP 64-128-128-10), whole process, \(rounds) alternating rounds, \(Int(cores)) cores")
  print("| round | unlearn evaluate | CPU use | peak memory | scoring alone | PyTorch peer | ratio |")
  print("|---|---|---|---|---|---|---|")
  for r in 0..<rounds {
    let o = ours[r]
    let peer = r < theirs.count ? String(format: "%.1f s", theirs[r].seconds) : "n/a"
    let ratio = r < theirs.count ? String(format: "%.2f×", theirs[r].seconds / o.seconds) : "n/a"
    let cells = [
      "\(r + 1)", String(format: "%.1f s", o.seconds),
      String(format: "%.0f %%", 100 * o.cpuSeconds / o.seconds / cores),
      String(format: "%.0f MiB", o.peakMiB), String(format: "%.1f s", scoring[r]), peer, ratio,
    ]
    print("| " + cells.joined(separator: " | ") + " |")
  }
  let medianOurs = median(ours.map(\.seconds))
  if !theirs.isEmpty {
    let ratios = zip(theirs, ours).map { $0.seconds / $1.seconds }
    print(
      String(
        format: "| **median** | **%.1f s** | %.0f %% | %.0f MiB | %.1f s | %.1f s | **%.2f×** (target ≥ 4.5×) |",
        medianOurs, 100 * median(ours.map { $0.cpuSeconds / $0.seconds }) / cores, ours.map(\.peakMiB).max() ?? 0,
        median(scoring), median(theirs.map(\.seconds)), median(ratios)))
    if let text = try? String(contentsOf: tmp.appendingPathComponent("peer-0.json"), encoding: .utf8),
      let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    {
      print(
        String(
          format: "PyTorch %@, 2 processes × 1 thread: training %.1f s, scoring %.1f s (round 1)",
          json["torch"] as? String ?? "?", json["training_seconds"] as? Double ?? 0,
          json["scoring_seconds"] as? Double ?? 0))
    }
  } else {
    print("PyTorch peer not run: install torch (pip install torch) to measure it in the same run.")
  }
}
