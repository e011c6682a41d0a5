import Foundation
import NumericCore
import TestSupport
import Testing

@testable import Harness
@testable import Reports

/// A report of two rounds with a ROC column, a per-example histogram column, a histogram
/// column, an across-rounds column and a column kept out of the tables.
enum SampleReport {
  static let columns = [
    MetricColumn(
      name: "attack_auc", header: "attack AUC", direction: .closestToRetrain, description: "An attack.",
      plot: .roc(title: "An attack")),
    MetricColumn(
      name: "epsilon", header: "ε", direction: .higherIsBetter, description: "Per example.",
      plot: .perExampleHistogram(title: "Per-example ε", xLabel: "ε", lower: 0, upper: 7.5, bins: 15, clip: 7.25)),
    MetricColumn(
      name: "confidence", header: "conf", direction: .closestToRetrain, description: "Histogram.", decimals: 2,
      plot: .histogram(title: "Confidence", xLabel: "confidence", lower: -10, upper: 25)),
    MetricColumn(
      name: "total", header: "total %", direction: .lowerIsBetter, description: "Over rounds.", displayScale: 100,
      decimals: 1, table: .acrossRounds),
    MetricColumn(name: "hidden", header: "hidden", direction: .lowerIsBetter, description: "Not shown.", table: .none),
  ]

  static func row(_ name: String, round: Int, models: Int = 4, failed: Int = 0, shift: Double) -> EvaluationReport.Row {
    let role = Role(rowName: name)
    let curve = stride(from: -4.0, through: 0, by: 0.5).map { [pow(10, $0), Swift.min(1, pow(10, $0 / (1 + shift)))] }
    let hist = Histogram((0..<200).map { Double($0 % 35) - 10 + shift }, lower: -10, upper: 25, bins: 70)
    let failures = (0..<failed).map { JobFailure(JobID(algorithm: name, index: $0), reason: "broke\nlog line") }
    return EvaluationReport.Row(
      algorithm: name, round: round, kind: role == .original ? nil : (role == .retrain ? .exact : .approximate),
      hyperParameters: [:], models: models - failed, requested: models, failures: failures,
      metrics: [
        "attack_auc": MetricValue(
          mean: 0.5 + shift / 10, interval: [0.45 + shift / 10, 0.55 + shift / 10], curve: curve,
          flag: name == "sisa" && round == 1 ? "not certifiable: too few examples" : nil),
        "epsilon": MetricValue(mean: 0.1, perExample: (0..<50).map { Double($0 % 9) + shift }),
        "confidence": MetricValue(
          mean: 5 + shift, std: 0.25, interval: [4.75 + shift, 5.25 + shift], curve: hist.points.map { [$0.0, $0.1] }),
        "total": MetricValue(mean: role.isReference ? nil : 0.3 * Double(round)),
        "hidden": MetricValue(mean: 7),
      ])
  }

  static var report: EvaluationReport {
    let rows = (1...2).flatMap { r in
      [
        row("original", round: r, models: 1, shift: 2), row("retrain", round: r, shift: 0),
        row("sisa", round: r, failed: 1, shift: 0.5), row("finetune", round: r, shift: 1),
      ]
    }
    return EvaluationReport(
      toolVersion: "test", name: "sample <run> & co", config: "name: sample\n", dataset: "datasets/digits",
      datasetFileListSHA256: nil, splits: [:], originalWeightsSHA256: "abc", modelsPerAlgorithm: 4,
      rounds: [.init(count: 3, sha256: "x"), .init(count: 3, sha256: "y")], columns: columns, rows: rows,
      power: PowerCheck.checks(columns: columns, rows: rows), notes: ["a note"])
  }
}

