import Foundation
import NumericCore

/// The scores of an evaluation run, as written to `results.json` (schema
/// version 1), `table.md` and `table.csv`.
public struct EvaluationReport: Codable, Sendable {
  public static let schema = "unlearn.results"
  public static let schemaVersion = 1

  public struct SplitInfo: Codable, Sendable {
    public var count: Int
    public var sha256: String
  }

  public struct Row: Codable, Sendable {
    public var algorithm: String
    /// Deletion round (1-based; 1 when there is a single forget set).
    public var round: Int
    /// exact / approximate; nil for the original model.
    public var kind: UnlearningKind?
    public var hyperParameters: [String: ConfigValue]
    /// Models that finished (and were scored).
    public var models: Int
    public var failures: [JobFailure]
    public var metrics: [String: MetricValue]
  }

  public var schema = EvaluationReport.schema
  public var schemaVersion = EvaluationReport.schemaVersion
  public var toolVersion: String
  public var name: String
  /// The resolved configuration (YAML).
  public var config: String
  public var dataset: String
  public var datasetFileListSHA256: String?
  public var splits: [String: SplitInfo]
  public var originalWeightsSHA256: String
  /// N requested per algorithm.
  public var modelsPerAlgorithm: Int
  /// Deletion rounds (sizes and SHA-256 of each round's forget set).
  public var rounds: [SplitInfo]
  public var columns: [MetricColumn]
  public var rows: [Row]
  public var notes: [String]

