import Foundation

/// ROC analysis of a membership score and exact binomial intervals.
///
/// Scores are oriented so that larger means "more likely a member". A threshold
/// t flags every example with score ≥ t; the curve visits every distinct score.
public struct ROC: Sendable, Equatable, Codable {
  /// False- and true-positive rates, from (0, 0) to (1, 1), FPR non-decreasing.
  public var fpr: [Double]
  public var tpr: [Double]
  /// Counts behind each point (for intervals).
  public var falsePositives: [Int]
  public var truePositives: [Int]
  public var positives: Int
  public var negatives: Int

  /// The curve of `positives` (members) against `negatives` (non-members).
  public init(positives p: [Double], negatives n: [Double]) {
    precondition(!p.isEmpty && !n.isEmpty, "ROC needs members and non-members")
    let ps = RadixSort.descending(p), ns = RadixSort.descending(n)
    var fp = [0], tp = [0]
    var i = 0, j = 0
    // Every distinct score, from the highest down: the two sorted lists merged.
    while true {
      let a = i < ps.count && !ps[i].isNaN ? ps[i] : -Double.infinity
      let b = j < ns.count && !ns[j].isNaN ? ns[j] : -Double.infinity
      let t = Swift.max(a, b)
      guard i < ps.count && !ps[i].isNaN || j < ns.count && !ns[j].isNaN else { break }
      while i < ps.count && ps[i] >= t { i += 1 }
      while j < ns.count && ns[j] >= t { j += 1 }
      tp.append(i)
      fp.append(j)
    }
    if tp.last != ps.count || fp.last != ns.count {
      tp.append(ps.count)
      fp.append(ns.count)
    }
    positives = ps.count
    negatives = ns.count
    truePositives = tp
    falsePositives = fp
    tpr = tp.map { Double($0) / Double(ps.count) }
    fpr = fp.map { Double($0) / Double(ns.count) }
  }

  /// Area under the curve (trapezoids; ties count one half, as the Mann–Whitney statistic).
  public var auc: Double {
    var a = 0.0
    for k in 1..<fpr.count { a += (fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2 }
    return a
  }

  /// The best balanced accuracy over thresholds: max ½(TPR + 1 − FPR).
  public var bestBalancedAccuracy: Double {
    zip(tpr, fpr).map { 0.5 * ($0 + 1 - $1) }.max() ?? 0.5
  }

  /// TPR at a false-positive rate of at most `alpha`, with 95 % Clopper–Pearson intervals that
  /// treat every score as an independent trial (right for one model's scores of distinct
  /// examples; for pooled (model, example) pairs use ``TwoWayBootstrap``).
  public func tpr(atFPR alpha: Double) -> RateAtFPR {
    var best = 0
    for k in fpr.indices where fpr[k] <= alpha && tpr[k] >= tpr[best] { best = k }
    return RateAtFPR(
      targetFPR: alpha, tpr: tpr[best], tprInterval: ClopperPearson.interval(truePositives[best], positives),
      fpr: fpr[best], fprInterval: ClopperPearson.interval(falsePositives[best], negatives))
  }
}

/// TPR at a fixed FPR, with exact binomial intervals.
public struct RateAtFPR: Sendable, Equatable, Codable {
  public var targetFPR: Double
  public var tpr: Double
  public var tprInterval: ClosedRange<Double>
  /// The FPR actually realised at that threshold.
  public var fpr: Double
  public var fprInterval: ClosedRange<Double>
}

/// The Clopper–Pearson ("exact") binomial interval for k successes in n trials:
/// lower = BetaInv(α/2; k, n − k + 1) (0 if k = 0), upper = BetaInv(1 − α/2; k + 1, n − k) (1 if k = n).
public enum ClopperPearson {
  public static func interval(_ k: Int, _ n: Int, confidence: Double = 0.95) -> ClosedRange<Double> {
    precondition(n > 0 && k >= 0 && k <= n)
    let alpha = 1 - confidence
    let lo = k == 0 ? 0 : Beta.inverse(alpha / 2, Double(k), Double(n - k + 1))
    let hi = k == n ? 1 : Beta.inverse(1 - alpha / 2, Double(k + 1), Double(n - k))
    return lo...hi
  }
}

/// The regularised incomplete beta function and its inverse.
public enum Beta {
  /// I_x(a, b), by the continued fraction of Numerical Recipes §6.4 (modified Lentz).
  public static func regularized(_ x: Double, _ a: Double, _ b: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    let lnFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
    if x < (a + 1) / (a + b + 2) { return exp(lnFront) * fraction(x, a, b) / a }
    return 1 - exp(lnFront) * fraction(1 - x, b, a) / b
  }

  static func fraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
    let tiny = 1e-300
    var c = 1.0, d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var h = d
    for m in 1...10_000 {
      let m = Double(m)
      var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
      d = 1 + num * d
      if abs(d) < tiny { d = tiny }
      c = 1 + num / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      h *= d * c
      num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
      d = 1 + num * d
      if abs(d) < tiny { d = tiny }
      c = 1 + num / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      let delta = d * c
      h *= delta
      if abs(delta - 1) < 1e-15 { break }
    }
    return h
  }

  /// x with I_x(a, b) = p, by bisection (I is increasing in x).
  public static func inverse(_ p: Double, _ a: Double, _ b: Double) -> Double {
    var lo = 0.0, hi = 1.0
    for _ in 0..<200 {
      let mid = (lo + hi) / 2
      if regularized(mid, a, b) < p { lo = mid } else { hi = mid }
      if hi - lo < 1e-15 { break }
    }
    return (lo + hi) / 2
  }
}

/// Order statistics and moments shared by the attacks.
public enum Summary {
  /// The median, as NumPy computes it: the middle value, or the mean (a + b)/2 of the two middle values.
  public static func median(_ x: [Double]) -> Double { median(sorted: x.sorted()) }

  /// The median of values already in ascending order.
  public static func median(sorted s: [Double]) -> Double {
    let n = s.count
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
  }

  /// The central 95 % of `values`: their 2.5 % and 97.5 % percentiles (nearest rank), the
  /// percentile bootstrap interval when `values` are bootstrap replicates. Nil when empty.
  public static func interval95(_ values: [Double]) -> ClosedRange<Double>? {
    guard !values.isEmpty else { return nil }
    let s = values.sorted()
    func q(_ p: Double) -> Double { s[Swift.min(s.count - 1, Int((p * Double(s.count - 1)).rounded()))] }
    return q(0.025)...q(0.975)
  }

  /// The two-sided 97.5 % quantile of Student's t with `dof` degrees of freedom, from
  /// P(|T| > t) = I_{ν/(ν + t²)}(ν/2, ½): t = √(ν(1 − x)/x) with x = I⁻¹(0.05; ν/2, ½).
  public static func studentT975(dof: Int) -> Double {
    precondition(dof >= 1)
    let nu = Double(dof)
    let x = Beta.inverse(0.05, nu / 2, 0.5)
    return (nu * (1 - x) / x).squareRoot()
  }

  /// The population variance (divisor n), NumPy's `var` default.
  public static func variance(_ x: [Double]) -> Double {
    let m = x.reduce(0, +) / Double(x.count)
    return x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count)
  }
}
