import Foundation
import Harness

/// `table.md`, `table.csv` and `table.tex`: every column a metric places in the tables,
/// in registry order, without naming any.
extension EvaluationReport {
  /// Columns of each round's table.
  public var mainColumns: [MetricColumn] { columns.filter { $0.table == .main } }
  /// Columns of the table over all rounds (shown with several rounds).
  public var acrossRoundsColumns: [MetricColumn] { columns.filter { $0.table == .acrossRounds } }

  /// The rows of the table over all rounds: round 1's rows with a value in one of its columns.
  public var acrossRoundsRows: [Row] {
    rows(round: 1).filter { row in acrossRoundsColumns.contains { row.metrics[$0.name]?.mean != nil } }
  }

  /// A cell: mean ± std, or the value and its 95 % interval, in the column's format, or "—";
  /// ‡ marks a flagged value.
  public func cell(_ row: Row, _ c: MetricColumn) -> String {
    guard let v = row.metrics[c.name], let m = v.mean else { return "—" }
    var text = c.format(m)
    if let s = v.std {
      text += " ± \(c.format(s))"
    } else if let i = v.interval, i.count == 2 {
      text += " [\(c.format(i[0])), \(c.format(i[1]))]"
    }
    return v.flag == nil ? text : text + " ‡"
  }

  /// The flagged values among `cols` of `rows`, the rows with the same flag in a column together:
  /// "header of row, row: flag".
  public func flagLines(_ rows: [Row], _ cols: [MetricColumn]) -> [String] {
    cols.flatMap { c in
      var groups = [(flag: String, rows: [String])]()
      for r in rows {
        guard let flag = r.metrics[c.name]?.flag else { continue }
        if let k = groups.firstIndex(where: { $0.flag == flag }) {
          groups[k].rows.append(r.algorithm)
        } else {
          groups.append((flag, [r.algorithm]))
        }
      }
      return groups.map { "\(c.header) of \($0.rows.joined(separator: ", ")): \($0.flag)" }
    }
  }

  /// Whether each of `cols` separates the original from the retrain floor in round `round`:
  /// "header: verdict".
  public func powerLines(round: Int, _ cols: [MetricColumn]) -> [String] {
    cols.compactMap { c in
      power?.first { $0.column == c.name && $0.round == round }.map { "\(c.header): \($0.text)" }
    }
  }

  /// What the ± or interval of each of `cols` spans, columns with the same method together:
  /// "header, header: method".
  public func uncertaintyLines(_ cols: [MetricColumn]) -> [String] {
    var groups = [(text: String, headers: [String])]()
    for c in cols {
      guard let u = c.uncertainty else { continue }
      if let k = groups.firstIndex(where: { $0.text == u }) {
        groups[k].headers.append(c.header)
      } else {
        groups.append((u, [c.header]))
      }
    }
    return groups.map { "\($0.headers.joined(separator: ", ")): \($0.text)" }
  }

  /// The flags and power verdicts under round `round`'s table, as Markdown.
  func markdownAnnotations(round: Int, _ rows: [Row], _ cols: [MetricColumn]) -> [String] {
    var lines = [String]()
    let flags = flagLines(rows, cols), power = powerLines(round: round, cols)
    if !flags.isEmpty { lines += ["‡ Flagged values:", ""] + flags.map { "- \($0)" } + [""] }
    if !power.isEmpty {
      lines +=
        ["Power (does the column tell the original from the retrain floor?):", ""] + power.map { "- \($0)" }
        + [""]
    }
    return lines
  }

  /// `table.md`: one table per round (mean ± std over models), the table over all rounds
  /// when there are several, the failed jobs, and the notes.
  public var markdown: String {
    var lines = [String]()
    let rounds = roundCount
    for r in 1...rounds {
      if rounds > 1 { lines += ["### Round \(r) of \(rounds)", ""] }
      lines += markdownTable(rows(round: r), mainColumns)
      lines += markdownAnnotations(round: r, rows(round: r), mainColumns)
    }
    if rounds > 1 && !acrossRoundsRows.isEmpty {
      lines += ["### Over all \(rounds) rounds", ""] + markdownTable(acrossRoundsRows, acrossRoundsColumns)
    }
    lines += failedJobs
    let uncertainty = uncertaintyLines(mainColumns + (rounds > 1 ? acrossRoundsColumns : []))
    if !uncertainty.isEmpty { lines += ["Uncertainty:", ""] + uncertainty.map { "- \($0)" } + [""] }
    return lines.joined(separator: "\n") + "\n" + notes.map { "- \($0)" }.joined(separator: "\n") + "\n"
  }

