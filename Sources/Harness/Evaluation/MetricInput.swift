import Foundation
import Networks
import NumericCore

/// What a metric is given to score one population: exactly the parts of the run it
/// declared in its ``MetricInputs``.
public struct MetricInput: Sendable {
  /// The population scored.
  public var population: Population
  /// What the population is compared with, in the same round: its algorithm's own exact
  /// reference if it declares one (``UnlearningAlgorithm/hasOwnReference``), else the retrained models.
  public var reference: Population
  /// The models retrained from scratch on the retain set (the cost of exact unlearning by retraining).
  public var retrain: Population
  /// The models trained on the whole training set with other seeds (declared with `originals`;
  /// nil when the run has none).
  public var originals: Population?
  /// Labels of the declared splits, in the order of the logits' rows.
  public var labelsBySplit: PerSplit<[Int32]?>
  /// With `allRounds`: the population, its reference and the retrained models in every deletion
  /// round, first round first.
  public var rounds: [(population: Population, reference: Population, retrain: Population)]
  /// Deletion round of `population` (0-based).
  public var round: Int
  /// Seed for any randomness the metric needs (derived from the experiment seed and the round).
  public var seed: UInt64
  /// The experiment's seed (for metrics that re-derive how the run drew something, e.g. shadow inclusion).
  public var experimentSeed: UInt64
  /// Threads the metric may use.
  public var workers: Int
  /// Per-model values shared by the metrics of one scoring pass.
  public var cache: MetricCache
  /// The outputs of the metric's shadow runs (declared with `shadowRuns`; nil when the run has none).
  public var shadowRuns: [ModelOutputs]?

  public init(
    population: Population, reference: Population, retrain: Population? = nil, originals: Population? = nil,
    labels: PerSplit<[Int32]?>, round: Int = 0, seed: UInt64, experimentSeed: UInt64 = 0, workers: Int = 1,
    cache: MetricCache = MetricCache()
  ) {
    self.population = population
    self.reference = reference
    self.retrain = retrain ?? reference
    self.originals = originals
    self.labelsBySplit = labels
    self.rounds = []
    self.round = round
    self.seed = seed
    self.experimentSeed = experimentSeed
    self.workers = workers
    self.cache = cache
  }

  /// Labels of `split`; throws when the metric did not declare the split.
  public func labels(_ split: Split) throws -> [Int32] {
    guard let y = labelsBySplit[split] else {
      throw HarnessError("labels of the \(split) split", "not loaded; a metric that reads them must declare the split")
    }
    return y
  }

  /// True when the population scored is its own reference (retrain, or an own reference): its
  /// comparisons are then half against half, the noise floor.
  public var isReference: Bool { population.role == reference.role }

  /// The two populations a comparison metric compares: the population and its reference; for a
  /// reference itself, its first half against its second half (the noise floor every gap is
  /// read against). Nil when a side is empty.
  public func comparison() -> (unlearned: Population, retrained: Population, note: String?)? {
    if isReference {
      let half = reference.models.count / 2
      guard half >= 1 else { return nil }
      return (
        reference.slice(0..<half), reference.slice(half..<(2 * half)),
        "\(reference.name) models 1–\(half) against \(half + 1)–\(2 * half): the noise floor"
      )
    }
    guard !population.models.isEmpty, !reference.models.isEmpty else { return nil }
    return (population, reference, reference.role == .retrain ? nil : "against \(reference.name)")
  }
}

extension Population {
  /// This population with only what `inputs` declares (and shadow runs of `plan`).
  public func restricted(to inputs: MetricInputs, plan: String?) -> Population {
    var p = self
    p.models = models.map { m in ModelOutputs(logits: PerSplit { inputs.splits.contains($0) ? m.logits[$0] : nil }) }
    if !inputs.timings {
      p.seconds = nil
      p.workFractions = nil
    }
    if !inputs.weightDistances { p.weightDistances = nil }
    p.shadowRuns = [:]
    if inputs.shadowRuns, let plan, let runs = shadowRuns[plan] { p.shadowRuns[plan] = runs }
    return p
  }
}
