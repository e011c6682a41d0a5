import ArgumentParser
import Foundation
import Harness
import NumericCore
import Reports
import UnlearnKit

/// `unlearn evaluate`: the whole evaluation, from PNGs to the result table.
struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train the original model, run every algorithm N times next to N retrained models, and score them.",
    discussion: """
      Writes RUN/results.json, table.md and table.csv, and per model the logits on every split (logits.npz, an array per split). \
      Running it again with the same arguments skips finished jobs (a killed run resumes). \
      Outputs are identical whatever the number of workers. Exit status: 0 when every job succeeded, 3 when some \
      jobs failed (their rows say why; the results are written), 1 when the run could not be done, 128 + the \
      signal's number when stopped by SIGINT, SIGTERM or SIGHUP (finished jobs are kept; run again to resume).
      """)

  @OptionGroup var options: ConfigOptions

  @Option(help: ArgumentHelp("Run folder (default: results/<name>).", valueName: "dir"))
  var out: String?

  @Option(
    help: ArgumentHelp(
      "Models per algorithm, and retrained references (default: the configuration's evaluation.models, 64).",
      valueName: "n"))
  var models: Int?

  @Option(help: ArgumentHelp("Worker threads (default: one per core).", valueName: "n"))
  var workers: Int?

  @Option(
    help: ArgumentHelp(
      "Comma-separated algorithms to evaluate; the retrain reference always runs (known: "
        + "\(Registry.algorithmNames.joined(separator: ", "))).",
      valueName: "a,b,..."))
  var algorithms: String?

  @Option(
    help: ArgumentHelp(
      "Run only share i of n of the jobs (0-based), for a cluster; join the shards with unlearn merge.",
      discussion:
        "Without it, a Slurm job array's SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT give the shard when set.",
      valueName: "i/n"))
  var shard: String?

  @Option(
    help: ArgumentHelp(
      "Number of shards, the index coming from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID.",
      valueName: "n"))
  var shards: Int?

  @Option(
    help: ArgumentHelp(
      "Start from the original models of this run folder (the same experiment) instead of training them.",
      discussion:
        "For shards of a non-deterministic backend (a GPU): train the originals once with --originals-only, then "
        + "give that folder to every shard, so that all of them unlearn from the same original.",
      valueName: "dir"))
  var originalFrom: String?

  @Flag(help: "Train the originals into --out, then stop (for --original-from).")
  var originalsOnly = false

  @Flag(help: "Print nothing but the table.")
  var quiet = false

  func validate() throws {
    if let models, models < 2 { throw ValidationError("--models must be at least 2, got \(models)") }
    if let workers, workers < 1 { throw ValidationError("--workers must be at least 1, got \(workers)") }
  }

  func run() throws {
    try reportingErrors {
      var spec = try options.load()
      let file = options.config ?? "config"
      try Registry.checkParameterSections(spec, file: file)
      if let models { spec.evaluation.models = models }
      if let workers { spec.evaluation.workers = workers }
      if let algorithms {
        spec.evaluation.algorithms = algorithms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
          .filter { !$0.isEmpty }
      }
      let log = logger(quiet: quiet)
      var assigned: ShardSpec? = nil
      if let shard {
        guard shards == nil else { throw HarnessError("--shards", "give either --shard i/n or --shards n, not both") }
        assigned = try ShardSpec(parsing: shard)
      } else if let (s, source) = try ShardSpec.fromEnvironment(ProcessInfo.processInfo.environment, shards: shards) {
        assigned = s
        log("shard \(s) (from \(source))")
      }
      if let assigned, assigned.count == 1 { log("one shard of one: running every job; unlearn merge still joins it") }
      let folder =
        out ?? (assigned.map { "results/\(spec.name).shard-\($0.index)-of-\($0.count)" } ?? "results/\(spec.name)")
      var options = evaluationOptions(out: folder, file: file, shard: assigned, quiet: quiet)
      options.originalFrom = originalFrom.map { URL(fileURLWithPath: $0) }
      options.originalsOnly = originalsOnly
      if originalsOnly {
        guard assigned == nil else {
          throw HarnessError("--originals-only", "trains the originals once: not with a shard")
        }
        try Evaluation.run(spec, options)
      } else if let report = try Evaluation.run(spec, options) {
        print(report.markdown, terminator: "")
        try exitIfJobsFailed(report.failedJobs)
      } else {
        try exitIfJobsFailed(try ShardRecord.read(URL(fileURLWithPath: folder)).failures.count)
      }
    }
  }
}
