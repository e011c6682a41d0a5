import ArgumentParser
import Foundation
import Harness

extension DatasetLayout: ExpressibleByArgument {}

/// `unlearn dataset`: dataset tools.
struct DatasetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dataset", abstract: "Inspect datasets.", subcommands: [Inspect.self])

  /// `unlearn dataset inspect PATH`: loads and checks every image, prints a JSON summary.
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Load a PNG dataset, check every file, and print a JSON summary.",
      discussion:
        "Prints num_examples, classes, per_class counts and shape [channels, height, width]; exits non-zero "
        + "with an error naming the offending file."
    )

    @Argument(help: ArgumentHelp("The dataset folder, or a manifest CSV.", valueName: "path"))
    var path: String

    @Option(help: "Dataset layout: \(DatasetLayout.allCases.map(\.rawValue).joined(separator: ", ")).")
    var layout: DatasetLayout = .auto

    func run() throws {
      try reportingErrors {
        let dataset = try Dataset.load(path: path, layout: layout)
        try printJSON(dataset.summary)
      }
    }
  }
}
