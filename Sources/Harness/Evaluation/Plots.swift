import Foundation

/// A plot as a list of drawing primitives in a unit frame, rendered to SVG
/// (for report.html) and rasterised to PNG (plots/*.png) from the same data.
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
  /// Draw the y = x diagonal (ROC chance line).
  public var diagonal: Bool

  public init(
    title: String, xLabel: String, yLabel: String, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
    xScale: Scale = .linear,
    yScale: Scale = .linear, series: [Series], diagonal: Bool = false
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

  public static let width = 480.0, height = 340.0
  static let left = 58.0, right = 150.0, top = 30.0, bottom = 44.0

  func unit(_ v: Double, _ range: ClosedRange<Double>, _ scale: Scale) -> Double {
    switch scale {
    case .linear: return (v - range.lowerBound) / (range.upperBound - range.lowerBound)
    case .log10:
      let lo = log10(range.lowerBound), hi = log10(range.upperBound)
      return (log10(Swift.max(v, range.lowerBound)) - lo) / (hi - lo)
    }
  }

  /// Pixel position of a data point.
  func pixel(_ x: Double, _ y: Double) -> (Double, Double) {
    let w = Self.width - Self.left - Self.right, h = Self.height - Self.top - Self.bottom
    let ux = Swift.min(Swift.max(unit(x, xRange, xScale), 0), 1),
      uy = Swift.min(Swift.max(unit(y, yRange, yScale), 0), 1)
    return (Self.left + ux * w, Self.top + (1 - uy) * h)
  }

  /// Tick values along an axis.
  func ticks(_ range: ClosedRange<Double>, _ scale: Scale) -> [Double] {
    switch scale {
    case .log10:
      var t = [Double]()
      var v = pow(10, floor(log10(range.lowerBound)))
      while v <= range.upperBound * 1.0001 {
        if v >= range.lowerBound * 0.9999 { t.append(v) }
        v *= 10
      }
      return t
    case .linear:
      let span = range.upperBound - range.lowerBound
      let step = pow(10, floor(log10(span / 4)))
      let nice = [1.0, 2, 5, 10].map { $0 * step }.first { span / $0 <= 6 } ?? step * 10
      var t = [Double]()
      var v = ceil(range.lowerBound / nice) * nice
      while v <= range.upperBound + nice * 1e-9 {
        t.append(v)
        v += nice
      }
      return t
    }
  }

  static func label(_ v: Double, _ scale: Scale) -> String {
    if scale == .log10 {
      let e = Int(log10(v).rounded())
      return e == 0 ? "1" : "1e\(e)"
    }
    return abs(v - v.rounded()) < 1e-9 ? String(Int(v.rounded())) : String(format: "%.2g", v)
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
      of: ">", with: "&gt;")
  }

  /// The plot as a self-contained SVG element.
  public var svg: String {
    var s =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(Self.width))\" height=\"\(Int(Self.height))\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" font-family=\"sans-serif\" font-size=\"11\">"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
    s += "<text x=\"\(Self.left)\" y=\"18\" font-size=\"13\" font-weight=\"bold\">\(Self.escape(title))</text>"
    let (x0, y0) = pixel(xRange.lowerBound, yRange.lowerBound), (x1, y1) = pixel(xRange.upperBound, yRange.upperBound)
    for t in ticks(xRange, xScale) {
      let (px, _) = pixel(t, yRange.lowerBound)
      s += "<line x1=\"\(px)\" y1=\"\(y1)\" x2=\"\(px)\" y2=\"\(y0)\" stroke=\"#e5e5e5\"/>"
      s += "<text x=\"\(px)\" y=\"\(y0 + 14)\" text-anchor=\"middle\">\(Self.label(t, xScale))</text>"
    }
    for t in ticks(yRange, yScale) {
      let (_, py) = pixel(xRange.lowerBound, t)
      s += "<line x1=\"\(x0)\" y1=\"\(py)\" x2=\"\(x1)\" y2=\"\(py)\" stroke=\"#e5e5e5\"/>"
      s += "<text x=\"\(x0 - 4)\" y=\"\(py + 4)\" text-anchor=\"end\">\(Self.label(t, yScale))</text>"
    }
    s += "<rect x=\"\(x0)\" y=\"\(y1)\" width=\"\(x1 - x0)\" height=\"\(y0 - y1)\" fill=\"none\" stroke=\"#333\"/>"
    if diagonal {
      let lo = Swift.max(xRange.lowerBound, yRange.lowerBound), hi = Swift.min(xRange.upperBound, yRange.upperBound)
      let (ax, ay) = pixel(lo, lo), (bx, by) = pixel(hi, hi)
      s += "<line x1=\"\(ax)\" y1=\"\(ay)\" x2=\"\(bx)\" y2=\"\(by)\" stroke=\"#999\" stroke-dasharray=\"2,3\"/>"
    }
    for (k, ser) in series.enumerated() {
      if ser.bars {
        for (x, y) in ser.points where y > 0 {
          let (ax, ay) = pixel(x - ser.barWidth / 2, y), (bx, by) = pixel(x + ser.barWidth / 2, yRange.lowerBound)
          s +=
            "<rect x=\"\(ax)\" y=\"\(ay)\" width=\"\(Swift.max(bx - ax, 0.5))\" height=\"\(Swift.max(by - ay, 0))\" fill=\"\(ser.color.hex)\" fill-opacity=\"0.45\"/>"
        }
      } else {
        let pts = ser.points.map { pixel($0.0, $0.1) }.map {
          "\(String(format: "%.1f", $0.0)),\(String(format: "%.1f", $0.1))"
        }
        s +=
          "<polyline fill=\"none\" stroke=\"\(ser.color.hex)\" stroke-width=\"1.6\"\(ser.dashed ? " stroke-dasharray=\"5,3\"" : "") points=\"\(pts.joined(separator: " "))\"/>"
      }
      let ly = Self.top + 8 + Double(k) * 16
      s += "<rect x=\"\(x1 + 10)\" y=\"\(ly - 8)\" width=\"12\" height=\"8\" fill=\"\(ser.color.hex)\"/>"
      s += "<text x=\"\(x1 + 26)\" y=\"\(ly)\">\(Self.escape(ser.name))</text>"
    }
    s += "<text x=\"\((x0 + x1) / 2)\" y=\"\(Self.height - 8)\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>"
    s +=
      "<text transform=\"translate(14,\((y0 + y1) / 2)) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>"
    return s + "</svg>"
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

  /// A qualitative palette (Tableau 10).
  public static let palette: [RGB] = [
    RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44), RGB(214, 39, 40), RGB(148, 103, 189), RGB(140, 86, 75),
    RGB(227, 119, 194), RGB(127, 127, 127), RGB(188, 189, 34), RGB(23, 190, 207),
  ]
}

/// Histogram of values over fixed bins.
public struct Histogram: Codable, Sendable, Equatable {
  public var lower: Double
  public var upper: Double
  /// Fraction of the values in each bin (values outside are put in the end bins).
  public var fractions: [Double]

  public init(_ values: [Double], lower: Double, upper: Double, bins: Int) {
    self.lower = lower
    self.upper = upper
    var c = [Double](repeating: 0, count: bins)
    for v in values where v.isFinite {
      let i = Int(((v - lower) / (upper - lower) * Double(bins)).rounded(.down))
      c[Swift.min(Swift.max(i, 0), bins - 1)] += 1
    }
    let n = Swift.max(values.count, 1)
    fractions = c.map { $0 / Double(n) }
  }

  public var width: Double { (upper - lower) / Double(fractions.count) }
  public var points: [(Double, Double)] {
    fractions.enumerated().map { (lower + (Double($0.offset) + 0.5) * width, $0.element) }
  }
}
