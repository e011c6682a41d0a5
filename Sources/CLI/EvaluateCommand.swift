import ArgumentParser
import Foundation
import Harness
import NumericCore

/// `unlearn evaluate`: the whole evaluation, from PNGs to the result table.
struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train the original model, run every algorithm N times next to N retrained models, and score them.",
    discussion: """
      Writes RUN/results.json, table.md and table.csv, and per model the logits on every split (.npy).
      Running it again with the same arguments skips finished jobs (a killed run resumes).
      Outputs are identical whatever the number of workers.
      """)

  @OptionGroup var options: ConfigOptions

  @Option(help: ArgumentHelp("Run folder (default: results/<name>).", valueName: "dir"))
  var out: String?

  @Option(help: ArgumentHelp("Models per algorithm, and retrained references (default: the configuration's evaluation.models, 64).", valueName: "n"))
  var models: Int?

  @Option(help: ArgumentHelp("Worker threads (default: one per core).", valueName: "n"))
  var workers: Int?

  @Option(
    help: ArgumentHelp(
      "Comma-separated algorithms to evaluate; the retrain reference always runs (known: \(Registry.algorithmNames.joined(separator: ", "))).",
      valueName: "a,b,..."))
  var algorithms: String?

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
        spec.evaluation.algorithms = algorithms.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      }
      let log: @Sendable (String) -> Void = { [quiet] line in
        if !quiet { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
      }
      EvaluationSession.handleInterrupts()
      let report = try EvaluationSession.run(spec, out: out ?? "results/\(spec.name)", file: file, log: log)
      print(report.markdown, terminator: "")
    }
  }
}
