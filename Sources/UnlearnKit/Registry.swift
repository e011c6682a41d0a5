import Attacks
import Baselines
import Harness
import Networks
import Synchronization

/// The names the harness knows: the only place that lists the concrete algorithms and
/// metrics. Adding an algorithm is one file in Baselines plus one line here; adding a
/// metric (or an attack, with its shadow runs) one file in Attacks plus one line here.
public enum Registry {
  public typealias Factory = @Sendable (ConfigReader, ExperimentSpec) throws -> any UnlearningAlgorithm

  /// Algorithms by name; each reads (and validates) `algorithms.<name>` of the configuration.
  public static let algorithms: [(name: String, make: Factory)] = [
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

  /// The built-in metrics, in column order.
  public static let builtInMetrics: [any Metric] = [
    AccuracyMetric(), ForgetConfidenceMetric(), ChallengeMetric(), KitMIAMetric(), MIAEfficacy(), SongMittalAttacks(),
    LossThresholdAttack(), LiRAAttack(), RMIAAttack(), ULiRAAttack(), RetrainDistance(), WeightDistance(),
    AccuracyGap(), TimeMetric(), CumulativeCost(), TimingLeak(),
  ]

  /// Algorithms and metrics registered by a participant's own executable (``register(algorithms:metrics:)``).
  static let extra = Mutex<(algorithms: [(name: String, make: Factory)], metrics: [any Metric])>(([], []))

  /// Built-in algorithms, then registered ones.
  public static var allAlgorithms: [(name: String, make: Factory)] { algorithms + extra.withLock { $0.algorithms } }

  public static var algorithmNames: [String] { allAlgorithms.map(\.name) }

  /// Built-in metrics, then registered ones: every column of the reports and the leaderboard.
  public static var metrics: [any Metric] { builtInMetrics + extra.withLock { $0.metrics } }

  /// Registers algorithms and metrics next to the built-in ones, for every later command of
  /// this process. A name or column that is already taken is an error.
  public static func register(algorithms: [(name: String, make: Factory)] = [], metrics: [any Metric] = []) throws {
    try extra.withLock { extra in
      for a in algorithms {
        try PathName.check(a.name, field: "register: algorithm \(a.name)", reservedToo: true)
        guard !(Self.algorithms + extra.algorithms).contains(where: { $0.name == a.name }) else {
          throw HarnessError("register", "an algorithm named \(a.name) is already registered")
        }
        extra.algorithms.append(a)
      }
      let taken = Set((builtInMetrics + extra.metrics).flatMap { $0.columns.map(\.name) })
      for m in metrics {
        if let c = m.columns.first(where: { taken.contains($0.name) }) {
          throw HarnessError("register", "a metric with a column named \(c.name) is already registered")
        }
        extra.metrics.append(m)
      }
    }
  }

  /// Builds an algorithm with its hyper-parameters from the configuration: a registered
  /// name, or a section with `kind: external` (``ExternalCommand``). Its hyper-parameters
  /// are validated here, before any job runs.
  public static func algorithm(_ name: String, spec: ExperimentSpec, file: String) throws -> any UnlearningAlgorithm {
    let params = spec.algorithms[name] ?? HyperParameters()
    let algorithm: any UnlearningAlgorithm
    if ExternalCommand.isExternal(params) {
      try PathName.check(name, field: "\(file): algorithms.\(name)", reservedToo: true)
      guard !algorithmNames.contains(name) else {
        throw HarnessError(
          "\(file): algorithms.\(name)", "\(name) is a built-in algorithm; give the external one another name")
      }
      algorithm = try ExternalCommand(name: name, parameters: params, file: file)
    } else {
      guard let entry = allAlgorithms.first(where: { $0.name == name }) else {
        throw HarnessError(
          "algorithm \(name)",
          "unknown; known algorithms: \(algorithmNames.joined(separator: ", ")), or a section algorithms.\(name) "
            + "with kind: external and a command")
      }
      algorithm = try entry.make(params.reader(algorithm: name, file: file), spec)
    }
    do { try algorithm.validate() } catch let e as HarnessError {
      throw HarnessError("\(file): \(e.subject)", e.message)
    } catch {
      throw HarnessError("\(file): algorithms.\(name)", "\(error)")
    }
    return algorithm
  }

  /// Rejects hyper-parameter sections for algorithms nobody knows (typos).
  public static func checkParameterSections(_ spec: ExperimentSpec, file: String) throws {
    for name in spec.algorithms.keys.sorted()
    where !algorithmNames.contains(name) && !ExternalCommand.isExternal(spec.algorithms[name] ?? HyperParameters()) {
      throw HarnessError(
        "\(file): algorithms.\(name)",
        "unknown algorithm; known: \(algorithmNames.joined(separator: ", ")) (or add kind: external and a command)")
    }
  }

  /// The metric that has a column named `column`, among `metrics`.
  public static func metric(column: String, in metrics: [any Metric] = Registry.metrics) throws -> any Metric {
    guard let m = metrics.first(where: { $0.columns.contains { $0.name == column } }) else {
      let known = metrics.flatMap { $0.columns.map(\.name) }.joined(separator: ", ")
      throw HarnessError("--by \(column)", "unknown column; known: \(known)")
    }
    return m
  }
}
