import Foundation
import Harness
import NumericCore

/// `report.html`: one self-contained page (no network, no script) with every table,
/// every figure (the same cairo drawings as `plots/*.png`, as inline SVG), the notes,
/// the definition of every column and the configuration.
extension EvaluationReport {
  /// The page; `figures[r]` are round r's figures, rendered.
  public func html(figures: [Int: [(figure: Figure, rendered: RenderedPlot)]]) -> String {
    var s = htmlHeader
    let rounds = roundCount
    for r in 1...rounds {
      s += rounds > 1 ? "<h2>Round \(r) of \(rounds)</h2>" : "<h2>Results</h2>"
      s += htmlTable(rows(round: r), mainColumns)
      let flags = flagLines(rows(round: r), mainColumns), power = powerLines(round: r, mainColumns)
      if !flags.isEmpty { s += "<p>‡ Flagged values:</p>" + Self.list(flags) }
      if !power.isEmpty {
        s += "<p>Power (does the column tell the original from the retrain floor?):</p>" + Self.list(power)
      }
      var sections = [String]()
      for f in figures[r] ?? [] where !sections.contains(f.figure.section) { sections.append(f.figure.section) }
      for section in sections {
        let svgs = (figures[r] ?? []).filter { $0.figure.section == section }.map(\.rendered.svg)
        s += "<h3>\(Self.escape(section))</h3><div class=\"plots\">" + svgs.joined() + "</div>"
      }
    }
    if rounds > 1 && !acrossRoundsRows.isEmpty {
      s += "<h2>Over all \(rounds) rounds</h2>" + htmlTable(acrossRoundsRows, acrossRoundsColumns)
    }
    if !failedJobs.isEmpty {
      s += "<h2>Failed jobs</h2><ul>"
      s += failedJobs.filter { $0.hasPrefix("- ") }.map { "<li>\(Self.escape(String($0.dropFirst(2))))</li>" }.joined()
      s += "</ul>"
    }
    let uncertainty = uncertaintyLines(mainColumns + (rounds > 1 ? acrossRoundsColumns : []))
    if !uncertainty.isEmpty { s += "<h2>Uncertainty</h2>" + Self.list(uncertainty) }
    s += "<h2>Notes</h2>" + Self.list(notes)
    s += "<h2>Metrics</h2><ul>"
    for c in columns {
      let ideal = c.ideal.map { ", ideal \(c.format($0))" } ?? ""
      s += "<li><b>\(Self.escape(c.name))</b> (\(c.direction.rawValue)\(ideal), \(c.category.rawValue)): "
      s += Self.escape(c.description) + (c.uncertainty.map { " <i>\(Self.escape($0))</i>" } ?? "") + "</li>"
    }
    s += "</ul><h2>Configuration</h2><pre>\(Self.escape(config))</pre></body></html>\n"
    return s
  }

  var htmlHeader: String {
    """
    <!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
    <title>\(Self.escape(name)): unlearning evaluation</title>
    <style>body{font-family:"DejaVu Sans",sans-serif;margin:24px;color:#222;max-width:1500px}
    table{border-collapse:collapse;font-size:12px;margin:8px 0 16px}
    th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}td{white-space:nowrap}
    .table{overflow-x:auto}
    td:first-child,th:first-child{text-align:left}tr.floor{background:#fff8e1}
    .plots{display:flex;flex-wrap:wrap;gap:8px}.plots svg{border:1px solid #eee}
    code,pre{background:#f6f6f6}pre{padding:8px;overflow:auto;font-size:11px}</style>
    </head><body><h1>\(Self.escape(name))</h1>
    <p>unlearn \(Self.escape(toolVersion)), results schema \(schemaVersion). \(modelsPerAlgorithm) models per algorithm;
    dataset <code>\(Self.escape(dataset))</code> (content SHA-256 <code>\(datasetSHA256 ?? "—")</code>, file list
    SHA-256 <code>\(datasetFileListSHA256 ?? "—")</code>);
    original weights SHA-256 <code>\(originalWeightsSHA256)</code>. Mean ± std over models, or a value and its
    95 % interval in brackets (what each resamples: Uncertainty, below); ‡ marks a value that cannot be read at face
    value (listed under the table). Hover a header for the metric's definition, a cell for its note. The highlighted
    reference rows are the noise floor: the same metric between two disjoint halves of the reference models, which
    is what an exact unlearner scores.</p>
    """
  }

  func htmlTable(_ rows: [Row], _ cols: [MetricColumn]) -> String {
    var s = "<div class=\"table\"><table><thead><tr><th>algorithm</th><th>kind</th><th>N</th>"
    for c in cols {
      s += "<th title=\"\(Self.escape(c.description))\">\(Self.escape(c.header)) \(c.mark)</th>"
    }
    s += "</tr></thead><tbody>"
    for r in rows {
      let floor: Bool
      switch r.role {
      case .retrain, .ownReference: floor = true
      default: floor = false
      }
      s += floor ? "<tr class=\"floor\">" : "<tr>"
      let cells = [r.algorithm, r.kind?.rawValue ?? "—", r.countText]
      s += cells.map { "<td>\(Self.escape($0))</td>" }.joined()
      for c in cols {
        let v = r.metrics[c.name]
        let tip = [v?.note, v?.flag].compactMap { $0 }.joined(separator: "; ")
        let note = tip.isEmpty ? "" : " title=\"\(Self.escape(tip))\""
        s += "<td\(note)>\(Self.escape(cell(r, c)))</td>"
      }
      s += "</tr>"
    }
    return s + "</tbody></table></div>"
  }

  /// A bulleted list of `lines`.
  static func list(_ lines: [String]) -> String {
    "<ul>" + lines.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
  }

  /// Text safe inside HTML elements and attribute values.
  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}

/// Writes the reports of a run.
public enum ReportWriter {
  /// Writes `results.json`, `table.md`, `table.csv`, `table.tex`, `plots/*.png` and `report.html`
  /// into `directory`. Each figure is drawn once: the same drawing is the PNG and the page's SVG.
  /// Figures render on up to `workers` threads; the files do not depend on how many.
  public static func write(_ report: EvaluationReport, to directory: URL, workers: Int = 1) throws {
    try writeAtomically(try report.json(), to: directory.appendingPathComponent(RunStore.resultsFile))
    try writeAtomically(Data(report.markdown.utf8), to: directory.appendingPathComponent("table.md"))
    try writeAtomically(Data(report.csv.utf8), to: directory.appendingPathComponent("table.csv"))
    try writeAtomically(Data(report.latex.utf8), to: directory.appendingPathComponent("table.tex"))
    let plots = directory.appendingPathComponent("plots")
    try? FileManager.default.removeItem(at: plots)
    try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
    let rounds = report.roundCount
    let all = (1...rounds).flatMap { r in
      report.figures(round: r).map { (round: r, figure: $0, stem: rounds > 1 ? "round-\(r)-\($0.name)" : $0.name) }
    }
    // Each plot renders on its own cairo surface, so they render in parallel (in a fixed order of output).
    let rendered = try WorkerPool.map(count: all.count, workers: workers) { i in
      let plot = try all[i].figure.plot.render(id: all[i].stem)
      try writeAtomically(plot.png, to: plots.appendingPathComponent("\(all[i].stem).png"))
      return plot
    }
    var figures = [Int: [(figure: Figure, rendered: RenderedPlot)]]()
    for (f, plot) in zip(all, rendered) { figures[f.round, default: []].append((f.figure, plot)) }
    try writeAtomically(Data(report.html(figures: figures).utf8), to: directory.appendingPathComponent("report.html"))
  }
}
