import Foundation
import NumericCore

/// Ranks algorithms across one or many finished runs by one metric, with
/// bootstrap 95 % intervals over seeds and a rank-stability column.
///
/// The value of an algorithm is the mean over runs of its metric in round 1 of
/// each run. A bootstrap replicate resamples, in every run, the algorithm's models
/// and the retrained models with replacement, recomputes the metric from the
/// stored logits, and re-ranks; the interval is the 2.5–97.5 % percentile range
/// and the stability the share of replicates in which the algorithm keeps its rank.
/// References (original, retrain, original-seeds, owned originals) are listed but
/// not ranked.
public struct Leaderboard: Sendable {
  public struct Row: Sendable, Codable {
    public var algorithm: String
    public var rank: Int?
    public var value: Double
    public var interval: [Double]
    public var rankStability: Double?
    public var runs: Int
  }

  public var metric: MetricColumn
  public var rows: [Row]
  public var replicates: Int

  static func isReference(_ name: String) -> Bool {
    ["original", "retrain", OriginalSeeds.name].contains(name) || name.hasSuffix("(original)")
  }

  /// One run's round-1 populations and labels, read from its folder.
  public struct RunData: Sendable {
    public var name: String
    public var populations: [Population]
    public var labels: [String: [Int32]]
  }

  /// Reads a run folder written by `unlearn evaluate`.
  public static func load(_ url: URL) throws -> RunData {
    let folder = RunFolder(url)
    let resultsURL = url.appendingPathComponent("results.json")
    guard let data = FileManager.default.contents(atPath: resultsURL.path) else {
      throw HarnessError(resultsURL.path, "missing: is this a folder written by unlearn evaluate?")
    }
    /// The parts of results.json the leaderboard needs.
    struct Results: Decodable {
      struct Row: Decodable {
        var algorithm: String
        var round: Int
        var kind: UnlearningKind?
      }
      var name: String
      var rounds: [EvaluationReport.SplitInfo]
      var rows: [Row]
    }
    let report: Results
    do { report = try JSONDecoder().decode(Results.self, from: data) } catch {
      throw HarnessError(resultsURL.path, "unreadable results (\(error))")
    }
    let rounds = report.rounds.count
    var labels = [String: [Int32]]()
    for name in RunFolder.splitNames {
      let f = folder.round(url.appendingPathComponent("labels"), 0, of: rounds).appendingPathComponent("\(name).npy")
      guard let y = try NPYArray.read(f).integers else { throw HarnessError(f.path, "labels must be integers") }
      labels[name] = y.map(Int32.init)
    }
    var pops = [Population]()
    for row in report.rows where row.round == 1 && row.kind != nil {
      var models = [ModelOutputs]()
      var i = 0
      while FileManager.default.fileExists(atPath: folder.job(row.algorithm, i).appendingPathComponent("job.json").path)
      {
        models.append(try EvaluationRunner.loadOutputs(folder.round(folder.job(row.algorithm, i), 0, of: rounds)))
        i += 1
      }
      pops.append(Population(algorithm: row.algorithm, kind: row.kind, models: models, seconds: nil))
    }
    return RunData(name: report.name, populations: pops, labels: labels)
  }

  /// Builds the leaderboard of `column` (a column of `metric`).
  public static func make(
    runs: [RunData], metric: any PopulationMetric, column: String, replicates: Int, seed: UInt64, workers: Int
  ) throws -> Leaderboard {
    guard let col = metric.columns.first(where: { $0.name == column }) else {
      throw HarnessError("--by", "unknown metric \(column)")
    }
    let names = Array(Set(runs.flatMap { $0.populations.map(\.algorithm) })).sorted()
    /// The metric of every algorithm in every run, optionally on resampled models.
    @Sendable func values(_ rng: inout Xoshiro256StarStar?) throws -> [String: Double] {
      var sums = [String: (Double, Int)]()
      for run in runs {
        guard var retrained = run.populations.first(where: { $0.algorithm == "retrain" }) else { continue }
        let originals = run.populations.first { $0.algorithm == OriginalSeeds.name }
        if rng != nil { retrained = resample(retrained, &rng!) }
        for p in run.populations {
          let sample =
            rng != nil && p.algorithm != "retrain" ? resample(p, &rng!) : (p.algorithm == "retrain" ? retrained : p)
          let ctx = MetricContext(
            labels: run.labels, retrained: retrained, isReference: p.algorithm == "retrain", seed: seed, workers: 1,
            originals: originals)
          guard !sample.models.isEmpty, let v = try metric.evaluate(sample, context: ctx)[column]?.mean, v.isFinite
          else { continue }
          sums[p.algorithm, default: (0, 0)].0 += v
          sums[p.algorithm, default: (0, 0)].1 += 1
        }
      }
      return sums.mapValues { $0.0 / Double($0.1) }
    }
    var none: Xoshiro256StarStar? = nil
    let point = try values(&none)
    let retrainValue = point["retrain"]
    /// Larger is better after orientation.
    func goodness(_ v: Double) -> Double {
      switch col.direction {
      case .higherIsBetter: v
      case .lowerIsBetter: -v
      case .closestToRetrain: -abs(v - (retrainValue ?? v))
      }
    }
    func ranks(_ vals: [String: Double]) -> [String: Int] {
      let ranked = vals.keys.filter { !isReference($0) }.sorted {
        goodness(vals[$0]!) > goodness(vals[$1]!) || (goodness(vals[$0]!) == goodness(vals[$1]!) && $0 < $1)
      }
      return Dictionary(uniqueKeysWithValues: ranked.enumerated().map { ($1, $0 + 1) })
    }
    let pointRanks = ranks(point)
    let reps = try WorkerPool.map(count: replicates, workers: workers) { b -> [String: Double] in
      var rng: Xoshiro256StarStar? = Xoshiro256StarStar(seed: Seeds.derive(seed, "leaderboard", String(b)))
      return try values(&rng)
    }
    let repRanks = reps.map(ranks)
    var rows = [Row]()
    for name in names {
      guard let v = point[name] else { continue }
      let samples = reps.compactMap { $0[name] }.sorted()
      func q(_ p: Double) -> Double {
        samples.isEmpty ? v : samples[Swift.min(samples.count - 1, Int(p * Double(samples.count - 1)))]
      }
      let stability = pointRanks[name].map { r in
        Double(repRanks.filter { $0[name] == r }.count) / Double(Swift.max(repRanks.count, 1))
      }
      rows.append(
        Row(
          algorithm: name, rank: pointRanks[name], value: v, interval: [q(0.025), q(0.975)], rankStability: stability,
          runs: runs.filter { $0.populations.contains { $0.algorithm == name } }.count))
    }
    rows.sort { ($0.rank ?? Int.max, $0.algorithm) < ($1.rank ?? Int.max, $1.algorithm) }
    return Leaderboard(metric: col, rows: rows, replicates: replicates)
  }

