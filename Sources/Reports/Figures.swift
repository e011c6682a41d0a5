import Foundation
import Harness
import NumericCore

/// One figure of the report: a plot, the section it belongs to, and its file stem.
public struct Figure: Sendable {
  /// File stem under `plots/` (and the id of its SVG in `report.html`).
  public var name: String
  /// Heading of the report section that shows it.
  public var section: String
  public var plot: Plot
}

/// The figures of a report, from the columns' ``PlotKind``: no column is named here.
extension EvaluationReport {
  /// Every figure of round `round` (1-based), in column order.
  public func figures(round: Int) -> [Figure] {
    let rows = self.rows(round: round)
    var out = [Figure]()
    for c in columns {
      guard let kind = c.plot else { continue }
      switch kind {
      case .roc(let title): out += rocFigure(c, title: title, rows)
      case .histogram(let title, let xLabel, let lower, let upper):
        out += histogramFigures(c, title: title, xLabel: xLabel, range: lower...upper, rows)
      case .perExampleHistogram(let title, let xLabel, let lower, let upper, let bins, let clip):
        let h = PerExample(lower: lower, upper: upper, bins: bins, clip: clip)
        out += perExampleFigures(c, title: title, xLabel: xLabel, h, rows)
      }
    }
    return out
  }

  /// The colour of a row: the reference grey for retrain, else the palette by row position.
  static func color(_ rows: [Row], _ row: Row) -> RGB {
    if row.role == .retrain { return RGB.reference }
    let i = rows.firstIndex { $0.algorithm == row.algorithm } ?? 0
    return RGB.palette[i % RGB.palette.count]
  }

  /// One log-log ROC plot with every row's curve (retrain dashed).
  func rocFigure(_ c: MetricColumn, title: String, _ rows: [Row]) -> [Figure] {
    let series = rows.compactMap { r -> Plot.Series? in
      guard let curve = r.metrics[c.name]?.curve, !curve.isEmpty else { return nil }
      let points = curve.map { (Swift.max($0[0], 1e-5), Swift.max($0[1], 1e-5)) }
      return Plot.Series(name: r.algorithm, points: points, color: Self.color(rows, r), dashed: r.role == .retrain)
    }
    guard !series.isEmpty else { return [] }
    let plot = Plot(
      title: "ROC, \(title)", xLabel: "false positive rate", yLabel: "true positive rate", xRange: 1e-4...1,
      yRange: 1e-4...1, xScale: .log10, yScale: .log10, series: series, diagonal: true)
    return [Figure(name: "roc-\(c.name)", section: "ROC curves (log-log)", plot: plot)]
  }

  /// Per row, its histogram (`curve`) against the retrain row's.
  func histogramFigures(_ c: MetricColumn, title: String, xLabel: String, range: ClosedRange<Double>, _ rows: [Row])
    -> [Figure]
  {
    guard let reference = rows.first(where: { $0.role == .retrain })?.metrics[c.name]?.curve else { return [] }
    return rows.filter { $0.role != .retrain }.compactMap { r in
      guard let curve = r.metrics[c.name]?.curve, !curve.isEmpty else { return nil }
      let width = curve.count > 1 ? curve[1][0] - curve[0][0] : 1
      let top = (curve + reference).map { $0[1] }.max() ?? 1
      let plot = Plot(
        title: "\(title): \(r.algorithm) vs retrain", xLabel: xLabel, yLabel: "fraction", xRange: range,
        yRange: 0...Swift.max(top * 1.1, 1e-9),
        series: [
          Plot.Series(
            name: Role.retrain.name, points: reference.map { ($0[0], $0[1]) }, color: RGB.reference, bars: true,
            barWidth: width
          ),
          Plot.Series(
            name: r.algorithm, points: curve.map { ($0[0], $0[1]) }, color: Self.color(rows, r), bars: true,
            barWidth: width),
        ])
      return Figure(name: "\(c.name)-\(Self.fileStem(r.algorithm))", section: title, plot: plot)
    }
  }

  /// How a per-example histogram bins its values.
  struct PerExample {
    var lower: Double, upper: Double, bins: Int, clip: Double
  }

  /// Per row, the histogram of its per-example values (the retrain row's is the noise floor).
  func perExampleFigures(_ c: MetricColumn, title: String, xLabel: String, _ h: PerExample, _ rows: [Row]) -> [Figure] {
    rows.compactMap { r in
      guard let values = r.metrics[c.name]?.perExample, !values.isEmpty else { return nil }
      let hist = Histogram(values.map { Swift.min($0, h.clip) }, lower: h.lower, upper: h.upper, bins: h.bins)
      let floor = r.role == .retrain
      let plot = Plot(
        title: floor ? "\(title), retrain half vs half (noise floor)" : "\(title): \(r.algorithm)", xLabel: xLabel,
        yLabel: "fraction", xRange: h.lower...h.upper, yRange: 0...Swift.max((hist.fractions.max() ?? 1) * 1.1, 1e-9),
        series: [
          Plot.Series(
            name: r.algorithm, points: hist.points, color: Self.color(rows, r), bars: true, barWidth: hist.width)
        ])
      return Figure(name: "\(c.name)-\(Self.fileStem(r.algorithm))", section: title, plot: plot)
    }
  }

  /// A row name as a file stem: letters, digits, `.`, `_` and `-` kept, anything else `-`.
  static func fileStem(_ s: String) -> String {
    String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "-" })
  }
}
