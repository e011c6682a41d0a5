import ArgumentParser
import Foundation
import Harness

/// `unlearn merge SHARD_DIR... --out RUN`: joins the folders of `unlearn evaluate --shard`
/// into one run and scores it.
struct Merge: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Join the shard folders of one evaluation (unlearn evaluate --shard i/n) into one run, and score it.",
    discussion: """
      Checks that the folders are one complete set of shards of the same experiment (every index once, identical
      configuration, splits and original model), copies their outputs into RUN, and scores it as unlearn evaluate
      would: the logits, weights, labels and manifest hashes are byte-identical to a run on one machine. Jobs that
      failed in a shard run again here, as on a resume; U-LiRA shadow runs, if configured, run here. Run it from the
      folder the shards were run from, so that the dataset path of the configuration resolves the same way.
      """)

  @Argument(help: ArgumentHelp("The shard folders.", valueName: "shard-dir"))
  var shardFolders: [String]

  @Option(help: ArgumentHelp("The merged run folder (must not exist, or be empty).", valueName: "dir"))
  var out: String

  @Option(help: ArgumentHelp("Worker threads for what is left to do (default: the configuration's).", valueName: "n"))
  var workers: Int?

  @Flag(help: "Print nothing but the table.")
  var quiet = false

  func run() throws {
    try reportingErrors {
      let log: @Sendable (String) -> Void = { [quiet] line in
        if !quiet { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
      }
      let shards = shardFolders.map { URL(fileURLWithPath: $0) }
      let target = URL(fileURLWithPath: out)
      let records = try ShardMerge.merge(shards, into: target)
      let config = target.appendingPathComponent("config.yaml")
      guard let yaml = FileManager.default.contents(atPath: config.path) else {
        throw HarnessError(
          shards[0].appendingPathComponent("config.yaml").path, "missing: the shard folder is incomplete")
      }
      var spec = try ExperimentSpec.load(yaml: String(decoding: yaml, as: UTF8.self), file: config.path)
      if let workers { spec.evaluation.workers = workers }
      let jobs = records.map(\.jobs.count).reduce(0, +), failed = records.map(\.failures.count).reduce(0, +)
      log(
        "merged \(records.count) shards (\(jobs) jobs\(failed > 0 ? ", \(failed) failed: they run again now" : "")) into \(target.path)"
      )
      EvaluationSession.handleInterrupts()
      if let report = try EvaluationSession.run(spec, out: target.path, file: config.path, quiet: quiet, log: log) {
        print(report.markdown, terminator: "")
      }
    }
  }
}
