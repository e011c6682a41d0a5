import Foundation
import Networks
import NumericCore

/// Scores populations with metrics: for every population of every deletion round, each
/// metric gets exactly the inputs it declares (``MetricInputs``), and every column of
/// every metric gets a value or a stated reason for "—".
public struct Scorer: Sendable {
  public var metrics: [any Metric]
  /// Threads a metric may use.
  public var workers: Int
  /// The experiment's seed: each round's metric seed is derived from it.
  public var experimentSeed: UInt64

  public init(metrics: [any Metric], workers: Int = 1, experimentSeed: UInt64 = 0) {
    self.metrics = metrics
    self.workers = workers
    self.experimentSeed = experimentSeed
  }

  /// Every column, in metric order.
  public var columns: [MetricColumn] { metrics.flatMap(\.columns) }

  /// What the metrics read, together (what the store must load).
  public var inputs: MetricInputs { metrics.map(\.inputs).reduce(MetricInputs(), +) }

  /// The shadow-run plans of the metrics.
  public var shadowPlans: [any ShadowRunPlan] { metrics.compactMap(\.shadowRuns) }

  /// The seed of the metrics of deletion round `round` (0-based).
  public func seed(round: Int) -> UInt64 { Seeds.derive(experimentSeed, "metrics", String(round)) }

  /// The values of every column for every population: `[round][population]`, in the order given.
  /// `labels[r]` are the labels of round r.
  public func score(_ rounds: [[Population]], labels: [PerSplit<[Int32]?>]) throws -> [[[String: MetricValue]]] {
    try rounds.indices.map { r in
      let cache = MetricCache()
      return try rounds[r].map { p in try score(p, round: r, in: rounds, labels: labels[r], cache: cache) }
    }
  }

  /// The values of every column for `population` of round `round`.
  public func score(
    _ population: Population, round: Int, in rounds: [[Population]], labels: PerSplit<[Int32]?>,
    cache: MetricCache = MetricCache()
  ) throws -> [String: MetricValue] {
    guard let retrain = rounds[round].first(where: { $0.role == .retrain }) else {
      throw HarnessError("evaluation", "the retrain reference did not run")
    }
    var values = [String: MetricValue]()
    for metric in metrics {
      if population.models.isEmpty {
        values.merge(metric.missing("no model finished")) { $1 }
        continue
      }
      let input = self.input(
        for: metric, population, retrain: retrain, round: round, in: rounds, labels: labels, cache: cache)
      values.merge(evaluate(metric, input)) { $1 }
    }
    return values
  }

  /// One metric's values; an error or a column the metric left out becomes "—" with the reason.
  func evaluate(_ metric: any Metric, _ input: MetricInput) -> [String: MetricValue] {
    let start = DispatchTime.now().uptimeNanoseconds
    var out: [String: MetricValue]
    do { out = try metric.evaluate(input) } catch { return metric.missing("\(error)") }
    for c in metric.columns where out[c.name] == nil { out[c.name] = MetricValue(mean: nil, note: "not computed") }
    if ProcessInfo.processInfo.environment["UNLEARN_PROFILE"] != nil {
      let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
      let line = "profile: \(input.population.name) \(type(of: metric)) \(String(format: "%.0f", ms)) ms\n"
      FileHandle.standardError.write(Data(line.utf8))
    }
    return out
  }

  /// What `population` is compared with in `round`: its algorithm's own exact reference when the
  /// run has one (with models), else the retrained models.
  public static func reference(for population: Population, in round: [Population]) -> Population? {
    let own: Role? =
      switch population.role {
      case .algorithm(let a), .ownOriginal(let a), .ownReference(let a): .ownReference(a)
      default: nil
      }
    if let own, let r = round.first(where: { $0.role == own && !$0.models.isEmpty }) { return r }
    return round.first { $0.role == .retrain }
  }

  /// Exactly what `metric` declares, of the populations of the run.
  func input(
    for metric: any Metric, _ population: Population, retrain: Population, round: Int, in rounds: [[Population]],
    labels: PerSplit<[Int32]?>, cache: MetricCache
  ) -> MetricInput {
    let inputs = metric.inputs, plan = metric.shadowRuns?.name
    func only(_ p: Population) -> Population { p.restricted(to: inputs, plan: plan) }
    let originals = rounds[round].first { $0.role == .originalSeeds && !$0.models.isEmpty }
    let reference = Self.reference(for: population, in: rounds[round]) ?? retrain
    var input = MetricInput(
      population: only(population), reference: only(reference), retrain: only(retrain),
      originals: inputs.originals ? originals.map(only) : nil,
      labels: PerSplit { inputs.splits.contains($0) ? labels[$0] : nil }, round: round, seed: seed(round: round),
      experimentSeed: experimentSeed, workers: workers, cache: cache)
    if inputs.shadowRuns, let plan { input.shadowRuns = population.shadowRuns[plan] }
    if inputs.allRounds {
      input.rounds = rounds.compactMap { pops in
        guard let p = pops.first(where: { $0.role == population.role }),
          let t = pops.first(where: { $0.role == .retrain })
        else { return nil }
        return (only(p), only(Self.reference(for: p, in: pops) ?? t), only(t))
      }
    }
    return input
  }
}