  static func resample(_ p: Population, _ rng: inout Xoshiro256StarStar) -> Population {
    var out = p
    out.models = p.models.indices.map { _ in p.models[rng.nextIndex(below: p.models.count)] }
    out.seconds = nil
    out.workFractions = nil
    return out
  }

  func fmt(_ x: Double) -> String { String(format: "%.\(metric.decimals)f", x * metric.displayScale) }
  func rankText(_ r: Row) -> String { r.rank.map(String.init) ?? "ref" }
  func stabilityText(_ r: Row) -> String { r.rankStability.map { String(format: "%.0f%%", $0 * 100) } ?? "—" }

  public var markdown: String {
    var lines = [
      "| rank | algorithm | \(metric.header) \(metric.direction.mark) | 95% CI | rank stability | runs |",
      "|---|---|---|---|---|---|",
    ]
    for r in rows {
      lines.append(
        "| \(rankText(r)) | \(r.algorithm) | \(fmt(r.value)) | [\(fmt(r.interval[0])), \(fmt(r.interval[1]))] | \(stabilityText(r)) | \(r.runs) |"
      )
    }
    return lines.joined(separator: "\n")
      + "\n\n- \(metric.name): \(metric.description)\n- 95 % intervals and rank stability from \(replicates) bootstrap replicates over seeds (models resampled with replacement in every run, the metric recomputed from the stored logits).\n- ref: reference rows, not ranked.\n- Resampling with replacement duplicates models, which makes a population look peakier to the challenge's ε: its bootstrap distribution sits below the point estimate, so read the interval as a spread, not a centred interval.\n"
  }

  public var csv: String {
    (["rank,algorithm,value,ci_low,ci_high,rank_stability,runs"]
      + rows.map {
        "\($0.rank.map(String.init) ?? ""),\($0.algorithm),\($0.value),\($0.interval[0]),\($0.interval[1]),\($0.rankStability.map { "\($0)" } ?? ""),\($0.runs)"
      })
      .joined(separator: "\n") + "\n"
  }

  public var latex: String {
    var lines = [
      "% Generated by unlearn; needs \\usepackage{booktabs}.", "\\begin{tabular}{rlrrrr}", "\\toprule",
      "rank & algorithm & \(metric.header.replacingOccurrences(of: "%", with: "\\%")) & 95\\% CI & rank stability & runs \\\\",
      "\\midrule",
    ]
    for r in rows {
      lines.append(
        "\(rankText(r)) & \(r.algorithm) & \(fmt(r.value)) & [\(fmt(r.interval[0])), \(fmt(r.interval[1]))] & \(stabilityText(r).replacingOccurrences(of: "%", with: "\\%")) & \(r.runs) \\\\"
      )
    }
    return (lines + ["\\bottomrule", "\\end{tabular}"]).joined(separator: "\n") + "\n"
  }

  public var html: String {
    var s =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Leaderboard</title><style>body{font-family:sans-serif;margin:24px}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}td:nth-child(2){text-align:left}</style></head><body>"
    s +=
      "<h1>Leaderboard: \(Plot.escape(metric.header)) \(metric.direction.mark)</h1><table><tr><th>rank</th><th>algorithm</th><th>\(Plot.escape(metric.header))</th><th>95% CI</th><th>rank stability</th><th>runs</th></tr>"
    for r in rows {
      s +=
        "<tr><td>\(rankText(r))</td><td>\(Plot.escape(r.algorithm))</td><td>\(fmt(r.value))</td><td>[\(fmt(r.interval[0])), \(fmt(r.interval[1]))]</td><td>\(stabilityText(r))</td><td>\(r.runs)</td></tr>"
    }
    return s
      + "</table><p>\(Plot.escape(metric.description)) Intervals and rank stability from \(replicates) bootstrap replicates over seeds.</p></body></html>\n"
  }
}
