import Foundation
import NumericCore

/// Ranks algorithms across one or many finished runs by one column, with bootstrap
/// 95 % intervals over seeds and a rank-stability column.
///
/// The value of an algorithm is the mean over runs of its column in round 1 of each
/// run (the metric recomputed from the stored outputs, with the run's own metric
/// seed, so it equals `results.json`). A bootstrap replicate resamples, in every run,
/// the models of every population with replacement (the same draws in every deletion
/// round), recomputes the metric, and re-ranks; the interval is the 2.5–97.5 %
/// percentile range and the stability the share of replicates in which the algorithm
/// keeps its rank. References (original, retrain, original-seeds, own originals) are
/// listed but not ranked. An algorithm with failed jobs is ranked on the models that
/// finished, and its row says how many did not.
public struct Leaderboard: Sendable {
  public struct Row: Sendable, Codable {
    public var algorithm: String
    public var rank: Int?
    public var value: Double
    public var interval: [Double]
    public var rankStability: Double?
    public var runs: Int
    /// Models scored and models asked for, over all runs.
    public var models: Int
    public var requested: Int
  }

  public var column: MetricColumn
  public var rows: [Row]
  public var replicates: Int

  /// One run's populations, loaded with what the metric reads.
  public struct RunData: Sendable {
    public var name: String
    /// `[round][population]`: round 1 only, unless the metric reads every round.
    public var populations: [[Population]]
    public var labels: [PerSplit<[Int32]?>]
    public var experimentSeed: UInt64
  }

  /// Reads a run folder written by `unlearn evaluate`: its populations (every model that
  /// finished, and the jobs that did not) with what `metric` declares.
  public static func load(_ url: URL, for metric: any Metric) throws -> RunData {
    let store = try RunStore.open(url)
    let report = try store.results(), spec = try store.configuration()
    let entries = report.rows.filter { $0.round == 1 }.map { row in
      PopulationEntry(role: row.role, kind: row.kind, requested: row.requested ?? requested(row.role, spec))
    }
    var request = LoadRequest(splits: metric.inputs.splits)
    if metric.inputs.shadowRuns, let plan = metric.shadowRuns {
      var counts = [String: Int]()
      for e in entries {
        if let k = e.kind, let a = e.role.jobName { counts[a] = plan.count(algorithm: a, kind: k, spec: spec) }
      }
      request.shadows = [LoadRequest.ShadowLoad(plan: plan.name, splits: plan.splits, counts: counts)]
    }
    let rounds = metric.inputs.allRounds ? store.rounds : 1
    return RunData(
      name: report.name,
      populations: try (0..<rounds).map { try store.populations(entries, round: $0, request: request) },
      labels: try (0..<rounds).map { try store.labels(round: $0, splits: metric.inputs.splits) },
      experimentSeed: spec.seed)
  }

  /// Models a run asks of a role (for results written before rows recorded it).
  static func requested(_ role: Role, _ spec: ExperimentSpec) -> Int {
    switch role {
    case .original, .ownOriginal: 1
    case .originalSeeds: spec.evaluation.referenceOriginals
    case .retrain, .algorithm: spec.evaluation.models
    }
  }

  /// Builds the leaderboard of `column` (a column of `metric`).
  public static func make(
    runs: [RunData], metric: any Metric, column: String, replicates: Int, seed: UInt64, workers: Int
  ) throws -> Leaderboard {
    guard let col = metric.columns.first(where: { $0.name == column }) else {
      throw HarnessError("--by", "unknown column \(column)")
    }
    let point = try values(runs, metric: metric, column: column)
    let reps = try WorkerPool.map(count: replicates, workers: workers) { b -> [String: Double] in
      var rng = Xoshiro256StarStar(seed: Seeds.derive(seed, "leaderboard", String(b)))
      return try values(runs.map { resample($0, &rng) }, metric: metric, column: column)
    }
    let ranking = Ranking(direction: col.direction, reference: point[Role.retrain.name])
    let pointRanks = ranking.ranks(point), repRanks = reps.map(ranking.ranks)
    var rows = [Row]()
    for name in Set(runs.flatMap { $0.populations[0].map(\.name) }).sorted() {
      guard let v = point[name] else { continue }
      let samples = reps.compactMap { $0[name] }.sorted()
      func q(_ p: Double) -> Double {
        samples.isEmpty ? v : samples[Swift.min(samples.count - 1, Int(p * Double(samples.count - 1)))]
      }
      let stability = pointRanks[name].map { r in
        Double(repRanks.filter { $0[name] == r }.count) / Double(Swift.max(repRanks.count, 1))
      }
      let pops = runs.compactMap { $0.populations[0].first { $0.name == name } }
      rows.append(
        Row(
          algorithm: name, rank: pointRanks[name], value: v, interval: [q(0.025), q(0.975)], rankStability: stability,
          runs: pops.count, models: pops.map(\.models.count).reduce(0, +), requested: pops.map(\.requested).reduce(0, +)
        ))
    }
    rows.sort { ($0.rank ?? Int.max, $0.algorithm) < ($1.rank ?? Int.max, $1.algorithm) }
    return Leaderboard(column: col, rows: rows, replicates: replicates)
  }

  /// The column's value for every population of round 1, averaged over the runs that have it.
  static func values(_ runs: [RunData], metric: any Metric, column: String) throws -> [String: Double] {
    var sums = [String: (Double, Int)]()
    for run in runs {
      let scorer = Scorer(metrics: [metric], workers: 1, experimentSeed: run.experimentSeed)
      for p in run.populations[0] where !p.models.isEmpty {
        let values = try scorer.score(p, round: 0, in: run.populations, labels: run.labels[0])
        guard let v = values[column]?.mean, v.isFinite else { continue }
        sums[p.name, default: (0, 0)].0 += v
        sums[p.name, default: (0, 0)].1 += 1
      }
    }
    return sums.mapValues { $0.0 / Double($0.1) }
  }

  /// The run with every population's models drawn with replacement (the same draws in every round).
  static func resample(_ run: RunData, _ rng: inout Xoshiro256StarStar) -> RunData {
    var out = run
    for p in run.populations[0] {
      let draws = p.models.indices.map { _ in rng.nextIndex(below: p.models.count) }
      for r in out.populations.indices {
        guard let j = out.populations[r].firstIndex(where: { $0.role == p.role }) else { continue }
        if out.populations[r][j].models.count == p.models.count {
          out.populations[r][j] = out.populations[r][j].subset(draws)
        }
      }
    }
    return out
  }

  /// Orders algorithms by a column's direction.
  struct Ranking {
    var direction: MetricDirection
    /// The retrain row's value, for "closest to retrain" columns.
    var reference: Double?

    /// Larger is better after orientation.
    func goodness(_ v: Double) -> Double {
      switch direction {
      case .higherIsBetter: v
      case .lowerIsBetter: -v
      case .closestToRetrain: -abs(v - (reference ?? v))
      }
    }

    /// Ranks 1, 2, … of the evaluated algorithms (references are not ranked).
    func ranks(_ values: [String: Double]) -> [String: Int] {
      let ranked = values.keys.filter { !Role(rowName: $0).isReference }.sorted {
        let (a, b) = (goodness(values[$0] ?? 0), goodness(values[$1] ?? 0))
        return a > b || (a == b && $0 < $1)
      }
      return Dictionary(uniqueKeysWithValues: ranked.enumerated().map { ($1, $0 + 1) })
    }
  }
}
