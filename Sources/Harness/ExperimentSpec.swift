import Foundation
import Networks
import Yams

/// Where the data comes from.
public struct DatasetSpec: Codable, Sendable, Equatable {
  /// A dataset folder or manifest CSV, relative to the working directory.
  public var path: String
  public var layout: DatasetLayout

  public init(path: String = "datasets/digits", layout: DatasetLayout = .auto) {
    self.path = path
    self.layout = layout
  }
}

/// Which model to train.
public struct ModelSpec: Codable, Sendable, Equatable {
  public var architecture: ArchitectureKind
  /// MLP hidden widths.
  public var hidden: [Int]
  /// CNN block channels.
  public var channels: [Int]

  public init(architecture: ArchitectureKind = .mlp, hidden: [Int] = [128, 128], channels: [Int] = [16, 32]) {
    self.architecture = architecture
    self.hidden = hidden
    self.channels = channels
  }

  /// The full architecture for a dataset's input shape and class count.
  public func architecture(inputShape: [Int], numClasses: Int) -> Architecture {
    Architecture(kind: architecture, inputShape: inputShape, numClasses: numClasses, hidden: hidden, channels: channels)
  }
}

/// What `unlearn evaluate` runs.
public struct EvaluationSpec: Codable, Sendable, Equatable {
  /// N: seeds of every algorithm, and retrained reference models (default 64; the challenge used 512).
  public var models: Int
  /// Algorithms to evaluate besides the retrain reference, which always runs.
  public var algorithms: [String]
  /// Worker threads (0: one per core). Outputs do not depend on it.
  public var workers: Int
  /// Seconds one unlearning job may take (0: unlimited). Approximate methods stop
  /// and return their model so far; exact methods fail the job.
  public var timeBudget: Double
  /// Sequential deletion requests: round 1 forgets the configured forget set, each
  /// later round a new random batch of the same size from what is left (default 1).
  public var rounds: Int
  /// Models trained on the whole training set with other seeds (the IN references of
  /// LiRA and RMIA online; 0: none). Default 16.
  public var referenceOriginals: Int
  /// U-LiRA shadow train-then-unlearn runs per approximate algorithm (0: off, the default).
  public var uliraShadows: Int = 0

  public init(
    models: Int = 64, algorithms: [String] = ["finetune", "gradient-ascent"], workers: Int = 0, timeBudget: Double = 0,
    rounds: Int = 1,
    referenceOriginals: Int = 16
  ) {
    self.referenceOriginals = referenceOriginals
    self.models = models
    self.algorithms = algorithms
    self.workers = workers
    self.timeBudget = timeBudget
    self.rounds = rounds
  }
}

/// A complete experiment configuration. Every field has a default, so an
/// empty file (or none) is the embedded digits run.
///
/// ```yaml
/// name: digits
/// seed: 0
/// dataset: {path: datasets/digits, layout: auto}
/// split:
///   seed: 0
///   test_fraction: 0.2
///   validation_fraction: 0.1
///   stratified: true
///   forget: {strategy: random, fraction: 0.1}   # or class / group / ids
/// model: {architecture: mlp, hidden: [128, 128]}
/// training: {epochs: 30, batch_size: 64, optimizer: sgd, learning_rate: 0.05,
///            momentum: 0.9, weight_decay: 0.0005, schedule: cosine, class_weighting: none}
/// evaluation: {models: 64, algorithms: [finetune, gradient-ascent], workers: 0, time_budget: 0, rounds: 1,
///              reference_originals: 16}
/// algorithms:                       # hyper-parameters per algorithm (defaults in each algorithm's docs)
///   finetune: {epochs: 5, learning_rate: 0.01}
/// ```
public struct ExperimentSpec: Codable, Sendable, Equatable {
  public var name: String
  /// Experiment seed: every random stream is derived from it (see `Seeds`).
  public var seed: UInt64
  public var dataset: DatasetSpec
  public var split: SplitConfig
  public var model: ModelSpec
  public var training: TrainingConfig
  public var evaluation: EvaluationSpec
  /// Hyper-parameters by algorithm name, as written (each algorithm validates its own).
  public var algorithms: [String: HyperParameters]

  public init(
    name: String = "digits", seed: UInt64 = 0, dataset: DatasetSpec = DatasetSpec(), split: SplitConfig = SplitConfig(),
    model: ModelSpec = ModelSpec(), training: TrainingConfig = TrainingConfig(),
    evaluation: EvaluationSpec = EvaluationSpec(),
    algorithms: [String: HyperParameters] = [:]
  ) {
    self.name = name
    self.seed = seed
    self.dataset = dataset
    self.split = split
    self.model = model
    self.training = training
    self.evaluation = evaluation
    self.algorithms = algorithms
  }

  /// The default: digits, MLP 64-128-128-10.
  public static var digitsDefault: ExperimentSpec { ExperimentSpec() }

