import Foundation
import Networks
import NumericCore
import Synchronization

/// Which way a metric should move.
public enum MetricDirection: String, Codable, Sendable {
  case higherIsBetter = "higher-is-better"
  case lowerIsBetter = "lower-is-better"
  /// Best when equal to the retrained models' value (e.g. forget accuracy).
  case closestToRetrain = "closest-to-retrain"

  /// The mark shown next to a column header.
  public var mark: String {
    switch self {
    case .higherIsBetter: "↑"
    case .lowerIsBetter: "↓"
    case .closestToRetrain: "≈R"
    }
  }
}

/// One reported quantity (a column of the result table).
public struct MetricColumn: Codable, Sendable, Equatable {
  /// Machine name, e.g. `retain_accuracy`.
  public var name: String
  /// Short table header, e.g. `retain acc %`.
  public var header: String
  public var direction: MetricDirection
  /// What it is and where it comes from.
  public var description: String
  /// Values are multiplied by this for display (100 for percentages).
  public var displayScale: Double
  /// Decimals shown in tables.
  public var decimals: Int
  /// Shown in table.md / table.csv (all columns go to results.json).
  public var inTable: Bool

  public init(
    name: String, header: String, direction: MetricDirection, description: String, displayScale: Double = 1,
    decimals: Int = 3,
    inTable: Bool = true
  ) {
    self.name = name
    self.header = header
    self.direction = direction
    self.description = description
    self.displayScale = displayScale
    self.decimals = decimals
    self.inTable = inTable
  }
}

/// A metric's value for one algorithm: mean and standard deviation over models
/// (std nil when the metric is a single population-level number).
public struct MetricValue: Codable, Sendable, Equatable {
  public var mean: Double?
  public var std: Double?
  /// Per-example values when the metric has them (e.g. the challenge's ε per forget example).
  public var perExample: [Double]?
  /// Why the value is missing or what it rests on.
  public var note: String?
  /// A 95 % interval (e.g. Clopper–Pearson for a rate), as [low, high].
  public var interval: [Double]?
  /// A curve behind the value (e.g. ROC points [fpr, tpr]), for plots.
  public var curve: [[Double]]?

  public init(
    mean: Double?, std: Double? = nil, perExample: [Double]? = nil, note: String? = nil, interval: [Double]? = nil,
    curve: [[Double]]? = nil
  ) {
    self.mean = mean
    self.std = std
    self.perExample = perExample
    self.note = note
    self.interval = interval
    self.curve = curve
  }

  /// Mean and sample standard deviation (n − 1) of `values`.
  public init(summarising values: [Double]) {
    let n = Double(values.count)
    guard !values.isEmpty else {
      self.init(mean: nil, note: "no models")
      return
    }
    let m = values.reduce(0, +) / n
    let v = values.count > 1 ? values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1) : 0
    self.init(mean: m, std: v.squareRoot())
  }

  enum CodingKeys: String, CodingKey {
    case mean, std
    case perExample = "per_example"
    case note, interval, curve
  }
}

/// The stored outputs of one model: logits `[n, classes]` per split name.
public struct ModelOutputs: Sendable {
  public var logits: [String: Tensor]

  public init(logits: [String: Tensor]) { self.logits = logits }
}

/// All finished models of one algorithm (or the retrained reference, or the original).
public struct Population: Sendable {
  public var algorithm: String
  /// nil for the original (not an unlearning algorithm).
  public var kind: UnlearningKind?
  public var models: [ModelOutputs]
  /// Wall time of each model's unlearning, seconds (nil for the original).
  public var seconds: [Double]?
  /// Fraction of the original training work each model's unlearning redid (when the algorithm reports it).
  public var workFractions: [Double]?
  /// Normalised weight distance of each model to the same-initialisation retrained model (single networks).
  public var weightDistances: [Double]?
  /// U-LiRA shadow runs' forget-set logits, and which candidates each run trained on then unlearned.
  public var shadows: [ModelOutputs]?
  public var shadowInclusion: [[Bool]]?

  public init(algorithm: String, kind: UnlearningKind?, models: [ModelOutputs], seconds: [Double]?) {
    self.algorithm = algorithm
    self.kind = kind
    self.models = models
    self.seconds = seconds
  }

  /// The population's models `first..<first+count` (for half-vs-half comparisons).
  public func slice(_ range: Range<Int>) -> Population {
    var p = Population(
      algorithm: algorithm, kind: kind, models: Array(models[range]), seconds: seconds.map { Array($0[range]) })
    p.workFractions = workFractions.map { Array($0[range]) }
    return p
  }

  /// Accuracy of every model on `split`.
  public func accuracies(_ split: String, labels: [Int32]) -> [Double] {
    models.map { Network.accuracy(logits: $0.logits[split]!, labels: labels) }
  }
}

/// Per-model values that several metrics need (e.g. MIA-Efficacy, which Avg. Gap
/// reuses), computed once per scoring pass. Thread-safe.
public final class MetricCache: Sendable {
  private let store = Mutex<[String: [Double]]>([:])

  public init() {}

