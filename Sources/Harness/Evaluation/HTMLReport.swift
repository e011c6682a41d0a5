import Foundation

/// `report.html`: one self-contained page (no network, inline SVG) with the
/// result tables, log-log ROC curves per attack and algorithm, histograms of
/// the challenge's per-example ε and of the forget-set logit-scaled confidences
/// (each algorithm against the retrained models), and the noise floors.
extension EvaluationReport {
  /// The attacks drawn as ROC curves: (metric prefix, title).
  static let rocAttacks = [
    ("lira_online", "LiRA online (fixed σ)"), ("lira_offline", "LiRA offline (fixed σ)"),
    ("rmia_offline", "RMIA offline"),
    ("loss", "Loss threshold (forget vs test)"),
  ]

  /// Every plot of the report, by file stem.
  public func plots(round: Int = 1) -> [(name: String, plot: Plot)] {
    let rs = rows.filter { $0.round == round }
    var out = [(String, Plot)]()
    func color(_ i: Int) -> RGB { RGB.palette[i % RGB.palette.count] }
    for (prefix, title) in Self.rocAttacks {
      var series = [Plot.Series]()
      for (i, r) in rs.enumerated() {
        guard let curve = r.metrics["\(prefix)_auc"]?.curve else { continue }
        series.append(
          Plot.Series(
            name: r.algorithm, points: curve.map { (Swift.max($0[0], 1e-5), Swift.max($0[1], 1e-5)) }, color: color(i),
            dashed: r.algorithm == "retrain"))
      }
      guard !series.isEmpty else { continue }
      out.append(
        (
          "roc-\(prefix)",
          Plot(
            title: "ROC, \(title)", xLabel: "false positive rate", yLabel: "true positive rate", xRange: 1e-4...1,
            yRange: 1e-4...1,
            xScale: .log10, yScale: .log10, series: series, diagonal: true)
        ))
    }
    let retrain = rs.first { $0.algorithm == "retrain" }
    for (i, r) in rs.enumerated() where r.algorithm != "retrain" {
      if let c = r.metrics["forget_confidence"]?.curve, let rc = retrain?.metrics["forget_confidence"]?.curve {
        let width = c.count > 1 ? c[1][0] - c[0][0] : 1
        let top = (c + rc).map { $0[1] }.max() ?? 1
        out.append(
          (
            "confidence-\(r.algorithm)",
            Plot(
              title: "Forget-set confidence: \(r.algorithm) vs retrain",
              xLabel: "logit-scaled confidence log p_y − log(1 − p_y)",
              yLabel: "fraction", xRange: ForgetConfidenceRange.range, yRange: 0...Swift.max(top * 1.1, 1e-9),
              series: [
                Plot.Series(
                  name: "retrain", points: rc.map { ($0[0], $0[1]) }, color: RGB(127, 127, 127), bars: true,
                  barWidth: width),
                Plot.Series(
                  name: r.algorithm, points: c.map { ($0[0], $0[1]) }, color: color(i), bars: true, barWidth: width),
              ])
          ))
      }
      if let eps = r.metrics["forgetting_quality"]?.perExample {
        let h = Histogram(eps.map { Swift.min($0, 7.25) }, lower: 0, upper: 7.5, bins: 15)
        out.append(
          (
            "epsilon-\(r.algorithm)",
            Plot(
              title: "Per-example ε: \(r.algorithm)", xLabel: "challenge ε (last bin: ≥ 7, including the cap 50)",
              yLabel: "fraction",
              xRange: 0...7.5, yRange: 0...Swift.max((h.fractions.max() ?? 1) * 1.1, 1e-9),
              series: [Plot.Series(name: r.algorithm, points: h.points, color: color(i), bars: true, barWidth: h.width)]
            )
          ))
      }
    }
    if let eps = retrain?.metrics["forgetting_quality"]?.perExample {
      let h = Histogram(eps.map { Swift.min($0, 7.25) }, lower: 0, upper: 7.5, bins: 15)
      out.append(
        (
          "epsilon-retrain-noise-floor",
          Plot(
            title: "Per-example ε, retrain half vs half (noise floor)", xLabel: "challenge ε", yLabel: "fraction",
            xRange: 0...7.5,
            yRange: 0...Swift.max((h.fractions.max() ?? 1) * 1.1, 1e-9),
            series: [
              Plot.Series(name: "retrain", points: h.points, color: RGB(127, 127, 127), bars: true, barWidth: h.width)
            ])
        ))
    }
    return out
  }

  func htmlTable(round: Int) -> String {
    let cols = tableColumns
    var s = "<table><thead><tr><th>algorithm</th><th>kind</th><th>N</th>"
    for c in cols {
      s += "<th title=\"\(Plot.escape(c.description))\">\(Plot.escape(c.header)) \(c.direction.mark)</th>"
    }
    s += "</tr></thead><tbody>"
    for r in rows where r.round == round {
      let cls = r.algorithm == "retrain" ? " class=\"floor\"" : ""
      s +=
        "<tr\(cls)><td>\(Plot.escape(r.algorithm))</td><td>\(r.kind?.rawValue ?? "—")</td><td>\(r.models)\(r.failures.isEmpty ? "" : " (\(r.failures.count) failed)")</td>"
      for c in cols {
        let note = r.metrics[c.name]?.note.map { " title=\"\(Plot.escape($0))\"" } ?? ""
        s += "<td\(note)>\(Plot.escape(cell(r, c)))</td>"
      }
      s += "</tr>"
    }
    return s + "</tbody></table>"
  }

