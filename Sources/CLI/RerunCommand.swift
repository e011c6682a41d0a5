import ArgumentParser
import Foundation
import Harness
import UnlearnKit

/// `unlearn rerun RUN --verify`: replays a run from its manifest and compares every output.
struct Rerun: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Re-execute a run from its manifest.json into a fresh folder; with --verify, compare every output file.",
    discussion: """
      Prints one line per deterministic output file (identical / different / missing / extra) and exits 0 only if all \
      are identical. For exact methods (retrain, SISA) this is a proof of unlearning by replay: anyone holding the data \
      can check that the stored models are exactly what the algorithm produces without the forget set. Wall times \
      (job.json and the reports that print them) are not compared. Run it from the folder the run was made in, so that \
      the dataset path of the configuration resolves the same way.
      """)

  @Argument(help: ArgumentHelp("The run folder.", valueName: "run"))
  var folder: String

  @Flag(help: "Compare the replay's outputs with the run's, file by file.")
  var verify = false

  @Option(help: ArgumentHelp("Where to replay (default: <run>.rerun; must not exist).", valueName: "dir"))
  var out: String?

  @Flag(help: "Print only the verdict.")
  var quiet = false

  func run() throws {
    try reportingErrors {
      let source = URL(fileURLWithPath: folder)
      let target = out ?? source.standardizedFileURL.path + ".rerun"
      let rows = try Evaluation.replay(source, evaluationOptions(out: target, file: "manifest.json", quiet: quiet))
      guard verify else { return }
      if !quiet { for r in rows { print("\(r.status)\t\(r.file)") } }
      let bad = rows.filter { $0.status != "identical" }
      print(
        bad.isEmpty
          ? "verified: all \(rows.count) files identical"
          : "NOT verified: \(bad.count) of \(rows.count) files differ or are missing")
      let declared = bad.filter { $0.status.contains("declared itself non-deterministic") }.count
      if declared > 0 {
        print(
          "\(declared) of them belong to jobs whose backend declared itself non-deterministic (backend.json); "
            + "their differences are expected, the others are not")
      }
      if !bad.isEmpty { throw ExitCode.failure }
    }
  }
}
