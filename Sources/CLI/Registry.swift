import Attacks
import Baselines
import Harness
import Networks
import Synchronization

/// The names the CLI knows: the only place that lists concrete algorithms and
/// metrics. Adding an algorithm is one file in Baselines plus one line here.
enum Registry {
  typealias Factory = @Sendable (ConfigReader, ExperimentSpec) throws -> any UnlearningAlgorithm

  /// Algorithms by name; each reads (and validates) `algorithms.<name>` of the configuration.
  static let algorithms: [(name: String, make: Factory)] = [
    ("retrain", { try Retrain(parameters: $0, experimentTraining: $1.training) }),
    ("sisa", { try SISA(parameters: $0, experimentTraining: $1.training) }),
    ("finetune", { r, _ in try Finetune(parameters: r) }),
    ("gradient-ascent", { r, _ in try GradientAscent(parameters: r) }),
    ("neggrad-plus", { r, _ in try NegGradPlus(parameters: r) }),
    ("random-labels", { r, _ in try RandomLabels(parameters: r) }),
    ("l1-sparse", { r, _ in try L1Sparse(parameters: r) }),
    ("influence", { try InfluenceRemoval(parameters: $0, experimentTraining: $1.training) }),
    ("fisher", { r, _ in try FisherForgetting(parameters: r) }),
    ("ssd", { r, _ in try SSD(parameters: r) }),
    ("scrub", { r, _ in try SCRUB(parameters: r) }),
    ("bad-teacher", { r, _ in try BadTeacher(parameters: r) }),
    ("salun", { r, _ in try SalUn(parameters: r) }),
  ]

  /// The metrics of the result table, in column order.
  static let metrics: [any PopulationMetric] = [
    AccuracyMetric(), ForgetConfidenceMetric(), ChallengeMetric(), KitMIAMetric(), MIAEfficacy(), SongMittalAttacks(),
    LossThresholdAttack(), LiRAAttack(), RMIAAttack(), ULiRAAttack(), RetrainDistance(), WeightDistance(),
    AccuracyGap(), TimeMetric(),
  ]

  /// Algorithms registered by a participant's own executable (``UnlearnCLI/main(registering:)``).
  static let extra = Mutex<[(name: String, make: Factory)]>([])

  /// Built-in algorithms, then registered ones.
  static var allAlgorithms: [(name: String, make: Factory)] { algorithms + extra.withLock { $0 } }

  static var algorithmNames: [String] { allAlgorithms.map(\.name) }

  /// Builds an algorithm with its hyper-parameters from the configuration: a registered
  /// name, or a section with `kind: external` (``ExternalCommand``).
  static func algorithm(_ name: String, spec: ExperimentSpec, file: String) throws -> any UnlearningAlgorithm {
    let params = spec.algorithms[name] ?? HyperParameters()
    if ExternalCommand.isExternal(params) {
      guard !algorithmNames.contains(name) else {
        throw HarnessError(
          "\(file): algorithms.\(name)", "\(name) is a built-in algorithm; give the external one another name")
      }
      return try ExternalCommand(name: name, parameters: params, file: file)
    }
    guard let entry = allAlgorithms.first(where: { $0.name == name }) else {
      throw HarnessError(
        "algorithm \(name)",
        "unknown; known algorithms: \(algorithmNames.joined(separator: ", ")), or a section algorithms.\(name) with kind: external and a command"
      )
    }
    return try entry.make(params.reader(algorithm: name, file: file), spec)
  }

  /// Rejects hyper-parameter sections for algorithms nobody knows (typos).
  static func checkParameterSections(_ spec: ExperimentSpec, file: String) throws {
    for name in spec.algorithms.keys.sorted()
    where !algorithmNames.contains(name) && !ExternalCommand.isExternal(spec.algorithms[name]!) {
      throw HarnessError(
        "\(file): algorithms.\(name)",
        "unknown algorithm; known: \(algorithmNames.joined(separator: ", ")) (or add kind: external and a command)")
    }
  }
}