  /// The cached value for `key`, computing and storing it on first use.
  public func values(_ key: String, compute: () throws -> [Double]) rethrows -> [Double] {
    if let v = store.withLock({ $0[key] }) { return v }
    let v = try compute()
    store.withLock { $0[key] = v }
    return v
  }
}

/// What a metric may look at besides the population it scores.
public struct MetricContext: Sendable {
  /// Labels of every split, in the order of the stored logits' rows.
  public var labels: [String: [Int32]]
  /// The retrained reference models.
  public var retrained: Population
  /// True when the population scored is the retrained reference itself.
  public var isReference: Bool
  /// Models trained on the full training set with different seeds (the IN references
  /// of LiRA and RMIA), when the run has them.
  public var originals: Population?
  /// Seed for any randomness a metric needs (derived from the experiment seed).
  public var seed: UInt64
  /// Threads a metric may use.
  public var workers: Int
  /// Shared per-model values of this scoring pass.
  public var cache = MetricCache()

  public init(
    labels: [String: [Int32]], retrained: Population, isReference: Bool, seed: UInt64, workers: Int,
    originals: Population? = nil
  ) {
    self.labels = labels
    self.retrained = retrained
    self.isReference = isReference
    self.originals = originals
    self.seed = seed
    self.workers = workers
  }
}

/// A metric computed from stored outputs only (never from the models), as
/// DESIGN.md requires: given a population of models' logits and the retrained
/// reference, return one value per column.
public protocol PopulationMetric: Sendable {
  var columns: [MetricColumn] { get }
  func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue]
}

/// Accuracy (arg-max) on each split, mean ± std over models.
public struct AccuracyMetric: PopulationMetric {
  public var splits: [String]

  public init(splits: [String] = ["retain", "forget", "test", "validation"]) { self.splits = splits }

  public var columns: [MetricColumn] {
    splits.map { s in
      MetricColumn(
        name: "\(s)_accuracy", header: "\(s) acc %",
        direction: s == "forget" ? .closestToRetrain : .higherIsBetter,
        description: "Arg-max accuracy on the \(s) split, mean ± std over models"
          + (s == "forget" ? "; best when equal to the retrained models' (below it reveals unlearning too)." : "."),
        displayScale: 100, decimals: 2, inTable: s != "validation")
    }
  }

  public func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue] {
    var out = [String: MetricValue]()
    for s in splits {
      out["\(s)_accuracy"] = MetricValue(summarising: population.accuracies(s, labels: context.labels[s]!))
    }
    return out
  }
}

/// Unlearning wall time and speed-up against retraining from scratch.
public struct TimeMetric: PopulationMetric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "seconds", header: "time s", direction: .lowerIsBetter,
        description: "Wall time of one unlearning run (the algorithm's call only; one core), mean ± std over models.",
        decimals: 4),
      MetricColumn(
        name: "speedup", header: "speed-up", direction: .higherIsBetter,
        description: "Mean retraining time divided by the mean unlearning time.", decimals: 1),
      MetricColumn(
        name: "timing_leak", header: "timing leak", direction: .lowerIsBetter,
        description:
          "Timing side channel (needs ≥ 2 deletion rounds): 2·|AUC − ½| of the unlearning wall times of the round with the least work redone (or the fastest round) against the round with the most (or the slowest). 0: time says nothing about which forget set was removed; 1: it tells them apart perfectly.",
        decimals: 2, inTable: false),
      MetricColumn(
        name: "work_redone", header: "work redone %", direction: .lowerIsBetter,
        description:
          "Fraction of the original model's training work (example-epochs) redone to unlearn, for algorithms that account for it (SISA; retraining redoes all of it).",
        displayScale: 100, decimals: 1),
    ]
  }

  public func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue] {
    guard let seconds = population.seconds, !seconds.isEmpty else {
      let none = MetricValue(mean: nil, note: "no unlearning ran")
      return ["seconds": none, "speedup": none, "work_redone": none]
    }
    var t = MetricValue(summarising: seconds)
    t.perExample = seconds  // per model, for the timing side-channel analysis across rounds
    let reference = context.retrained.seconds.map { MetricValue(summarising: $0).mean } ?? nil
    let speedup = reference.flatMap { r in t.mean.map { $0 > 0 ? r / $0 : .infinity } }
    let work =
      population.workFractions.map { MetricValue(summarising: $0) } ?? MetricValue(mean: nil, note: "not reported")
    return ["seconds": t, "speedup": MetricValue(mean: speedup), "work_redone": work]
  }
}

extension MetricContext {
  /// The two populations a retrain-distance metric compares: the population and
  /// the retrained models; for the retrained reference itself, its first half
  /// against its second half (the noise floor every gap is read against).
  public func comparison(_ population: Population) -> (unlearned: Population, retrained: Population, note: String?)? {
    if isReference {
      let half = retrained.models.count / 2
      guard half >= 1 else { return nil }
      return (
        retrained.slice(0..<half), retrained.slice(half..<(2 * half)),
        "retrained models 1–\(half) against \(half + 1)–\(2 * half): the retrain-vs-retrain noise floor"
      )
    }
    guard !population.models.isEmpty, !retrained.models.isEmpty else { return nil }
    return (population, retrained, nil)
  }
}
