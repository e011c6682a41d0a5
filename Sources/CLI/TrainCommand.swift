import ArgumentParser
import Foundation
import Harness
import Networks
import NumericCore

/// `unlearn train`: trains the original model and reports accuracy on every split.
struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train the original model and report its accuracy on each split.")

  @OptionGroup var options: ConfigOptions

  @Option(help: ArgumentHelp("Write splits.json, model.safetensors and architecture.json here.", valueName: "dir"))
  var out: String?

  @Flag(help: "Print the result as JSON.")
  var json = false

  @Flag(help: "Print nothing while training.")
  var quiet = false

  func run() throws {
    try reportingErrors {
      let spec = try options.load()
      let experiment = try PreparedExperiment(spec: spec)
      let start = Date()
      let epochs = spec.training.epochs
      let weights = try experiment.trainOriginal { epoch, loss in
        if !quiet && !json && (epoch + 1 == epochs || (epoch + 1) % 10 == 0) {
          FileHandle.standardError.write(
            Data("epoch \(epoch + 1)/\(epochs)  loss \(String(format: "%.4f", loss))\n".utf8))
        }
      }
      let seconds = Date().timeIntervalSince(start)
      let accs = try experiment.accuracies(weights)
      if let out {
        let dir = URL(fileURLWithPath: out)
        try ModelFiles.save(weights, to: dir)
        let splitsJSON = try experiment.splits.jsonData(
          numExamples: experiment.dataset.count, datasetSHA256: experiment.dataset.fileListSHA256, config: spec.split)
        try writeAtomically(splitsJSON, to: dir.appendingPathComponent("splits.json"))
      }
      if json {
        struct Report: Encodable {
          var model: String
          var parameters: Int
          var trainSeconds: Double
          var accuracy: [String: Double]
          var examples: [String: Int]
        }
        try printJSON(
          Report(
            model: spec.model.architecture.rawValue, parameters: weights.parameters.count, trainSeconds: seconds,
            accuracy: Dictionary(uniqueKeysWithValues: accs.map { ($0.split, $0.accuracy) }),
            examples: Dictionary(uniqueKeysWithValues: experiment.splits.named.map { ($0.name, $0.ids.count) })))
        return
      }
      let arch = experiment.architecture
      print(
        "\(spec.name): \(arch.kind.rawValue) on \(experiment.dataset.count) images \(experiment.dataset.shape), "
          + "\(weights.parameters.count) parameters, trained in \(String(format: "%.2f", seconds)) s"
      )
      print("split        examples  accuracy")
      for (name, acc) in accs {
        let n = experiment.splits.named.first { $0.name == name }!.ids.count
        print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%9d  %7.2f%%", n, acc * 100))
      }
    }
  }
}