@Suite struct TableTests {
  @Test func everyTableColumnIsRendered_andNoOther() {
    let md = SampleReport.report.markdown
    #expect(md.contains("| algorithm | kind | N | attack AUC ≈R | ε ↑ | conf ≈R |"))
    #expect(!md.contains("hidden"))
    #expect(md.contains("### Round 2 of 2") && md.contains("### Over all 2 rounds"))
    #expect(
      md.contains("| sisa | approximate | 3 (1 failed) | 0.550 [0.500, 0.600] ‡ | 0.100 | 5.50 ± 0.25 |"), "\(md)")
    // Flags are listed under their round's table, with the power of every forgetting column.
    #expect(md.contains("‡ Flagged values:\n\n- attack AUC of sisa: not certifiable: too few examples"))
    #expect(
      md.contains(
        "- attack AUC: has power on these runs: the original (0.700 [0.650, 0.750]) is separated from the retrain "
          + "floor (0.450–0.550)"))
    #expect(
      md.contains(
        "- conf: has power on these runs: the original (7.00) is separated from the retrain floor (4.75–5.25)"))
    // What each ± or interval spans, columns with the same method together.
    #expect(
      md.contains("Uncertainty:\n\n- attack AUC, ε, conf, total %: ± is the standard deviation over the N models"))
    // The table over all rounds has the rows with a value there, in the column's format.
    #expect(md.contains("| finetune | approximate | 4 | 30.0 |") && !md.contains("| retrain | exact | 4 | — |"))
    #expect(md.contains("- sisa: 1 failed; #0: broke") && !md.contains("log line"))
  }

  @Test func csvAndLatex_carryTheSameColumns() {
    let report = SampleReport.report
    let header = report.csv.split(separator: "\n")[0]
    let columns = ["attack_auc", "epsilon", "confidence", "total"].flatMap { c in
      ["mean", "std", "low", "high", "flag"].map { "\(c)_\($0)" }
    }
    #expect(header == (["algorithm", "round", "kind", "models", "failed"] + columns).joined(separator: ","))
    #expect(report.csv.split(separator: "\n").count == 9)
    #expect(report.latex.contains("sisa & approximate & 3 (1 failed) & 0.550") && report.latex.contains("$\\pm$"))
  }
}

@Suite struct PowerCheckTests {
  static let column = MetricColumn(name: "kit_mia", header: "kit MIA", direction: .closestToIdeal, description: "")

  /// A mean over models: the original's mean over its k models against the retrain models' 95 %
  /// prediction interval for a mean of k, m ± t(n − 1) · s · √(1/k + 1/n).
  @Test func aMeanOverModels_usesThePredictionInterval() throws {
    let retrain = MetricValue(mean: 0.5, std: 0.02, count: 64)
    func check(_ o: Double, k: Int) throws -> PowerCheck {
      try #require(
        PowerCheck(Self.column, round: 1, original: MetricValue(mean: o), originalModels: k, retrain: retrain))
    }
    // t(63) = 1.998340543: k = 1, h = 0.0403; k = 4, h = 0.0206.
    let h1 = 1.998340543 * 0.02 * (1 + 1 / 64.0).squareRoot()
    #expect(abs(try check(0.52, k: 1).retrainInterval[1] - (0.5 + h1)) < 1e-8)
    #expect(try !check(0.52, k: 1).hasPower && check(0.56, k: 1).hasPower)
    #expect(try !check(0.52, k: 4).hasPower && check(0.53, k: 4).hasPower)
    #expect(try check(0.52, k: 1).text.hasPrefix("no power on these runs: the original (0.520) is not separated"))
  }

  /// A value with a bootstrap interval: the original's interval must not overlap the floor's.
  @Test func intervals_mustNotOverlap() throws {
    let retrain = MetricValue(mean: 0.5, interval: [0.46, 0.54])
    func check(_ i: [Double]) -> Bool? {
      PowerCheck(
        Self.column, round: 1, original: MetricValue(mean: (i[0] + i[1]) / 2, interval: i), originalModels: 1,
        retrain: retrain)?.hasPower
    }
    #expect(check([0.55, 0.65]) == true && check([0.53, 0.65]) == false && check([0.30, 0.45]) == true)
    #expect(PowerCheck(Self.column, round: 1, original: nil, originalModels: 1, retrain: retrain) == nil)
  }
}

