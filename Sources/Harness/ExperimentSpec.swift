import Foundation
import Networks
import NumericCore
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

/// Where the models come from: the harness's own networks, or an external backend's commands.
public enum ModelKind: String, Codable, Sendable, CaseIterable {
  /// The harness trains its own softmax, MLP or CNN (`model.architecture`).
  case builtin
  /// A command trains models and predicts (``ExternalModelCall``); the harness stores opaque checkpoints.
  case external
}

/// Which model to train.
public struct ModelSpec: Codable, Sendable, Equatable {
  public var kind: ModelKind = .builtin
  public var architecture: ArchitectureKind
  /// MLP hidden widths.
  public var hidden: [Int]
  /// CNN block channels.
  public var channels: [Int]
  /// External: the backend's command (a list of arguments, or `/bin/sh -c` and one line).
  public var command: [String] = []
  /// External: seconds one training may take (0: a day).
  public var timeout: Double = 0
  /// External: variables of the environment passed to the command (e.g. `CUDA_VISIBLE_DEVICES`).
  public var passEnvironment: [String] = []
  /// External: the backend's own settings (its network, …), passed as `model_parameters`.
  public var parameters = HyperParameters()

  public init(architecture: ArchitectureKind = .mlp, hidden: [Int] = [128, 128], channels: [Int] = [16, 32]) {
    self.architecture = architecture
    self.hidden = hidden
    self.channels = channels
  }

  /// An external backend run as `command`.
  public static func external(
    command: [String], parameters: [String: ConfigValue] = [:], timeout: Double = 0, passEnvironment: [String] = []
  ) -> ModelSpec {
    var m = ModelSpec()
    m.kind = .external
    m.command = command
    m.parameters = HyperParameters(parameters)
    m.timeout = timeout
    m.passEnvironment = passEnvironment
    return m
  }

  /// The seconds one training of an external model may take.
  public var trainingTimeout: Double { timeout > 0 ? timeout : 86_400 }

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
  /// U-LiRA shadow train-then-unlearn runs per approximate algorithm (0: off, the default; else ≥ 4).
  public var uliraShadows: Int = 0
  /// K: originals trained with different seeds; model i of every algorithm unlearns from original
  /// i mod K, so that the spread over models includes the original's training variance (1: the
  /// challenge's protocol, one original).
  public var originals: Int = 1

  public init(
    models: Int = 64, algorithms: [String] = ["finetune", "gradient-ascent"], workers: Int = 0, timeBudget: Double = 0,
    rounds: Int = 1, referenceOriginals: Int = 16, originals: Int = 1
  ) {
    self.originals = originals
    self.referenceOriginals = referenceOriginals
    self.models = models
    self.algorithms = algorithms
    self.workers = workers
    self.timeBudget = timeBudget
    self.rounds = rounds
  }
}

