import Foundation

/// Binary logistic regression with an L2 penalty on the weights and an
/// unpenalised intercept, the model of scikit-learn's
/// `LogisticRegression()` with its defaults (penalty "l2", C = 1):
/// ```
/// minimise  ½‖w‖² + C · Σᵢ log(1 + exp(−sᵢ (w·xᵢ + b))),    sᵢ ∈ {−1, +1}
/// ```
/// The objective is strictly convex in w (and in b unless the data are
/// degenerate), so every solver reaches the same optimum; this one uses
/// Newton's method with a backtracking line search, which converges in a few
/// steps for the handful of features the attacks use. Prediction is class 1
/// when w·x + b > 0, as scikit-learn's `predict`.
public struct LogisticRegression: Sendable, Equatable {
  public var weights: [Double]
  public var intercept: Double

  public init(weights: [Double], intercept: Double) {
    self.weights = weights
    self.intercept = intercept
  }

  /// Fits the model.
  ///
  /// - Parameters:
  ///   - features: `n × d` row-major.
  ///   - labels: `n` booleans (true = class 1).
  ///   - c: inverse regularisation strength, scikit-learn's `C`.
  public static func fit(features: [Double], labels: [Bool], dimensions d: Int, c: Double = 1, maxIterations: Int = 100)
    -> LogisticRegression
  {
    let n = labels.count
    precondition(features.count == n * d, "LogisticRegression: \(features.count) features for \(n) × \(d)")
    let m = d + 1
    var theta = [Double](repeating: 0, count: m)  // w..., b
    func margin(_ i: Int, _ t: [Double]) -> Double {
      var z = t[d]
      for k in 0..<d { z += t[k] * features[i * d + k] }
      return labels[i] ? z : -z
    }
    /// log(1 + exp(−x)), stable for both signs.
    func softplusNeg(_ x: Double) -> Double { x > 0 ? log1p(exp(-x)) : -x + log1p(exp(x)) }
    func objective(_ t: [Double]) -> Double {
      var j = 0.0
      for k in 0..<d { j += 0.5 * t[k] * t[k] }
      for i in 0..<n { j += c * softplusNeg(margin(i, t)) }
      return j
    }
    var current = objective(theta)
    for _ in 0..<maxIterations {
      var g = [Double](repeating: 0, count: m)
      var h = [Double](repeating: 0, count: m * m)
      for k in 0..<d {
        g[k] = theta[k]
        h[k * m + k] = 1
      }
      for i in 0..<n {
        let s: Double = labels[i] ? 1 : -1
        let z = margin(i, theta)
        let sig = 1 / (1 + exp(z))  // σ(−s·f)
        let curvature = c * sig * (1 - sig)
        for a in 0..<m {
          let xa = a < d ? features[i * d + a] : 1
          g[a] -= c * s * sig * xa
          for b in 0...a {
            let xb = b < d ? features[i * d + b] : 1
            h[a * m + b] += curvature * xa * xb
          }
        }
      }
      for a in 0..<m { for b in 0..<a { h[b * m + a] = h[a * m + b] } }
      let gradNorm = g.reduce(0) { Swift.max($0, abs($1)) }
      if gradNorm < 1e-10 { break }
      // Newton direction: H·step = −g (a tiny ridge keeps a flat intercept solvable).
      h[m * m - 1] += 1e-12
      guard let direction = solveSymmetric(h, rhs: g.map { -$0 }, size: m) else { break }
      var slope = 0.0
      for a in 0..<m { slope += g[a] * direction[a] }
      var t = 1.0
      var accepted = false
      for _ in 0..<60 {
        let candidate = (0..<m).map { theta[$0] + t * direction[$0] }
        let value = objective(candidate)
        if value <= current + 1e-4 * t * slope {
          theta = candidate
          accepted = current - value > 1e-15 * Swift.max(1, abs(current))
          current = value
          break
        }
        t /= 2
      }
      if !accepted { break }
    }
    return LogisticRegression(weights: Array(theta[0..<d]), intercept: theta[d])
  }

  /// w·x + b for one example.
  public func decision(_ x: ArraySlice<Double>) -> Double {
    var z = intercept
    for (k, v) in x.enumerated() { z += weights[k] * v }
    return z
  }

  /// Class-1 predictions for `n × d` features.
  public func predict(features: [Double]) -> [Bool] {
    let d = weights.count
    return stride(from: 0, to: features.count, by: d).map { decision(features[$0..<($0 + d)]) > 0 }
  }
}

/// Solves `A·x = b` for a small dense matrix by Gaussian elimination with partial pivoting (nil if singular).
func solveSymmetric(_ matrix: [Double], rhs: [Double], size m: Int) -> [Double]? {
  var a = matrix, b = rhs
  for col in 0..<m {
    var pivot = col
    for r in (col + 1)..<Swift.max(col + 1, m) where abs(a[r * m + col]) > abs(a[pivot * m + col]) { pivot = r }
    if abs(a[pivot * m + col]) < 1e-300 { return nil }
    if pivot != col {
      for k in 0..<m { a.swapAt(col * m + k, pivot * m + k) }
      b.swapAt(col, pivot)
    }
    for r in (col + 1)..<Swift.max(col + 1, m) {
      let f = a[r * m + col] / a[col * m + col]
      if f == 0 { continue }
      for k in col..<m { a[r * m + k] -= f * a[col * m + k] }
      b[r] -= f * b[col]
    }
  }
  var x = [Double](repeating: 0, count: m)
  for r in stride(from: m - 1, through: 0, by: -1) {
    var s = b[r]
    for k in (r + 1)..<Swift.max(r + 1, m) { s -= a[r * m + k] * x[k] }
    x[r] = s / a[r * m + r]
  }
  return x
}
