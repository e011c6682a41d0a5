import Attacks
import Baselines
import Foundation
import Harness
import NumericCore
import Reports

/// How an evaluation runs and reports, besides its configuration.
public struct EvaluationOptions: Sendable {
  /// The run folder.
  public var out: URL
  /// The configuration's file name, for messages.
  public var file: String
  /// Run only this share of the jobs (then ``Evaluation/run(_:_:)`` writes `shard.json` and scores nothing).
  public var shard: ShardSpec?
  /// The metrics scored (default: every registered one).
  public var metrics: [any Metric]
  /// Progress messages (stderr in the CLI).
  public var log: @Sendable (String) -> Void
  /// Called with (0, total) when the jobs start, then as each finishes.
  public var onJobDone: (@Sendable (_ done: Int, _ total: Int) -> Void)?
  /// Polled before each job: when true, no new job starts (SIGINT); finished ones are kept.
  public var shouldStop: @Sendable () -> Bool
  /// Start from the original models of this run folder (same experiment) instead of training them:
  /// shards of a non-deterministic backend (a GPU) then all unlearn from one original.
  public var originalFrom: URL? = nil
  /// Prepare the folder and train the originals, then stop (no jobs, no scores).
  public var originalsOnly = false

  public init(
    out: URL, file: String = "config", shard: ShardSpec? = nil, metrics: [any Metric] = Registry.metrics,
    log: @escaping @Sendable (String) -> Void = { _ in }, onJobDone: (@Sendable (Int, Int) -> Void)? = nil,
    shouldStop: @escaping @Sendable () -> Bool = { false }
  ) {
    self.out = out
    self.file = file
    self.shard = shard
    self.metrics = metrics
    self.log = log
    self.onJobDone = onJobDone
    self.shouldStop = shouldStop
  }
}

/// The evaluation pipeline of `unlearn evaluate`, `merge` and `rerun`, as a library
/// function that the command line, a participant's package and the tests call:
/// configuration → prepared experiment → runner (prepare, schedule, execute, load) →
/// scorer → reports and manifest.
public enum Evaluation {
  /// The algorithms of `spec`: the retrain reference first, then `evaluation.algorithms`
  /// (each built from its configuration section and validated).
  public static func algorithms(_ spec: ExperimentSpec, file: String) throws -> [any UnlearningAlgorithm] {
    var names = [Role.retrain.name]
    for n in spec.evaluation.algorithms where !names.contains(n) { names.append(n) }
    return try names.map { try Registry.algorithm($0, spec: spec, file: file) }
  }

  /// The runner of `spec` into `options.out`.
  public static func runner(_ spec: ExperimentSpec, _ options: EvaluationOptions) throws -> EvaluationRunner {
    let algorithms = try self.algorithms(spec, file: options.file)
    let plans = options.metrics.compactMap(\.shadowRuns)
    if spec.model.kind == .external { try EvaluationRunner.checkExternal(algorithms, shadowPlans: plans, spec) }
    let experiment = try PreparedExperiment(spec: spec)
    var runner = EvaluationRunner(
      experiment: experiment, algorithms: algorithms, models: spec.evaluation.models,
      workers: spec.evaluation.workers > 0 ? spec.evaluation.workers : WorkerPool.availableCores,
      store: RunStore(options.out, rounds: spec.evaluation.rounds),
      timeBudget: spec.evaluation.timeBudget > 0 ? spec.evaluation.timeBudget : nil,
      referenceOriginals: spec.evaluation.referenceOriginals)
    runner.shadowPlans = plans
    runner.shouldStop = options.shouldStop
    runner.shard = options.shard
    runner.onJobDone = options.onJobDone
    return runner
  }