  /// Scores every population with every metric.
  public static func make(
    outcome: EvaluationRunner.Outcome, runner: EvaluationRunner, metrics: [any PopulationMetric], toolVersion: String
  ) throws -> EvaluationReport {
    let exp = runner.experiment
    var splits = [String: SplitInfo]()
    for (name, ids) in exp.splits.named { splits[name] = SplitInfo(count: ids.count, sha256: Splits.sha256(ids)) }
    var rows = [Row]()
    for (r, round) in outcome.populations.enumerated() {
      let d = outcome.rounds[r]
      var labels = [String: [Int32]]()
      for (name, ids) in [
        ("forget", d.forget), ("retain", d.retain), ("test", exp.splits.test), ("validation", exp.splits.validation),
      ] {
        labels[name] = exp.examples(ids).labels
      }
      guard let reference = round.first(where: { $0.algorithm == "retrain" }) else {
        throw HarnessError("evaluation", "the retrain reference did not run")
      }
      let originals = round.first { $0.algorithm == OriginalSeeds.name && !$0.models.isEmpty }
      let cache = MetricCache()
      for p in round {
        var context = MetricContext(
          labels: labels, retrained: reference, isReference: p.algorithm == "retrain",
          seed: Seeds.derive(exp.spec.seed, "metrics", String(r)), workers: runner.workers, originals: originals)
        context.cache = cache
        var values = [String: MetricValue]()
        for m in metrics {
          if p.models.isEmpty {
            for c in m.columns { values[c.name] = MetricValue(mean: nil, note: "no model finished") }
            continue
          }
          do {
            let start = DispatchTime.now().uptimeNanoseconds
            values.merge(try m.evaluate(p, context: context)) { $1 }
            if ProcessInfo.processInfo.environment["UNLEARN_PROFILE"] != nil {
              let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
              FileHandle.standardError.write(
                Data("profile: \(p.algorithm) \(type(of: m)) \(String(format: "%.0f", ms)) ms\n".utf8))
            }
          } catch {
            for c in m.columns { values[c.name] = MetricValue(mean: nil, note: "\(error)") }
          }
        }
        let algo = runner.algorithms.first { $0.name == p.algorithm }
        rows.append(
          Row(
            algorithm: p.algorithm, round: r + 1, kind: p.kind, hyperParameters: algo?.hyperParameters ?? [:],
            models: p.models.count,
            failures: outcome.failures.filter { $0.algorithm == p.algorithm }, metrics: values))
      }
    }
    // Timing side channel: does the wall time separate the forget sets of different rounds?
    let nRounds = outcome.rounds.count
    for name in Set(rows.map(\.algorithm)) {
      let idx = rows.indices.filter { rows[$0].algorithm == name }
      guard nRounds > 1, idx.count == nRounds else {
        for i in idx where rows[i].kind != nil {
          rows[i].metrics["timing_leak"] = MetricValue(mean: nil, note: "needs at least 2 deletion rounds")
        }
        continue
      }
      let times = idx.map { rows[$0].metrics["seconds"]?.perExample ?? [] }
      let work = idx.map { rows[$0].metrics["work_redone"]?.mean }
      guard times.allSatisfy({ !$0.isEmpty }) else { continue }
      let key: [Double] =
        work.allSatisfy({ $0 != nil }) && Set(work.map { $0! }).count > 1
        ? work.map { $0! } : times.map { t in t.sorted()[t.count / 2] }
      let lo = key.indices.min { key[$0] < key[$1] }!, hi = key.indices.max { key[$0] < key[$1] }!
      let auc = ROC(positives: times[hi], negatives: times[lo]).auc
      let value = MetricValue(
        mean: 2 * abs(auc - 0.5),
        note:
          "rounds \(lo + 1) and \(hi + 1) (\(work.allSatisfy { $0 != nil } ? "least and most work redone" : "fastest and slowest")); time AUC \(String(format: "%.3f", auc))"
      )
      for i in idx { rows[i].metrics["timing_leak"] = value }
    }
    var notes = [
      "original: the model before unlearning (one model; its challenge score treats it as N identical copies).",
      "retrain: models retrained from scratch on the retain set, the reference; its F, score and distances compare its first half with its second half (the noise floor).",
      "original-seeds: models trained on the whole training set with other seeds (no unlearning; the IN references of LiRA and RMIA).",
      "Directions: ↑ higher is better, ↓ lower is better, ≈R best when closest to the retrain row.",
    ]
    if !outcome.failures.isEmpty { notes.append("\(outcome.failures.count) job(s) failed; see rows[].failures.") }
    if outcome.rounds.count > 1 {
      notes.append(
        "\(outcome.rounds.count) sequential deletion rounds of \(outcome.rounds[0].forget.count) examples: each algorithm unlearns them in order from its previous round's model; each round is scored against models retrained from scratch on what is left, and on that round's forget batch."
      )
    }
    return EvaluationReport(
      toolVersion: toolVersion, name: exp.spec.name, config: exp.spec.yaml, dataset: exp.spec.dataset.path,
      datasetFileListSHA256: exp.dataset.fileListSHA256, splits: splits, originalWeightsSHA256: outcome.originalSHA256,
      modelsPerAlgorithm: runner.models,
      rounds: outcome.rounds.map { SplitInfo(count: $0.forget.count, sha256: Splits.sha256($0.forget)) },
      columns: metrics.flatMap(\.columns), rows: rows, notes: notes)
  }

