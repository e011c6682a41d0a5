/// The fraction of values in each of `bins` equal bins over [lower, upper]; values
/// outside are counted in the end bins, non-finite values are left out (but count
/// in the denominator).
public struct Histogram: Codable, Sendable, Equatable {
  public var lower: Double
  public var upper: Double
  public var fractions: [Double]

  public init(_ values: [Double], lower: Double, upper: Double, bins: Int) {
    self.lower = lower
    self.upper = upper
    var c = [Double](repeating: 0, count: bins)
    for v in values where v.isFinite {
      let x = ((v - lower) / (upper - lower) * Double(bins)).rounded(.down)
      c[x < 0 ? 0 : (x >= Double(bins) ? bins - 1 : Int(x))] += 1
    }
    let n = Swift.max(values.count, 1)
    fractions = c.map { $0 / Double(n) }
  }

  /// Width of one bin.
  public var width: Double { (upper - lower) / Double(fractions.count) }
  /// (bin centre, fraction) of every bin.
  public var points: [(Double, Double)] {
    fractions.enumerated().map { (lower + (Double($0.offset) + 0.5) * width, $0.element) }
  }
}
