import ArgumentParser
import Foundation
import Harness
import Reports
import UnlearnKit

/// `unlearn merge SHARD_DIR... --out RUN`: joins the folders of `unlearn evaluate --shard`
/// into one run and scores it.
struct Merge: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Join the shard folders of one evaluation (unlearn evaluate --shard i/n) into one run, and score it.",
    discussion: """
      Checks that the folders are one complete set of shards of the same experiment (every index once, identical \
      configuration, splits and original model), copies their outputs into RUN, and scores it as unlearn evaluate \
      would: the logits, weights, labels and manifest hashes are byte-identical to a run on one machine. Jobs that \
      failed in a shard run again here, as on a resume. Run it from the folder the shards were run from, so that the \
      dataset path of the configuration resolves the same way.
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
      let options = evaluationOptions(out: out, file: "config.yaml", quiet: quiet)
      let shards = shardFolders.map { URL(fileURLWithPath: $0) }
      if let report = try Evaluation.merge(shards, options, workers: workers) {
        print(report.markdown, terminator: "")
        try exitIfJobsFailed(report.failedJobs)
      }
    }
  }
}
