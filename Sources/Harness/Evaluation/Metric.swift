import Foundation
import Networks
import NumericCore
import Synchronization

/// A quantity computed from what a run stored (never from the models themselves):
/// given one population, the retrained reference and whatever else it declares in
/// ``inputs``, return a value for each of its ``columns``.
///
/// The scorer gives a metric exactly what it declares (logits of the splits it names,
/// timings, weight distances, shadow runs, every deletion round) and nothing else, so
/// a metric that forgets a declaration gets an error, not a silently different answer;
/// the metric conformance suite runs every registered metric that way. Columns carry
/// what the reports need to show them, so a new metric is one file and one registry line.
public protocol Metric: Sendable {
  var columns: [MetricColumn] { get }
  var inputs: MetricInputs { get }
  /// Extra model runs the metric needs besides the evaluated models (default: none).
  var shadowRuns: (any ShadowRunPlan)? { get }
  /// The value of every column, or a value with `mean == nil` and a `note` saying why.
  func evaluate(_ input: MetricInput) throws -> [String: MetricValue]
  /// Caveats of the whole run when it has `models` models per algorithm (default: none); the
  /// report lists them and the command line prints them.
  func warnings(models: Int) -> [String]
  /// How long the metric takes next to the others, roughly (default 1): the scorer starts the
  /// costly ones first so that the worker pool ends evenly. A scheduling hint; values never depend on it.
  var relativeCost: Double { get }
}

extension Metric {
  public var shadowRuns: (any ShadowRunPlan)? { nil }
  public var relativeCost: Double { 1 }
  public func warnings(models: Int) -> [String] { [] }

  /// Every column without a value, with the reason.
  public func missing(_ why: String) -> [String: MetricValue] {
    Dictionary(uniqueKeysWithValues: columns.map { ($0.name, MetricValue(mean: nil, note: why)) })
  }
}

/// What a metric reads, besides the population it scores and the retrained reference
/// (always given, with the same parts loaded).
public struct MetricInputs: Sendable, Hashable {
  /// Logits and labels of these splits, for the population and the references.
  public var splits: Set<Split> = []
  /// Wall times and work fractions of every model's unlearning.
  public var timings = false
  /// Each model's weight distance to the same-initialisation retrained model.
  public var weightDistances = false
  /// The models trained on the whole training set with other seeds (`original-seeds`).
  public var originals = false
  /// The outputs of the metric's ``Metric/shadowRuns`` plan.
  public var shadowRuns = false
  /// The population and the reference in every deletion round (a metric across rounds).
  public var allRounds = false

  public init() {}

  /// Logits and labels of `splits`.
  public static func logits(_ splits: Split...) -> MetricInputs {
    var i = MetricInputs()
    i.splits = Set(splits)
    return i
  }

  public static var timings: MetricInputs { with(\.timings) }
  public static var weightDistances: MetricInputs { with(\.weightDistances) }
  public static var originals: MetricInputs { with(\.originals) }
  public static var shadowRuns: MetricInputs { with(\.shadowRuns) }
  public static var allRounds: MetricInputs { with(\.allRounds) }

  static func with(_ flag: WritableKeyPath<MetricInputs, Bool>) -> MetricInputs {
    var i = MetricInputs()
    i[keyPath: flag] = true
    return i
  }

  /// Everything either reads.
  public static func + (a: MetricInputs, b: MetricInputs) -> MetricInputs {
    var c = a
    c.splits.formUnion(b.splits)
    c.timings = a.timings || b.timings
    c.weightDistances = a.weightDistances || b.weightDistances
    c.originals = a.originals || b.originals
    c.shadowRuns = a.shadowRuns || b.shadowRuns
    c.allRounds = a.allRounds || b.allRounds
    return c
  }
}

/// Which way a metric should move.
public enum MetricDirection: String, Codable, Sendable {
  case higherIsBetter = "higher-is-better"
  case lowerIsBetter = "lower-is-better"
  /// Best when equal to the retrained models' value (e.g. forget accuracy).
  case closestToRetrain = "closest-to-retrain"
  /// Best at the column's exact ideal (an attack's AUC: ½, chance), which the retrained
  /// models reach too, up to their noise.
  case closestToIdeal = "closest-to-ideal"
}

/// What a column measures, for the leaderboard: only utility may be traded away by a model
/// that is broken, so every other kind of column ranks only models whose utility holds.
public enum MetricCategory: String, Codable, Sendable {
  /// How well the model still does its task (retain and test accuracy).
  case utility
  /// How completely the forget set's influence is gone (attacks, distances to retraining).
  case forgetting
  /// What unlearning costs (time, work redone).
  case cost
  /// Forgetting and utility in one number (the challenge score, Avg. Gap).
  case composite
}

/// Where the reports show a column.
public enum TablePlacement: String, Codable, Sendable {
  /// In every round's result table.
  case main
  /// In the table over all deletion rounds (shown when there are several).
  case acrossRounds = "across-rounds"
  /// Only in `results.json` (and the leaderboard).
  case none
}

/// A plot the report draws from a column's values.
public enum PlotKind: Codable, Sendable, Equatable {
  /// The value's `curve` holds ROC points (FPR, TPR): one log-log plot with every row's curve.
  case roc(title: String)
  /// The value's `curve` holds a histogram (bin centre, fraction): one plot per row,
  /// against the retrain row's histogram.
  case histogram(title: String, xLabel: String, lower: Double, upper: Double)
  /// A histogram of the value's per-example values, per row (the retrain row's is the noise
  /// floor); values above `clip` go to the last bin.
  case perExampleHistogram(title: String, xLabel: String, lower: Double, upper: Double, bins: Int, clip: Double)
}

