import Foundation
import Harness
import NumericCore
import Synchronization

/// Set by SIGINT: the runner starts no new job, finished ones are kept.
let interrupted = Atomic<Bool>(false)

/// Runs one evaluation as `unlearn evaluate` does (shared with `unlearn rerun`).
enum EvaluationSession {
  /// Installs the SIGINT handler that stops a run cleanly.
  static func handleInterrupts() {
    signal(SIGINT) { _ in
      interrupted.store(true, ordering: .relaxed)
    }
    // A parent may have spawned us with SIGINT blocked (the mask is inherited); unblock it
    // before any worker thread starts, so that the handler above runs.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  /// Runs `spec` into `out` and writes results, reports and `manifest.json`; with a `shard`,
  /// runs only its share of the jobs, writes `shard.json` and returns nil (`unlearn merge` scores).
  @discardableResult
  static func run(
    _ spec: ExperimentSpec, out: String, file: String, shard: ShardSpec? = nil, quiet: Bool = false,
    log: @escaping @Sendable (String) -> Void
  ) throws -> EvaluationReport? {
    var names = ["retrain"]
    for n in spec.evaluation.algorithms where !names.contains(n) { names.append(n) }
    let algos = try names.map { try Registry.algorithm($0, spec: spec, file: file) }
    let threads = spec.evaluation.workers > 0 ? spec.evaluation.workers : WorkerPool.availableCores
    let start = Date()
    let experiment = try PreparedExperiment(spec: spec)
    let folder = RunFolder(URL(fileURLWithPath: out))
    var runner = EvaluationRunner(
      experiment: experiment, algorithms: algos, models: spec.evaluation.models, workers: threads, folder: folder,
      timeBudget: spec.evaluation.timeBudget > 0 ? spec.evaluation.timeBudget : nil, rounds: spec.evaluation.rounds,
      referenceOriginals: spec.evaluation.referenceOriginals)
    runner.uliraShadows = spec.evaluation.uliraShadows
    runner.shouldStop = { interrupted.load(ordering: .relaxed) }
    runner.shard = shard
    let meter = ProgressMeter(quiet: quiet)
    runner.onJobDone = { meter.update(done: $0, total: $1) }
    log(
      "\(spec.name)\(shard.map { " shard \($0)" } ?? ""): \(experiment.dataset.count) images, forget \(experiment.splits.forget.count), retain \(experiment.splits.retain.count), test \(experiment.splits.test.count); \(spec.evaluation.models) models × \(names.joined(separator: ", ")) → \(folder.url.path)"
    )
    let outcome = try runner.run(progress: log)
    if interrupted.load(ordering: .relaxed) {
      throw HarnessError(
        "interrupted",
        "finished jobs are kept in \(folder.url.path); run the same command again to resume from where it stopped")
    }
    if let shard {
      let record = ShardRecord(
        toolVersion: toolVersion, shard: shard, jobs: outcome.assigned, failures: outcome.failures)
      try writeAtomically(try record.json(), to: folder.url.appendingPathComponent("shard.json"))
      log(
        "shard \(shard): \(outcome.assigned.count) jobs (\(outcome.jobsSkipped) already done, \(outcome.failures.count) failed) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s; when every shard is done: unlearn merge SHARD_DIR... --out RUN"
      )
      for f in outcome.failures { log("failed: \(f.algorithm) #\(f.index): \(f.reason)") }
      return nil
    }
    log("scoring")
    let report = try EvaluationReport.make(
      outcome: outcome, runner: runner, metrics: Registry.metrics, toolVersion: toolVersion)
    try report.write(to: folder.url)
    let manifest = try RunManifest.make(
      folder: folder, experiment: experiment, toolVersion: toolVersion, workers: threads)
    try writeAtomically(try manifest.json(), to: folder.url.appendingPathComponent("manifest.json"))
    log(
      "wrote \(folder.url.path)/results.json, table.md, table.csv, table.tex, report.html, plots/ and manifest.json in \(String(format: "%.1f", Date().timeIntervalSince(start))) s"
    )
    for f in outcome.failures { log("failed: \(f.algorithm) #\(f.index): \(f.reason)") }
    return report
  }
}
