import ArgumentParser
import Foundation
import Harness
import UnlearnKit

/// `unlearn import --config FILE --out RUN [--from DIR]`: logits computed elsewhere become a run folder.
struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Turn logits computed elsewhere (.npy per model and split, with ids) into a run folder.",
    discussion: """
      For models trained outside unlearn, e.g. 512 reference models on a GPU cluster. The configuration must have \
      model.kind: external. Without --from, prepares RUN (splits.json lists the ids of every split; .work/data holds \
      the features) so that the logits can be computed on exactly those ids. With --from DIR, DIR holds \
      ids/<split>.npy (int64 ids of the rows; forget, retain, test, validation, audit), original/<split>.npy \
      (float32 or float64 logits [rows, classes]) with an optional original/checkpoint/ folder, and \
      <population>/<index>/<split>.npy for retrain, original-seeds or an algorithm of evaluation.algorithms. \
      Everything is checked before anything is written. Then unlearn evaluate --config FILE --out RUN runs what is \
      missing (an external algorithm's jobs from the original's checkpoint) and scores it all; merge and \
      leaderboard take the folder as any other.
      """)

  @OptionGroup var options: ConfigOptions

  @Option(help: ArgumentHelp("The folder of logits to import (without it: prepare RUN only).", valueName: "dir"))
  var from: String?

  @Option(help: ArgumentHelp("The run folder.", valueName: "dir"))
  var out: String

  func run() throws {
    try reportingErrors {
      let spec = try options.load()
      let file = options.config ?? "config"
      try Registry.checkParameterSections(spec, file: file)
      let imported = try Evaluation.importRun(
        spec, from: from.map { URL(fileURLWithPath: $0) },
        options: evaluationOptions(out: out, file: file, quiet: true))
      if imported.models.isEmpty {
        print("prepared \(out): compute the logits on the ids in \(out)/splits.json, then import them with --from")
      } else {
        let what = imported.models.keys.sorted().map { "\($0) \(imported.models[$0]!)" }.joined(separator: ", ")
        print("imported \(what) into \(out); score with: unlearn evaluate --config \(file) --out \(out)")
      }
    }
  }
}