  /// `results.json`.
  public func json() throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    enc.keyEncodingStrategy = .convertToSnakeCase
    enc.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try enc.encode(self)
  }

  var tableColumns: [MetricColumn] { columns.filter(\.inTable) }

  func cell(_ row: Row, _ c: MetricColumn) -> String {
    guard let v = row.metrics[c.name], let m = v.mean else { return "—" }
    func f(_ x: Double) -> String { x.isInfinite ? "∞" : String(format: "%.\(c.decimals)f", x * c.displayScale) }
    if let s = v.std { return "\(f(m)) ± \(f(s))" }
    return f(m)
  }

  /// `table.md`: one row per algorithm (per round, with a cumulative-cost table when there are several), mean ± std over models.
  public var markdown: String {
    let cols = tableColumns
    let rounds = rows.map(\.round).max() ?? 1
    var lines = [String]()
    for r in 1...rounds {
      if rounds > 1 { lines += ["### Round \(r) of \(rounds)", ""] }
      lines.append(
        "| algorithm | kind | N | " + cols.map { "\($0.header) \($0.direction.mark)" }.joined(separator: " | ") + " |")
      lines.append("|" + Array(repeating: "---", count: cols.count + 3).joined(separator: "|") + "|")
      for row in rows where row.round == r {
        let n = row.failures.isEmpty ? "\(row.models)" : "\(row.models) (\(row.failures.count) failed)"
        lines.append(
          "| \(row.algorithm) | \(row.kind?.rawValue ?? "—") | \(n) | "
            + cols.map { cell(row, $0) }.joined(separator: " | ") + " |")
      }
      lines.append("")
    }
    if rounds > 1 {
      lines += [
        "### Cumulative cost over \(rounds) rounds", "",
        "| algorithm | kind | time s ↓ | speed-up ↑ | work redone % ↓ | timing leak ↓ |",
        "|---|---|---|---|---|---|",
      ]
      func total(_ name: String, _ metric: String) -> Double? {
        let values = rows.filter { $0.algorithm == name }.map { $0.metrics[metric]?.mean }
        return values.contains(where: { $0 == nil }) || values.isEmpty ? nil : values.map { $0! }.reduce(0, +)
      }
      let reference = total("retrain", "seconds")
      for row in rows where row.round == 1 && row.kind != nil {
        let t = total(row.algorithm, "seconds"), w = total(row.algorithm, "work_redone")
        let speedup = t.flatMap { t in reference.map { $0 / t } }
        lines.append(
          "| \(row.algorithm) | \(row.kind!.rawValue) | \(t.map { String(format: "%.4f", $0) } ?? "—") | "
            + "\(speedup.map { String(format: "%.1f", $0) } ?? "—") | \(w.map { String(format: "%.1f", $0 * 100) } ?? "—") | "
            + "\(row.metrics["timing_leak"]?.mean.map { String(format: "%.2f", $0) } ?? "—") |")
      }
      lines.append("")
    }
    var failed = [String]()
    for row in rows where row.round == 1 && !row.failures.isEmpty {
      // The first line of the first reason (later lines are the command's log; all of it is in results.json).
      let first = row.failures[0]
      let reason = first.reason.split(separator: "\n").first.map(String.init) ?? ""
      failed.append("- \(row.algorithm): \(row.failures.count) failed; #\(first.index): \(reason)")
    }
    if !failed.isEmpty { failed = ["Failed jobs:", ""] + failed + [""] }
    return (lines + failed).joined(separator: "\n") + "\n" + notes.map { "- \($0)" }.joined(separator: "\n") + "\n"
  }

  /// `table.csv`: raw values (no display scaling), `<metric>_mean` and `<metric>_std` columns.
  public var csv: String {
    let cols = tableColumns
    var header = ["algorithm", "round", "kind", "models", "failed"]
    for c in cols { header += ["\(c.name)_mean", "\(c.name)_std"] }
    var lines = [header.joined(separator: ",")]
    for r in rows {
      var fields = [r.algorithm, "\(r.round)", r.kind?.rawValue ?? "", "\(r.models)", "\(r.failures.count)"]
      for c in cols {
        let v = r.metrics[c.name]
        fields.append(v?.mean.map { "\($0)" } ?? "")
        fields.append(v?.std.map { "\($0)" } ?? "")
      }
      lines.append(fields.joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Writes `results.json`, `table.md`, `table.csv`, `table.tex`, `report.html` and `plots/*.png` into `dir`.
  public func write(to dir: URL) throws {
    try writeAtomically(try json(), to: dir.appendingPathComponent("results.json"))
    try writeAtomically(Data(markdown.utf8), to: dir.appendingPathComponent("table.md"))
    try writeAtomically(Data(csv.utf8), to: dir.appendingPathComponent("table.csv"))
    try writeAtomically(Data(latex.utf8), to: dir.appendingPathComponent("table.tex"))
    try writeAtomically(Data(html.utf8), to: dir.appendingPathComponent("report.html"))
    let plotsDir = dir.appendingPathComponent("plots")
    try FileManager.default.createDirectory(at: plotsDir, withIntermediateDirectories: true)
    let rounds = rows.map(\.round).max() ?? 1
    for r in 1...rounds {
      for (name, plot) in plots(round: r) {
        let file = rounds > 1 ? "round-\(r)-\(name).png" : "\(name).png"
        try writeAtomically(try plot.png(), to: plotsDir.appendingPathComponent(file))
      }
    }
  }
}