/// A complete experiment configuration. Every field has a default, so an empty file
/// (or none) is the embedded digits run. The keys, their defaults and their meaning are
/// the table ``fields``: `unlearn config` prints it as a commented YAML file
/// (``documentedExample``), and the README shows the same text.
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

  /// Every key of the configuration but the algorithms' own sections, in file order.
  public static var fields: [ConfigField<ExperimentSpec>] {
    typealias F = ConfigField<ExperimentSpec>
    let fraction = { (v: Double) -> String? in (0..<1).contains(v) ? nil : "must be in [0, 1), got \(v)" }
    return [
      .string("name", \.name, "the run folder is results/<name>"),
      .seed("seed", \.seed, "every random stream is derived from it"),
      .string("dataset.path", \.dataset.path, "a dataset folder or a manifest CSV"),
      .choice("dataset.layout", \.dataset.layout, "auto, manifest, imagefolder or kaggle"),
      .seed("split.seed", \.split.seed, "seed of the split (independent of training)"),
      .double("split.test_fraction", \.split.testFraction, "share of the data held out for testing", check: fraction),
      .double(
        "split.validation_fraction", \.split.validationFraction, "share held out for validation", check: fraction),
      .double(
        "split.audit_fraction", \.split.auditFraction,
        "share held out for the attacks alone (never given to an algorithm)",
        check: fraction),
      .bool("split.stratified", \.split.stratified, "keep class proportions in every split"),
      .choice("split.forget.strategy", \.split.forget.strategy, "random, class, group or ids"),
      // Each strategy's own key is written only with that strategy (reading it with another is an error).
      F.double("split.forget.fraction", \.split.forget.fraction, "share of train to forget (random)")
        .omitted(when: { $0.split.forget.strategy != .random }),
      F.optionalString("split.forget.class", \.split.forget.className, "class name or index to forget (class)")
        .omitted(when: { $0.split.forget.strategy != .class }),
      F.strings("split.forget.groups", \.split.forget.groups, "manifest groups to forget (group)", omitEmpty: true)
        .omitted(when: { $0.split.forget.strategy != .group }),
      F.ints("split.forget.ids", \.split.forget.ids, "example ids to forget (ids)", omitEmpty: true)
        .omitted(when: { $0.split.forget.strategy != .ids }),
      // Written only when external, so that the identity of builtin runs is what it always was.
      F.choice("model.kind", \.model.kind, "builtin (the default: the harness's networks) or external (a command)")
        .omitted(when: { $0.model.kind == .builtin }),
      F.choice("model.architecture", \.model.architecture, "softmax, mlp or cnn (builtin)")
        .omitted(when: { $0.model.kind != .builtin }),
      F.ints("model.hidden", \.model.hidden, "MLP hidden widths (builtin)").omitted(when: { $0.model.kind != .builtin }
      ),
      F.ints("model.channels", \.model.channels, "CNN block channels (builtin)")
        .omitted(when: { $0.model.kind != .builtin }),
      F.command("model.command", \.model.command, "the backend's command (external)")
        .omitted(when: { $0.model.kind != .external }),
      F.double(
        "model.timeout", \.model.timeout, "seconds one training may take; 0: a day (external)",
        check: { $0 >= 0 && $0.isFinite ? nil : "must be ≥ 0 seconds (0: a day)" }
      ).omitted(when: { $0.model.kind != .external }),
      F.strings(
        "model.pass_environment", \.model.passEnvironment, "variables passed to the command (external)",
        omitEmpty: true
      ).omitted(when: { $0.model.kind != .external }),
      F.parameters("model.parameters", \.model.parameters, "the backend's own settings (external)")
        .omitted(when: { $0.model.kind != .external }),
    ]
      + TrainingConfig.fields.map { $0.lifted(\ExperimentSpec.training, prefix: "training") }
      + [
        .int("evaluation.models", \.evaluation.models, 2...1_000_000, "N: models of every algorithm and of retrain"),
        .strings("evaluation.algorithms", \.evaluation.algorithms, "evaluated next to the retrain reference"),
        .int("evaluation.workers", \.evaluation.workers, 0...4096, "threads; 0: one per core"),
        F.double(
          "evaluation.time_budget", \.evaluation.timeBudget, "seconds per unlearning job; 0: unlimited",
          check: { $0 >= 0 && $0.isFinite ? nil : "must be ≥ 0 seconds (0: unlimited)" }),
        .int("evaluation.rounds", \.evaluation.rounds, 1...1000, "sequential deletion requests"),
        .int(
          "evaluation.originals", \.evaluation.originals, 1...10_000,
          "originals trained with other seeds; model i unlearns from original i mod K"),
        .int(
          "evaluation.reference_originals", \.evaluation.referenceOriginals, 0...100_000,
          "original-seeds: IN references of LiRA and RMIA"),
        .int(
          "evaluation.ulira_shadows", \.evaluation.uliraShadows, 0...100_000, "U-LiRA shadow runs: 0 (off) or ≥ 4",
          check: { $0 == 0 || $0 >= 4 ? nil : "must be 0 (off) or at least 4, got \($0)" }),
      ]
  }

  /// Reads a YAML configuration; unknown keys and ill-typed values are errors naming the key.
  public static func load(yaml text: String, file: String = "config") throws -> ExperimentSpec {
    let r = try ConfigReader.parse(yaml: text, file: file)
    var spec = ExperimentSpec()
    let sections = try ConfigSchema.read(fields, from: r, into: &spec)
    do { try spec.training.validate() } catch { throw HarnessError("\(file): training", "\(error)") }
    try PathName.check(spec.name, field: "\(file): name")
    try checkForgetKeys(r, spec, file: file)
    try checkModelKeys(r, spec, file: file)
    spec.algorithms = try r.hyperParameters("algorithms")
    for s in sections { try s.finish() }
    try r.finish()
    return spec
  }

  /// Keys of `split.forget` that the chosen strategy would ignore are errors, not silent no-ops.
  static func checkForgetKeys(_ r: ConfigReader, _ spec: ExperimentSpec, file: String) throws {
    let forget = ((r.values["split"] as? [String: Any])?["forget"] as? [String: Any]) ?? [:]
    let uses: [ForgetStrategy: String] = [.random: "fraction", .ids: "ids", .group: "groups", .class: "class"]
    for (strategy, key) in uses where strategy != spec.split.forget.strategy && forget[key] != nil {
      throw HarnessError(
        "\(file): split.forget.\(key)",
        "is used only with strategy: \(strategy.rawValue), but the strategy is \(spec.split.forget.strategy.rawValue); "
          + "remove it or change the strategy")
    }
  }

  /// Keys of `model` that the other kind of model would ignore are errors; an external model needs a command.
  static func checkModelKeys(_ r: ConfigReader, _ spec: ExperimentSpec, file: String) throws {
    let model = (r.values["model"] as? [String: Any]) ?? [:]
    let keys: [ModelKind: [String]] = [
      .builtin: ["architecture", "hidden", "channels"],
      .external: ["command", "timeout", "pass_environment", "parameters"],
    ]
    for (kind, names) in keys where kind != spec.model.kind {
      for key in names where model[key] != nil {
        throw HarnessError(
          "\(file): model.\(key)",
          "is used only with model.kind: \(kind.rawValue), but the kind is \(spec.model.kind.rawValue); "
            + "remove it or change model.kind")
      }
    }
    if spec.model.kind == .external && spec.model.command.isEmpty {
      throw HarnessError(
        "\(file): model.command",
        "an external model needs a command: a list of arguments such as [python3, examples/pytorch/backend.py], "
          + "or one shell line")
    }
  }

  /// Reads a YAML configuration file.
  public static func load(file url: URL) throws -> ExperimentSpec {
    let data = try HarnessError.read(url, limit: ConfigReader.maximumBytes, what: "configuration file")
    guard let text = String(data: data, encoding: .utf8) else {
      throw HarnessError(url.path, "configuration file is not UTF-8 text")
    }
    return try load(yaml: text, file: url.path)
  }

  /// The resolved configuration as YAML (every default written out), readable by ``load(yaml:file:)``.
  public var yaml: String {
    var lines = ConfigSchema.yaml(Self.fields, self)
    if !algorithms.isEmpty {
      lines.append("algorithms:")
      for name in algorithms.keys.sorted() { lines.append("  \(ConfigValue.string(name)): \(algorithms[name]!.yaml)") }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The default configuration with every key and a comment saying what it means
  /// (`unlearn config`; the README's configuration section).
  public static var documentedExample: String {
    let lines = ConfigSchema.yaml(fields, ExperimentSpec(), comments: true)
    let header = [
      "# Every key is optional and these are the defaults (the digits run); unknown keys are errors.",
      "# Keys shown as comments have no default: set them for the strategy that uses them.",
    ]
    let algorithms = [
      "algorithms:  # optional: per algorithm, its own keys (and the training keys, for those that train)",
      "  finetune: {epochs: 5, learning_rate: 0.1}",
    ]
    return (header + lines + algorithms).joined(separator: "\n") + "\n"
  }
}