@Suite struct FigureTests {
  @Test func figuresComeFromThePlotKinds() {
    let names = SampleReport.report.figures(round: 1).map(\.name)
    #expect(names.first == "roc-attack_auc")
    #expect(names.contains("epsilon-retrain") && names.contains("epsilon-sisa") && names.contains("epsilon-original"))
    // A histogram against the reference for every other row.
    #expect(names.contains("confidence-finetune") && !names.contains("confidence-retrain"))
    #expect(names.contains("confidence-original"))
  }

  @Test func aPlotIsDrawnOnce_asAnAntiAliasedPNG_andTheSameDrawingAsSVG() throws {
    let figure = try #require(SampleReport.report.figures(round: 1).first)
    let rendered = try figure.plot.render(id: "p1")
    let image = try PNGImage.decode(rendered.png, name: "roc.png")
    #expect(image.width == Int(Plot.width) * 2 && image.height == Int(Plot.height) * 2 && image.channels == 3)
    // Anti-aliasing: text and curves blend into the background, so many grey levels appear.
    let levels = Set(stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] })
    #expect(levels.count > 64, "\(levels.count) grey levels")
    // The SVG: vector text (glyph outlines), ids prefixed so that several plots share a page.
    #expect(rendered.svg.hasPrefix("<svg") && rendered.svg.hasSuffix("</svg>"))
    #expect(rendered.svg.contains("id=\"p1-glyph") && rendered.svg.contains("href=\"#p1-glyph"))
    #expect(!rendered.svg.contains("id=\"glyph"))
  }

  /// The PNG writer gives back the exact pixels of the RGB24 image it was handed: differences to
  /// the row above that wrap around, a row stride wider than the pixels, odd sizes.
  @Test func pngWriter_roundTripsEveryPixel() throws {
    let (w, h, stride) = (37, 23, 37 * 4 + 12)
    var rng = Xoshiro256StarStar(seed: 31)
    var words = [UInt32](repeating: 0xDEAD_BEEF, count: h * stride / 4)
    var want = [UInt8]()
    for y in 0..<h {
      for x in 0..<w {
        let (r, g, b) = (UInt8(rng.nextIndex(below: 256)), UInt8(y * 11 % 256), UInt8(255 - x))
        words[y * stride / 4 + x] = UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
        want += [r, g, b]
      }
    }
    let png = try words.withUnsafeBytes { raw in
      try Plot.png(rgb24: raw.baseAddress!, width: w, height: h, stride: stride, name: "test.png")
    }
    let image = try PNGImage.decode(png, name: "test.png")
    #expect(image.width == w && image.height == h && image.channels == 3)
    #expect(image.pixels == want)
  }

  @Test func logTicksAndLabels() {
    #expect(Plot.ticks(1e-4...1, .log10) == [1e-4, 1e-3, 1e-2, 1e-1, 1])
    #expect(Plot.label(1e-3, .log10) == "10⁻³" && Plot.label(1, .log10) == "1")
    #expect(Plot.ticks(0...7.5, .linear) == [0, 2, 4, 6])
    #expect(Plot.label(-2.5, .linear) == "−2.5")
  }
}

@Suite struct WriterTests {
  @Test func theWriter_writesEveryFormat_andThePageEmbedsEveryPlot() throws {
    let dir = TestSupport.temporaryDirectory("reports")
    try ReportWriter.write(SampleReport.report, to: dir)
    for f in ["results.json", "table.md", "table.csv", "table.tex", "report.html"] {
      #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), "\(f)")
    }
    let pngs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("plots").path)
    let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
    #expect(pngs.count == html.components(separatedBy: "<svg").count - 1 && pngs.count > 10)
    #expect(pngs.contains("round-2-roc-attack_auc.png"))
    // Self-contained: nothing is fetched, and the names are escaped.
    #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("@import"))
    #expect(html.contains("sample &lt;run&gt; &amp; co"))
    // results.json reads back.
    let back = try RunStore(dir).results()
    #expect(back.rows.count == 8 && back.columns == SampleReport.columns)
    #expect(back.rows[2].failures.count == 1 && back.rows[2].metrics["hidden"]?.mean == 7)
  }
}