  /// Runs `spec` into `options.out` and writes `results.json`, the tables, `report.html`,
  /// the plots and `manifest.json`; with a shard, runs only its share of the jobs, writes
  /// `shard.json` and returns nil (`unlearn merge` scores).
  @discardableResult
  public static func run(_ spec: ExperimentSpec, _ options: EvaluationOptions) throws -> EvaluationReport? {
    let start = Date()
    let lock = try RunLock(options.out)
    defer { withExtendedLifetime(lock) {} }
    let runner = try self.runner(spec, options)
    let exp = runner.experiment, log = options.log
    if let from = options.originalFrom { try adoptOriginals(from: from, runner, log: log) }
    if options.originalsOnly {
      try runner.prepareOnly(progress: log)
      log(
        "trained the original\(spec.evaluation.originals == 1 ? "" : "s") into \(options.out.path); run the shards "
          + "with --original-from \(options.out.path)")
      return nil
    }
    let names = runner.algorithms.map(\.name).filter { $0 != OriginalSeeds.name }
    log(
      "\(spec.name)\(options.shard.map { " shard \($0)" } ?? ""): \(exp.dataset.count) images, "
        + "forget \(exp.splits.forget.count), retain \(exp.splits.retain.count), test \(exp.splits.test.count); "
        + "\(spec.evaluation.models) models × \(names.joined(separator: ", ")) → \(options.out.path)")
    let outcome = try runner.run(progress: log)
    if options.shouldStop() {
      throw HarnessError(
        "interrupted",
        "finished jobs are kept in \(options.out.path); run the same command again to resume from where it stopped")
    }
    let elapsed = { String(format: "%.1f", Date().timeIntervalSince(start)) }
    if let shard = options.shard {
      try writeShardRecord(shard, outcome, options.out)
      log(
        "shard \(shard): \(outcome.assigned.count) jobs (\(outcome.jobsSkipped) already done, "
          + "\(outcome.failures.count) failed) in \(elapsed()) s; when every shard is done: "
          + "unlearn merge SHARD_DIR... --out RUN")
      for f in outcome.failures { log("failed: \(f.job): \(f.reason)") }
      return nil
    }
    log("scoring")
    let report = try score(outcome, runner, metrics: options.metrics)
    log(
      "wrote \(options.out.path)/results.json, table.md, table.csv, table.tex, report.html, plots/ and "
        + "manifest.json in \(elapsed()) s"
    )
    for f in outcome.failures { log("failed: \(f.job): \(f.reason)") }
    for w in report.notes where w.hasPrefix("Warning: ") { log("warning: " + w.dropFirst("Warning: ".count)) }
    return report
  }

  /// Scores what the runner loaded, writes the reports and the manifest.
  static func score(_ outcome: EvaluationRunner.Outcome, _ runner: EvaluationRunner, metrics: [any Metric]) throws
    -> EvaluationReport
  {
    let scorer = Scorer(metrics: metrics, workers: runner.workers, experimentSeed: runner.experiment.spec.seed)
    let report = try EvaluationReport.make(outcome: outcome, runner: runner, scorer: scorer, toolVersion: toolVersion)
    try profiled("reports") { try ReportWriter.write(report, to: runner.store.root, workers: runner.workers) }
    let manifest = try profiled("manifest") {
      try RunManifest.make(
        store: runner.store, experiment: runner.experiment, toolVersion: toolVersion, workers: runner.workers)
    }
    try writeAtomically(try manifest.json(), to: runner.store.file(RunStore.manifestFile))
    return report
  }

  /// Copies `from`'s `original/` into the run folder when it has none, after checking that `from`
  /// holds the same experiment (identity) on the same data (`dataset.tsv`) with every original trained.
  static func adoptOriginals(from: URL, _ runner: EvaluationRunner, log: (String) -> Void) throws {
    let source = RunStore(from), store = runner.store, fm = FileManager.default
    guard !fm.fileExists(atPath: store.originalDirectory().path) else { return }  // a resume
    let identity = fm.contents(atPath: source.file(RunStore.identityFile).path)
    guard let identity, String(decoding: identity, as: UTF8.self) == RunStore.identity(runner.experiment.spec) else {
      throw HarnessError(
        "--original-from \(from.path)",
        "is not a run folder of this experiment (its identity.yaml differs, or is missing); train the originals "
          + "with the same configuration: unlearn evaluate --config FILE --out \(from.path) --originals-only")
    }
    guard
      fm.contents(atPath: source.file(RunStore.datasetFile).path) == Data(runner.experiment.dataset.contentListing.utf8)
    else {
      throw HarnessError("--original-from \(from.path)", "was trained on other data (its dataset.tsv differs)")
    }
    for k in 0..<runner.experiment.spec.evaluation.originals where try source.originalRecord(k) == nil {
      throw HarnessError(
        "--original-from \(from.path)", "has no trained original \(k) (run it with --originals-only to the end)")
    }
    try fm.createDirectory(at: store.root, withIntermediateDirectories: true)
    try fm.copyItem(at: source.originalDirectory(), to: store.originalDirectory())
    log("starting from the original\(runner.experiment.spec.evaluation.originals == 1 ? "" : "s") of \(from.path)")
  }

  static func writeShardRecord(_ shard: ShardSpec, _ outcome: EvaluationRunner.Outcome, _ out: URL) throws {
    let record = ShardRecord(toolVersion: toolVersion, shard: shard, jobs: outcome.assigned, failures: outcome.failures)
    try writeAtomically(try record.json(), to: out.appendingPathComponent(RunStore.shardFile))
  }

