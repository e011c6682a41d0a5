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
  ///
  /// Every (round, population, metric) is one task of the worker pool, longest-running metrics
  /// first; each task's metric runs on one thread (its `workers` is 1 when the pool has several),
  /// and the values are assembled in the fixed order, so they never depend on the worker count.
  public func score(_ rounds: [[Population]], labels: [PerSplit<[Int32]?>]) throws -> [[[String: MetricValue]]] {
    let caches = rounds.indices.map { _ in MetricCache() }
    var tasks = [(round: Int, population: Int, metric: Int)]()
    for r in rounds.indices {
      guard rounds[r].contains(where: { $0.role == .retrain }) else {
        throw HarnessError("evaluation", "the retrain reference did not run")
      }
      for p in rounds[r].indices { for m in metrics.indices { tasks.append((r, p, m)) } }
    }
    // Heavier metrics first (the cost each declares), so that the last tasks are short ones.
    let order = tasks.indices.sorted { a, b in
      let (ca, cb) = (metrics[tasks[a].metric].relativeCost, metrics[tasks[b].metric].relativeCost)
      return ca != cb ? ca > cb : a < b
    }
    let inner = workers > 1 ? Scorer(metrics: metrics, workers: 1, experimentSeed: experimentSeed) : self
    let scheduled = order.map { tasks[$0] }, all = metrics
    let values = try WorkerPool.map(count: scheduled.count, workers: workers) { k -> [String: MetricValue] in
      let t = scheduled[k]
      return try inner.score(
        metric: all[t.metric], rounds[t.round][t.population], round: t.round, in: rounds,
        labels: labels[t.round], cache: caches[t.round])
    }
    var out = rounds.map { ps in ps.map { _ in [String: MetricValue]() } }
    var byTask = [[String: MetricValue]](repeating: [:], count: tasks.count)
    for (k, v) in zip(order, values) { byTask[k] = v }
    for (t, v) in zip(tasks, byTask) { out[t.round][t.population].merge(v) { $1 } }
    return out
  }

  /// The values of every column for `population` of round `round`.
  public func score(
    _ population: Population, round: Int, in rounds: [[Population]], labels: PerSplit<[Int32]?>,
    cache: MetricCache = MetricCache()
  ) throws -> [String: MetricValue] {
    var values = [String: MetricValue]()
    for metric in metrics {
      values.merge(try score(metric: metric, population, round: round, in: rounds, labels: labels, cache: cache)) {
        $1
      }
    }
    return values
  }

  /// The values of one metric's columns for `population` of round `round`.
  func score(
    metric: any Metric, _ population: Population, round: Int, in rounds: [[Population]], labels: PerSplit<[Int32]?>,
    cache: MetricCache
  ) throws -> [String: MetricValue] {
    guard let retrain = rounds[round].first(where: { $0.role == .retrain }) else {
      throw HarnessError("evaluation", "the retrain reference did not run")
    }
    if population.models.isEmpty { return metric.missing("no model finished") }
    let input = self.input(
      for: metric, population, retrain: retrain, round: round, in: rounds, labels: labels, cache: cache)
    return evaluate(metric, input)
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

/// Runs `body`; with `UNLEARN_PROFILE` set, prints its wall time on standard error as
/// `profile: phase <name> <ms> ms` (next to the per-metric lines of the scorer).
public func profiled<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
  guard ProcessInfo.processInfo.environment["UNLEARN_PROFILE"] != nil else { return try body() }
  let start = DispatchTime.now().uptimeNanoseconds
  defer {
    let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    FileHandle.standardError.write(Data("profile: phase \(name) \(String(format: "%.0f", ms)) ms\n".utf8))
  }
  return try body()
}