  func markdownTable(_ rows: [Row], _ cols: [MetricColumn]) -> [String] {
    var lines = [
      "| algorithm | kind | N | " + cols.map { "\($0.header) \($0.mark)" }.joined(separator: " | ") + " |"
    ]
    lines.append("|" + Array(repeating: "---", count: cols.count + 3).joined(separator: "|") + "|")
    for row in rows {
      let cells = [row.algorithm, row.kind?.rawValue ?? "—", row.countText] + cols.map { cell(row, $0) }
      lines.append("| " + cells.joined(separator: " | ") + " |")
    }
    return lines + [""]
  }

  /// "Failed jobs:" with the first line of the first reason per algorithm (all of it is in results.json).
  var failedJobs: [String] {
    var failed = [String]()
    for row in rows(round: 1) where !row.failures.isEmpty {
      let first = row.failures[0]
      let reason = first.reason.split(separator: "\n").first.map(String.init) ?? ""
      let which = first.group == nil ? "#\(first.index)" : "\(first.job)"
      failed.append("- \(row.algorithm): \(row.failures.count) failed; \(which): \(reason)")
    }
    return failed.isEmpty ? [] : ["Failed jobs:", ""] + failed + [""]
  }

  /// `table.csv`: raw values (no display scaling), `<metric>_mean`, `<metric>_std`, the 95 %
  /// interval `<metric>_low` and `<metric>_high`, and `<metric>_flag`, for every column shown in a table.
  public var csv: String {
    let cols = mainColumns + acrossRoundsColumns
    var header = ["algorithm", "round", "kind", "models", "failed"]
    for c in cols { header += ["mean", "std", "low", "high", "flag"].map { "\(c.name)_\($0)" } }
    var lines = [header.joined(separator: ",")]
    for r in rows {
      var fields = [
        Self.csvField(r.algorithm), "\(r.round)", r.kind?.rawValue ?? "", "\(r.models)", "\(r.failures.count)",
      ]
      for c in cols {
        let v = r.metrics[c.name]
        fields.append(v?.mean.map { "\($0)" } ?? "")
        fields.append(v?.std.map { "\($0)" } ?? "")
        let i = v?.interval.flatMap { $0.count == 2 ? $0 : nil }
        fields += [i.map { "\($0[0])" } ?? "", i.map { "\($0[1])" } ?? "", Self.csvField(v?.flag ?? "")]
      }
      lines.append(fields.joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  static func csvField(_ s: String) -> String {
    s.contains(where: { ",\"\n".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
  }

  /// `table.tex`: a booktabs table per round (and over all rounds).
  public var latex: String {
    var lines = ["% Generated by unlearn \(toolVersion); needs \\usepackage{booktabs}."]
    let rounds = roundCount
    for r in 1...rounds {
      let caption = "\(name)\(rounds > 1 ? ", round \(r) of \(rounds)" : ""): mean $\\pm$ std over models."
      lines += latexTable(rows(round: r), mainColumns, caption: caption)
    }
    if rounds > 1 && !acrossRoundsRows.isEmpty {
      lines += latexTable(acrossRoundsRows, acrossRoundsColumns, caption: "\(name): over all \(rounds) rounds.")
    }
    return lines.joined(separator: "\n")
  }

  func latexTable(_ rows: [Row], _ cols: [MetricColumn], caption: String) -> [String] {
    var lines = ["\\begin{table}[t]\\centering\\scriptsize", "\\caption{\(Self.tex(caption))}"]
    lines.append("\\begin{tabular}{ll" + String(repeating: "r", count: cols.count + 1) + "}")
    lines += ["\\toprule"]
    lines.append(
      "algorithm & kind & N & " + cols.map { Self.tex("\($0.header) \($0.mark)") }.joined(separator: " & ")
        + " \\\\")
    lines.append("\\midrule")
    for row in rows {
      let cells = [row.algorithm, row.kind?.rawValue ?? "—", row.countText] + cols.map { cell(row, $0) }
      lines.append(cells.map(Self.tex).joined(separator: " & ") + " \\\\")
    }
    return lines + ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
  }

  /// LaTeX-safe text (the caption's `$\pm$` is kept).
  static func tex(_ s: String) -> String {
    var t = s.replacingOccurrences(of: "$\\pm$", with: "\u{1}")
    let map = [
      ("\\", "\\textbackslash{}"), ("%", "\\%"), ("_", "\\_"), ("&", "\\&"), ("#", "\\#"), ("±", "$\\pm$"),
      ("↑", "$\\uparrow$"), ("↓", "$\\downarrow$"), ("≈R", "$\\approx$R"), ("—", "--"), ("∞", "$\\infty$"),
      ("ε", "$\\varepsilon$"), ("‡", "$^\\ddagger$"), ("→", "$\\to$"),
    ]
    for (a, b) in map { t = t.replacingOccurrences(of: a, with: b) }
    return t.replacingOccurrences(of: "\u{1}", with: "$\\pm$")
  }
}