  /// Joins shard folders into `options.out` (checking that they are one complete set) and
  /// scores the merged run; jobs that failed in a shard run again, as on a resume.
  public static func merge(_ shards: [URL], _ options: EvaluationOptions, workers: Int? = nil) throws
    -> EvaluationReport?
  {
    let fm = FileManager.default
    let existed = fm.fileExists(atPath: options.out.path)
    let wasEmpty = ((try? fm.contentsOfDirectory(atPath: options.out.path)) ?? []).allSatisfy { $0 == RunLock.fileName }
    let lock = try RunLock(options.out)
    defer { withExtendedLifetime(lock) {} }
    let records: [ShardRecord]
    do { records = try ShardMerge.merge(shards, into: options.out) } catch {
      // Nothing of a refused merge stays behind to block the retry (the folder was new or empty).
      if !existed {
        try? fm.removeItem(at: options.out)
      } else if wasEmpty {
        for name in (try? fm.contentsOfDirectory(atPath: options.out.path)) ?? [] {
          try? fm.removeItem(at: options.out.appendingPathComponent(name))
        }
      }
      throw error
    }
    var spec = try RunStore(options.out).configuration()
    if let workers { spec.evaluation.workers = workers }
    let jobs = records.map(\.jobs.count).reduce(0, +), failed = records.map(\.failures.count).reduce(0, +)
    options.log(
      "merged \(records.count) shards (\(jobs) jobs\(failed > 0 ? ", \(failed) failed: they run again now" : "")) "
        + "into \(options.out.path)")
    var o = options
    o.file = RunStore(options.out).file(RunStore.configFile).path
    return try run(spec, o)
  }

  /// Refuses a leaderboard that would count one run twice (the same folder, or a copy: the same
  /// experiment, data and original) or pool runs of different datasets.
  /// A NaN in the ranked column is refused naming the run and the row.
  static func checkDistinct(_ runs: [URL], column: String) throws {
    var folders = [String: URL](), experiments = [String: URL]()
    var dataset: (hash: String, run: URL)? = nil
    for url in runs {
      let real = url.standardizedFileURL.resolvingSymlinksInPath().path
      if let first = folders[real] {
        throw HarnessError(url.path, "is the same run folder as \(first.path); give each run once")
      }
      folders[real] = url
      let report = try RunStore.open(url).results()
      let identity = [report.config, report.originalWeightsSHA256, report.datasetSHA256 ?? ""].joined(separator: "\n")
      if let first = experiments[identity] {
        throw HarnessError(
          url.path,
          "holds the same experiment as \(first.path) (same configuration, data and original model): its models are "
            + "not new replicates; give each run once, or run with another seed")
      }
      experiments[identity] = url
      for row in report.rows {
        if let v = row.metrics[column], [v.mean, v.std].contains(where: { $0?.isNaN == true }) {
          throw HarnessError(url.path, "\(row.algorithm): \(column) is NaN in results.json; score the run again")
        }
      }
      if let hash = report.datasetSHA256 ?? report.datasetFileListSHA256 {
        if let d = dataset, d.hash != hash {
          throw HarnessError(
            url.path,
            "was run on another dataset than \(d.run.path) (dataset hashes differ); a leaderboard ranks runs of one "
              + "dataset")
        }
        dataset = dataset ?? (hash, url)
      }
    }
  }

  /// The leaderboard of `column` over `runs` (each loaded with what the column's metric reads).
  public static func leaderboard(
    _ runs: [URL], by column: String, metrics: [any Metric] = Registry.metrics, replicates: Int, seed: UInt64,
    workers: Int = WorkerPool.availableCores, utilityTolerance: Double = Leaderboard.defaultUtilityTolerance
  ) throws -> Leaderboard {
    let metric = try Registry.metric(column: column, in: metrics)
    try checkDistinct(runs, column: column)
    let data = try runs.map { url in
      do { return try Leaderboard.load(url, for: metric) } catch let e as HarnessError {
        throw e.subject.hasPrefix(url.path) ? e : HarnessError("\(url.path): \(e.subject)", e.message)
      } catch {
        throw HarnessError(url.path, "cannot be read for the leaderboard (\(error))")
      }
    }
    return try Leaderboard.make(
      runs: data, metric: metric, column: column, replicates: replicates, seed: seed, workers: workers,
      utilityTolerance: utilityTolerance)
  }
}
