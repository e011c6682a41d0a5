import Foundation
import NumericCore

/// Ranks algorithms across one or many finished runs by one column, with bootstrap
/// 95 % intervals and a rank-stability column.
///
/// The value of an algorithm is the mean over runs of its column in round 1 of each run
/// (the metric recomputed from the stored outputs, with the run's own metric seed, so it
/// equals `results.json`). A bootstrap replicate resamples, in every run, the models of
/// every population and the examples of every split, both with replacement (the same draws
/// in every deletion round), recomputes the metric and re-ranks; the interval is the
/// 2.5–97.5 % percentile range and the stability the share of replicates in which the
/// algorithm keeps its rank.
///
/// Ranking: a column with an exact ideal (an attack's AUC: ½) ranks by the distance to
/// it; a "closest to retrain" column by the distance to the algorithm's reference (retrain,
/// or its own exact reference) in units of the reference's spread; the others by value.
/// Every column but the utility ones ranks only algorithms whose utility holds: retain and
/// test accuracy no more than `utilityTolerance` below their reference's; the others are
/// listed as "not ranked: utility", so a broken model wins nothing. References (original,
/// retrain, original-seeds, own originals and references) are listed but not ranked. An
/// algorithm with failed jobs is ranked on the models that finished, and its row says so.
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
    /// Why an evaluated algorithm is not ranked (its utility), nil otherwise.
    public var notRanked: String?
  }

  public var column: MetricColumn
  public var rows: [Row]
  public var replicates: Int
  /// Whether the column separates the original from the retrain floor on these runs, in words
  /// (nil for columns that are not about forgetting).
  public var power: String?
  /// Retain and test accuracy may fall this far (a fraction) below the reference's.
  public var utilityTolerance: Double
  /// 5 accuracy points: about three times the spread of test accuracy over retrained digits models.
  public static let defaultUtilityTolerance = 0.05

  /// One run's populations, loaded with what the metric reads, and what the leaderboard needs of
  /// its `results.json`.
  public struct RunData: Sendable {
    public var name: String
    /// `[round][population]`: round 1 only, unless the metric reads every round.
    public var populations: [[Population]]
    public var labels: [PerSplit<[Int32]?>]
    public var experimentSeed: UInt64
    /// Round 1's rows of results.json, by name.
    public var rows: [String: EvaluationReport.Row]
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
      experimentSeed: spec.seed,
      rows: Dictionary(report.rows(round: 1).map { ($0.algorithm, $0) }) { a, _ in a })
  }

  /// Models a run asks of a role (for results written before rows recorded it).
  static func requested(_ role: Role, _ spec: ExperimentSpec) -> Int {
    switch role {
    case .original, .ownOriginal: spec.evaluation.originals
    case .originalSeeds: spec.evaluation.referenceOriginals
    case .retrain, .algorithm, .ownReference: spec.evaluation.models
    }
  }

  /// Builds the leaderboard of `column` (a column of `metric`).
  public static func make(
    runs: [RunData], metric: any Metric, column: String, replicates: Int, seed: UInt64, workers: Int,
    utilityTolerance: Double = defaultUtilityTolerance
  ) throws -> Leaderboard {
    guard let col = metric.columns.first(where: { $0.name == column }) else {
      throw HarnessError("--by", "unknown column \(column)")
    }
    let point = try values(runs, metric: metric, column: column)
    let reps = try WorkerPool.map(count: replicates, workers: workers) { b -> [String: Double] in
      var rng = Xoshiro256StarStar(seed: Seeds.derive(seed, "leaderboard", String(b)))
      return try values(runs.map { resample($0, &rng) }, metric: metric, column: column)
    }
    let names = Set(runs.flatMap { $0.populations[0].map(\.name) }).sorted()
    let gate = col.category == .utility ? [:] : utilityGate(runs, names: names, tolerance: utilityTolerance)
    let ranking = Ranking(column: col, spread: spreads(runs, column: column), excluded: Set(gate.keys))
    let pointRanks = ranking.ranks(point), repRanks = reps.map(ranking.ranks)
    let intervals = Dictionary(
      uniqueKeysWithValues: names.map { name in
        (name, percentiles(reps.compactMap { $0[name] }, default: point[name] ?? .nan))
      })
    var rows = [Row]()
    for name in names {
      guard let v = point[name] else { continue }
      let stability = pointRanks[name].map { r in
        Double(repRanks.filter { $0[name] == r }.count) / Double(Swift.max(repRanks.count, 1))
      }
      let pops = runs.compactMap { $0.populations[0].first { $0.name == name } }
      rows.append(
        Row(
          algorithm: name, rank: pointRanks[name], value: v, interval: intervals[name] ?? [v, v],
          rankStability: stability, runs: pops.count, models: pops.map(\.models.count).reduce(0, +),
          requested: pops.map(\.requested).reduce(0, +), notRanked: gate[name]))
    }
    rows.sort {
      ($0.rank ?? Int.max, $0.notRanked == nil ? 0 : 1, $0.algorithm) < (
        $1.rank ?? Int.max, $1.notRanked == nil ? 0 : 1, $1.algorithm
      )
    }
    return Leaderboard(
      column: col, rows: rows, replicates: replicates,
      power: col.category == .forgetting ? powerText(col, point: point, intervals: intervals) : nil,
      utilityTolerance: utilityTolerance)
  }

  /// The 2.5 % and 97.5 % percentiles of `samples` (nearest rank), or `[v, v]` without samples.
  static func percentiles(_ samples: [Double], default v: Double) -> [Double] {
    guard let i = Summary.interval95(samples) else { return [v, v] }
    return [i.lowerBound, i.upperBound]
  }

  /// Whether the original's bootstrap interval is separated from the retrain row's: if not, the
  /// column cannot tell doing nothing from retraining on these runs.
  static func powerText(_ c: MetricColumn, point: [String: Double], intervals: [String: [Double]]) -> String? {
    PowerCheck(
      c, round: 1, original: point[Role.original.name], originalInterval: intervals[Role.original.name],
      floor: intervals[Role.retrain.name])?.text
  }

  /// Evaluated algorithms whose mean retain or test accuracy is more than `tolerance` below their
  /// reference's (averaged over the runs), with the reason.
  static func utilityGate(_ runs: [RunData], names: [String], tolerance: Double) -> [String: String] {
    var out = [String: String]()
    for name in names where !Role(rowName: name).isReference {
      for split in ["retain", "test"] {
        let pairs = runs.compactMap { run -> (Double, Double)? in
          guard let v = run.rows[name]?.metrics["\(split)_accuracy"]?.mean,
            let r = run.rows[referenceName(name, in: run)]?.metrics["\(split)_accuracy"]?.mean
          else { return nil }
          return (v, r)
        }
        guard !pairs.isEmpty else { continue }
        let v = pairs.map(\.0).reduce(0, +) / Double(pairs.count), r = pairs.map(\.1).reduce(0, +) / Double(pairs.count)
        if v < r - tolerance {
          out[name] = String(
            format: "utility: %@ accuracy %.1f %% against its reference's %.1f %% (tolerance %.1f points)", split,
            100 * v, 100 * r, 100 * tolerance)
          break
        }
      }
    }
    return out
  }

  /// The row an algorithm is compared with: its own exact reference if the run has one, else retrain.
  static func referenceName(_ name: String, in run: RunData) -> String {
    let own = Role.ownReference(name).name
    return run.rows[own] != nil ? own : Role.retrain.name
  }

  /// Each reference row's spread in the column (its standard deviation over models, or a quarter of
  /// its interval's width), averaged over runs; used to put "closest to retrain" distances in units.
  static func spreads(_ runs: [RunData], column: String) -> [String: Double] {
    var sums = [String: (Double, Int)]()
    for run in runs {
      for (name, row) in run.rows where row.role.isReference {
        guard let v = row.metrics[column] else { continue }
        let spread = v.std ?? v.interval.map { ($0[1] - $0[0]) / 4 }
        guard let spread, spread > 0, spread.isFinite else { continue }
        sums[name, default: (0, 0)].0 += spread
        sums[name, default: (0, 0)].1 += 1
      }
    }
    return sums.mapValues { $0.0 / Double($0.1) }
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

  /// The run with every population's models, and every split's examples, drawn with replacement
  /// (the same model draws in every round).
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
    for r in out.populations.indices {
      for split in Split.allCases {
        guard let n = out.labels[r][split]?.count, n > 0 else { continue }
        let rows = (0..<n).map { _ in rng.nextIndex(below: n) }
        out.labels[r][split] = out.labels[r][split].map { y in rows.map { y[$0] } }
        out.populations[r] = out.populations[r].map { $0.gathering(rows, of: split) }
      }
    }
    return out
  }

  /// Orders algorithms by a column: by the distance to the column's ideal, by the distance to
  /// the algorithm's reference in units of its spread, or by value.
  struct Ranking {
    var column: MetricColumn
    /// Each reference row's spread in this column.
    var spread: [String: Double]
    /// Evaluated algorithms left unranked (their utility).
    var excluded: Set<String>

    /// Larger is better after orientation.
    func goodness(_ name: String, _ values: [String: Double]) -> Double? {
      guard let v = values[name] else { return nil }
      switch column.direction {
      case .higherIsBetter: return v
      case .lowerIsBetter: return -v
      case .closestToIdeal: return -abs(v - (column.ideal ?? 0))
      case .closestToRetrain:
        let own = Role.ownReference(name).name
        let reference = values[own] != nil ? own : Role.retrain.name
        guard let r = values[reference] else { return nil }
        return -abs(v - r) / (spread[reference] ?? 1)
      }
    }

    /// Ranks 1, 2, … of the evaluated algorithms that are not excluded (references are not ranked).
    func ranks(_ values: [String: Double]) -> [String: Int] {
      var scored = [(name: String, goodness: Double)]()
      for name in values.keys where !Role(rowName: name).isReference && !excluded.contains(name) {
        if let g = goodness(name, values) { scored.append((name, g)) }
      }
      scored.sort { $0.goodness > $1.goodness || ($0.goodness == $1.goodness && $0.name < $1.name) }
      return Dictionary(uniqueKeysWithValues: scored.enumerated().map { ($1.name, $0 + 1) })
    }
  }
}