/// One reported quantity: a column of the result table.
public struct MetricColumn: Codable, Sendable, Equatable {
  /// Machine name, e.g. `retain_accuracy` (the key in `results.json` and `--by`).
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
  public var table: TablePlacement
  /// The plot drawn from the column's values, if any.
  public var plot: PlotKind?
  /// Computed from wall-clock times: the one kind of value a replay or a merge of shards is not
  /// expected to reproduce.
  public var wallClock: Bool
  /// The exact ideal of a ``MetricDirection/closestToIdeal`` column (½ for an attack's AUC).
  public var ideal: Double?
  public var category: MetricCategory
  /// What the value's ± or interval spans and what it resamples, in words.
  public var uncertainty: String?

  public init(
    name: String, header: String, direction: MetricDirection, description: String, displayScale: Double = 1,
    decimals: Int = 3, table: TablePlacement = .main, plot: PlotKind? = nil, wallClock: Bool = false,
    ideal: Double? = nil, category: MetricCategory = .forgetting, uncertainty: String? = MetricColumn.spreadOverModels
  ) {
    self.name = name
    self.header = header
    self.direction = direction
    self.description = description
    self.displayScale = displayScale
    self.decimals = decimals
    self.table = table
    self.plot = plot
    self.wallClock = wallClock
    self.ideal = ideal
    self.category = category
    self.uncertainty = uncertainty
  }

  /// What a "mean ± std over models" spans.
  public static let spreadOverModels =
    "± is the standard deviation over the N models (their spread); the 95 % interval in results.json is the "
    + "t interval of the mean over those models. With evaluation.originals: 1 every model starts from one "
    + "original, so both leave out the original's own training variance; with K > 1 originals they include it."

  enum CodingKeys: String, CodingKey {
    case name, header, direction, description, decimals, table, plot, ideal, category, uncertainty
    case displayScale = "display_scale"
    case wallClock = "wall_clock"
  }

  /// The mark shown next to the header: ↑, ↓, ≈R (closest to retrain) or →x (closest to the ideal x).
  public var mark: String {
    switch direction {
    case .higherIsBetter: "↑"
    case .lowerIsBetter: "↓"
    case .closestToRetrain: "≈R"
    case .closestToIdeal: "→" + String(format: "%g", (ideal ?? 0) * displayScale)
    }
  }

  /// `x` as the tables show it (scaled, rounded to `decimals`; ∞ for infinity).
  public func format(_ x: Double) -> String {
    x.isInfinite ? (x > 0 ? "∞" : "−∞") : String(format: "%.\(decimals)f", x * displayScale)
  }
}

/// A metric's value for one population: mean and standard deviation over models
/// (std nil when the metric is one population-level number).
public struct MetricValue: Codable, Sendable, Equatable {
  public var mean: Double?
  public var std: Double?
  /// Per-example (or per-model) values when the metric has them (e.g. the challenge's ε per forget example).
  public var perExample: [Double]?
  /// Why the value is missing or what it rests on.
  public var note: String?
  /// A 95 % interval (e.g. Clopper–Pearson for a rate), as [low, high].
  public var interval: [Double]?
  /// A curve behind the value (e.g. ROC points [fpr, tpr]), for plots.
  public var curve: [[Double]]?
  /// A warning the reports show with the value (e.g. "not certifiable", "F not informative").
  public var flag: String?
  /// How many values (models, or model pairs) the mean and std summarise.
  public var count: Int?

  public init(
    mean: Double?, std: Double? = nil, perExample: [Double]? = nil, note: String? = nil, interval: [Double]? = nil,
    curve: [[Double]]? = nil, flag: String? = nil, count: Int? = nil
  ) {
    self.mean = mean
    self.count = count
    self.std = std
    self.perExample = perExample
    self.note = note
    self.interval = interval
    self.curve = curve
    self.flag = flag
  }

  /// Mean, sample standard deviation (n − 1) and the 95 % t interval of the mean,
  /// m ± t₀.₉₇₅(n − 1) · s / √n, of `values` (no spread and no interval for a single value).
  public init(summarising values: [Double]) {
    let n = Double(values.count)
    guard !values.isEmpty else {
      self.init(mean: nil, note: "no models")
      return
    }
    let m = values.reduce(0, +) / n
    guard values.count > 1 else {
      self.init(mean: m, count: 1)
      return
    }
    let s = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)).squareRoot()
    let h = Summary.studentT975(dof: values.count - 1) * s / n.squareRoot()
    self.init(mean: m, std: s, interval: [m - h, m + h], count: values.count)
  }

  enum CodingKeys: String, CodingKey {
    case mean, std, note, interval, curve, flag
    case count = "n"
    case perExample = "per_example"
  }
}

/// Per-model values that several metrics need (e.g. MIA-Efficacy, which Avg. Gap
/// reuses), computed once per scoring pass. Thread-safe: while one task computes a key,
/// the others that need it wait for its value instead of computing it again.
public final class MetricCache: Sendable {
  /// One key's value, computed under its own lock.
  final class Slot: Sendable {
    let value = Mutex<[Double]?>(nil)
  }
  private let slots = Mutex<[String: Slot]>([:])

  public init() {}

  /// The cached value for `key`, computing and storing it on first use (a failed computation
  /// stores nothing, so the next caller tries again).
  public func values(_ key: String, compute: () throws -> [Double]) throws -> [Double] {
    let slot = slots.withLock { d -> Slot in
      if let s = d[key] { return s }
      let s = Slot()
      d[key] = s
      return s
    }
    let result: Result<[Double], any Error> = slot.value.withLock { v in
      if let v { return .success(v) }
      do {
        let computed = try compute()
        v = computed
        return .success(computed)
      } catch { return .failure(error) }
    }
    return try result.get()
  }
}