  /// The self-contained page.
  public var html: String {
    let rounds = rows.map(\.round).max() ?? 1
    var s = """
      <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>\(Plot.escape(name)): unlearning evaluation</title>
      <style>body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}table{border-collapse:collapse;font-size:12px;margin:8px 0 16px}
      th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
      tr.floor{background:#fff8e1}.plots{display:flex;flex-wrap:wrap;gap:8px}code,pre{background:#f6f6f6}pre{padding:8px;overflow:auto;font-size:11px}</style>
      </head><body><h1>\(Plot.escape(name))</h1>
      <p>unlearn \(Plot.escape(toolVersion)), results schema \(schemaVersion). \(modelsPerAlgorithm) models per algorithm; dataset <code>\(Plot.escape(dataset))</code>
      (file list SHA-256 <code>\(datasetFileListSHA256 ?? "—")</code>); original weights SHA-256 <code>\(originalWeightsSHA256)</code>.
      Mean ± std over models; hover a header for the metric's definition, a cell for its note.
      The highlighted <b>retrain</b> row is the noise floor: the same metric between two disjoint halves of the retrained models,
      which is what an exact unlearner scores.</p>
      """
    for r in 1...rounds {
      s += rounds > 1 ? "<h2>Round \(r) of \(rounds)</h2>" : "<h2>Results</h2>"
      s += htmlTable(round: r)
      let p = plots(round: r)
      let roc = p.filter { $0.name.hasPrefix("roc-") }, conf = p.filter { $0.name.hasPrefix("confidence-") }
      let eps = p.filter { $0.name.hasPrefix("epsilon-") }
      if !roc.isEmpty {
        s += "<h3>ROC curves (log-log)</h3><div class=\"plots\">" + roc.map(\.plot.svg).joined() + "</div>"
      }
      if !eps.isEmpty {
        s +=
          "<h3>Per-example ε of the challenge score</h3><div class=\"plots\">" + eps.map(\.plot.svg).joined() + "</div>"
      }
      if !conf.isEmpty {
        s +=
          "<h3>Logit-scaled confidences on the forget set, against the retrained models</h3><div class=\"plots\">"
          + conf.map(\.plot.svg).joined() + "</div>"
      }
    }
    s += "<h2>Notes</h2><ul>" + notes.map { "<li>\(Plot.escape($0))</li>" }.joined() + "</ul>"
    s +=
      "<h2>Metrics</h2><ul>"
      + columns.map {
        "<li><b>\(Plot.escape($0.name))</b> (\($0.direction.rawValue)): \(Plot.escape($0.description))</li>"
      }.joined() + "</ul>"
    s += "<h2>Configuration</h2><pre>\(Plot.escape(config))</pre></body></html>\n"
    return s
  }

  /// `table.tex`: a booktabs table per round.
  public var latex: String {
    let cols = tableColumns
    let rounds = rows.map(\.round).max() ?? 1
    func tex(_ s: String) -> String {
      var t = s
      for (a, b) in [
        ("\\", "\\textbackslash{}"), ("%", "\\%"), ("_", "\\_"), ("&", "\\&"), ("#", "\\#"), ("±", "$\\pm$"),
        ("↑", "$\\uparrow$"),
        ("↓", "$\\downarrow$"), ("≈R", "$\\approx$R"), ("—", "--"), ("∞", "$\\infty$"), ("ε", "$\\varepsilon$"),
      ] {
        t = t.replacingOccurrences(of: a, with: b)
      }
      return t
    }
    var lines = ["% Generated by unlearn \(toolVersion); needs \\usepackage{booktabs}."]
    for r in 1...rounds {
      lines.append("\\begin{table}[t]\\centering\\scriptsize")
      lines.append(
        "\\caption{\(tex(name))\(rounds > 1 ? ", round \(r) of \(rounds)" : ""): mean $\\pm$ std over models.}")
      lines.append("\\begin{tabular}{ll" + String(repeating: "r", count: cols.count + 1) + "}")
      lines.append("\\toprule")
      lines.append(
        "algorithm & kind & N & " + cols.map { tex("\($0.header) \($0.direction.mark)") }.joined(separator: " & ")
          + " \\\\")
      lines.append("\\midrule")
      for row in rows where row.round == r {
        lines.append(
          tex(row.algorithm) + " & " + tex(row.kind?.rawValue ?? "—") + " & \(row.models) & "
            + cols.map { tex(cell(row, $0)) }.joined(separator: " & ") + " \\\\")
      }
      lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    }
    return lines.joined(separator: "\n")
  }
}

/// The forget-confidence histogram's range (kept here so Harness need not import Attacks).
enum ForgetConfidenceRange {
  static let range = -10.0...25.0
}