  /// Reads a YAML configuration; unknown keys and ill-typed values are errors naming the key.
  public static func load(yaml text: String, file: String = "config") throws -> ExperimentSpec {
    let r = try ConfigReader.parse(yaml: text, file: file)
    var spec = ExperimentSpec()
    spec.name = try r.string("name", default: spec.name)
    spec.seed = UInt64(try r.int("seed", default: 0, range: 0...Int.max))
    let d = try r.section("dataset")
    spec.dataset.path = try d.string("path", default: spec.dataset.path)
    spec.dataset.layout = try d.choice("layout", default: spec.dataset.layout)
    try d.finish()
    let s = try r.section("split")
    spec.split.seed = UInt64(try s.int("seed", default: 0, range: 0...Int.max))
    spec.split.testFraction = try s.double("test_fraction", default: spec.split.testFraction)
    spec.split.validationFraction = try s.double("validation_fraction", default: spec.split.validationFraction)
    spec.split.stratified = try s.bool("stratified", default: spec.split.stratified)
    let f = try s.section("forget")
    spec.split.forget.strategy = try f.choice("strategy", default: spec.split.forget.strategy)
    spec.split.forget.fraction = try f.double("fraction", default: spec.split.forget.fraction)
    spec.split.forget.className = try f.optionalString("class")
    spec.split.forget.groups = try f.strings("groups", default: [])
    spec.split.forget.ids = try f.ints("ids", default: [])
    try f.finish()
    try s.finish()
    let m = try r.section("model")
    spec.model.architecture = try m.choice("architecture", default: spec.model.architecture)
    spec.model.hidden = try m.ints("hidden", default: spec.model.hidden)
    spec.model.channels = try m.ints("channels", default: spec.model.channels)
    try m.finish()
    let t = try r.section("training")
    spec.training = try t.training(defaults: spec.training)
    try t.finish()
    let e = try r.section("evaluation")
    spec.evaluation.models = try e.int("models", default: spec.evaluation.models, range: 2...1_000_000)
    spec.evaluation.algorithms = try e.strings("algorithms", default: spec.evaluation.algorithms)
    spec.evaluation.workers = try e.int("workers", default: spec.evaluation.workers, range: 0...4096)
    spec.evaluation.timeBudget = try e.double("time_budget", default: spec.evaluation.timeBudget)
    spec.evaluation.rounds = try e.int("rounds", default: spec.evaluation.rounds, range: 1...1000)
    spec.evaluation.referenceOriginals = try e.int(
      "reference_originals", default: spec.evaluation.referenceOriginals, range: 0...100_000)
    spec.evaluation.uliraShadows = try e.int("ulira_shadows", default: spec.evaluation.uliraShadows, range: 0...100_000)
    guard spec.evaluation.timeBudget >= 0 else {
      throw HarnessError("\(file): evaluation.time_budget", "must be ≥ 0 seconds (0: unlimited)")
    }
    try e.finish()
    spec.algorithms = try r.hyperParameters("algorithms")
    try r.finish()
    return spec
  }

  /// Reads a YAML configuration file.
  public static func load(file url: URL) throws -> ExperimentSpec {
    guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8)
    else {
      throw HarnessError(url.path, "configuration file is missing or unreadable")
    }
    return try load(yaml: text, file: url.path)
  }

  /// The resolved configuration as YAML (every default written out), readable by ``load(yaml:file:)``.
  public var yaml: String {
    func list(_ a: [Int]) -> String { "[" + a.map(String.init).joined(separator: ", ") + "]" }
    func quoted(_ s: String) -> String {
      "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
    var lines = [
      "name: \(quoted(name))", "seed: \(seed)", "dataset:", "  path: \(quoted(dataset.path))",
      "  layout: \(dataset.layout.rawValue)",
      "split:", "  seed: \(split.seed)", "  test_fraction: \(split.testFraction)",
      "  validation_fraction: \(split.validationFraction)", "  stratified: \(split.stratified)", "  forget:",
      "    strategy: \(split.forget.strategy.rawValue)", "    fraction: \(split.forget.fraction)",
    ]
    if let c = split.forget.className { lines.append("    class: \(quoted(c))") }
    if !split.forget.groups.isEmpty {
      lines.append("    groups: [" + split.forget.groups.map(quoted).joined(separator: ", ") + "]")
    }
    if !split.forget.ids.isEmpty { lines.append("    ids: \(list(split.forget.ids))") }
    lines += [
      "model:", "  architecture: \(model.architecture.rawValue)", "  hidden: \(list(model.hidden))",
      "  channels: \(list(model.channels))",
      "training:", "  epochs: \(training.epochs)", "  batch_size: \(training.batchSize)",
      "  optimizer: \(training.optimizer.rawValue)",
      "  learning_rate: \(training.learningRate)", "  momentum: \(training.momentum)",
      "  weight_decay: \(training.weightDecay)",
      "  schedule: \(training.schedule.rawValue)", "  class_weighting: \(training.classWeighting.rawValue)",
      "evaluation:", "  models: \(evaluation.models)",
      "  algorithms: [" + evaluation.algorithms.map { ConfigValue.string($0).description }.joined(separator: ", ")
        + "]",
      "  workers: \(evaluation.workers)", "  time_budget: \(evaluation.timeBudget)", "  rounds: \(evaluation.rounds)",
      "  reference_originals: \(evaluation.referenceOriginals)", "  ulira_shadows: \(evaluation.uliraShadows)",
    ]
    if !algorithms.isEmpty {
      lines.append("algorithms:")
      for name in algorithms.keys.sorted() { lines.append("  \(ConfigValue.string(name)): \(algorithms[name]!.yaml)") }
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
