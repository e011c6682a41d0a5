import Foundation

/// A chart of the report: axes, series (lines or histogram bars) and a legend, in data
/// coordinates. ``render()`` draws it once with cairo and writes that one drawing both
/// as a PNG (`plots/*.png`) and as an SVG (embedded in `report.html`).
public struct Plot: Sendable {
  public enum Scale: Sendable { case linear, log10 }

  public struct Series: Sendable {
    public var name: String
    /// (x, y) points in data coordinates.
    public var points: [(Double, Double)]
    public var color: RGB
    public var dashed: Bool
    /// Draw as histogram bars (points are bin centres, y the heights) instead of a line.
    public var bars: Bool
    public var barWidth: Double

    public init(
      name: String, points: [(Double, Double)], color: RGB, dashed: Bool = false, bars: Bool = false,
      barWidth: Double = 0
    ) {
      self.name = name
      self.points = points
      self.color = color
      self.dashed = dashed
      self.bars = bars
      self.barWidth = barWidth
    }
  }

  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var xRange: ClosedRange<Double>
  public var yRange: ClosedRange<Double>
  public var xScale: Scale
  public var yScale: Scale
  public var series: [Series]
  /// Draw the y = x diagonal (the chance line of a ROC curve).
  public var diagonal: Bool

  public init(
    title: String, xLabel: String, yLabel: String, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
    xScale: Scale = .linear, yScale: Scale = .linear, series: [Series], diagonal: Bool = false
  ) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.xRange = xRange
    self.yRange = yRange
    self.xScale = xScale
    self.yScale = yScale
    self.series = series
    self.diagonal = diagonal
  }

  /// Size of the drawing in CSS pixels (the PNG has twice as many pixels each way).
  public static let width = 600.0, height = 380.0

  /// Position of `v` along an axis, 0 at the lower end of `range` and 1 at the upper.
  static func unit(_ v: Double, _ range: ClosedRange<Double>, _ scale: Scale) -> Double {
    switch scale {
    case .linear: return (v - range.lowerBound) / (range.upperBound - range.lowerBound)
    case .log10:
      let lo = log10(range.lowerBound), hi = log10(range.upperBound)
      return (log10(Swift.max(v, range.lowerBound)) - lo) / (hi - lo)
    }
  }

  /// Tick values along an axis: powers of ten on a log axis, 1-2-5 steps on a linear one.
  static func ticks(_ range: ClosedRange<Double>, _ scale: Scale) -> [Double] {
    var t = [Double]()
    switch scale {
    case .log10:
      var v = pow(10, floor(log10(range.lowerBound)))
      while v <= range.upperBound * 1.0001 {
        if v >= range.lowerBound * 0.9999 { t.append(v) }
        v *= 10
      }
    case .linear:
      let span = range.upperBound - range.lowerBound
      let step = pow(10, floor(log10(span / 4)))
      let nice = [1.0, 2, 5, 10].map { $0 * step }.first { span / $0 <= 6 } ?? step * 10
      var v = ceil(range.lowerBound / nice) * nice
      while v <= range.upperBound + nice * 1e-9 {
        t.append(abs(v) < nice * 1e-9 ? 0 : v)
        v += nice
      }
    }
    return t
  }

  /// A tick's label: `10⁻³` on a log axis, the shortest decimal on a linear one.
  static func label(_ v: Double, _ scale: Scale) -> String {
    if scale == .log10 {
      let e = Int(log10(v).rounded())
      if e == 0 { return "1" }
      let superscripts = Array("⁰¹²³⁴⁵⁶⁷⁸⁹")
      return "10" + String(String(e).map { $0 == "-" ? "⁻" : $0.wholeNumberValue.map { superscripts[$0] } ?? $0 })
    }
    let text = abs(v - v.rounded()) < 1e-9 ? String(Int(v.rounded())) : String(format: "%g", (v * 1e6).rounded() / 1e6)
    return text.replacingOccurrences(of: "-", with: "−")
  }
}

/// An sRGB colour.
public struct RGB: Sendable, Equatable {
  public var r: UInt8, g: UInt8, b: UInt8

  public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
    self.r = r
    self.g = g
    self.b = b
  }

  public var hex: String { String(format: "#%02x%02x%02x", r, g, b) }

  /// A qualitative palette (Tableau 10 without its grey, which is the reference's).
  public static let palette: [RGB] = [
    RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44), RGB(214, 39, 40), RGB(148, 103, 189), RGB(140, 86, 75),
    RGB(227, 119, 194), RGB(188, 189, 34), RGB(23, 190, 207),
  ]

  /// The reference's colour (the retrained models).
  public static let reference = RGB(110, 110, 110)
}
