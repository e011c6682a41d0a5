import CKernels
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
    // The margins s_i·f(x_i) at the last point evaluated, with e^(−|margin|): the objective's
    // softplus and, at an accepted point, the gradient's σ(−margin) both come from them.
    var margins = [Double](repeating: 0, count: n), decays = margins
    var trial = margins, trialDecays = margins
    var softplus = margins
    /// ½‖w‖² + C·Σ log(1 + e^(−margin_i)), with log(1 + e^(−x)) = log1p(e^(−|x|)) + max(−x, 0);
    /// e^x and log1p on whole arrays (`unlearn_exp_array`, `unlearn_log1p_array`: within 2 ulp).
    func objective(_ t: [Double], margins z: inout [Double], decays e: inout [Double]) -> Double {
      var j = 0.0
      for k in 0..<d { j += 0.5 * t[k] * t[k] }
      let w0 = d == 1 ? t[0] : 0, b = t[d]
      features.withUnsafeBufferPointer { x in
        labels.withUnsafeBufferPointer { y in
          z.withUnsafeMutableBufferPointer { z in
            e.withUnsafeMutableBufferPointer { e in
              softplus.withUnsafeMutableBufferPointer { sp in
                for i in 0..<n {
                  var f = b
                  if d == 1 { f += w0 * x[i] } else { for k in 0..<d { f += t[k] * x[i * d + k] } }
                  let margin = y[i] ? f : -f
                  z[i] = margin
                  e[i] = -Swift.abs(margin)
                }
                unlearn_exp_array(n, e.baseAddress, e.baseAddress)
                unlearn_log1p_array(n, e.baseAddress, sp.baseAddress)
                for i in 0..<n { j += c * (z[i] > 0 ? sp[i] : -z[i] + sp[i]) }
              }
            }
          }
        }
      }
      return j
    }
    var current = objective(theta, margins: &margins, decays: &decays)
    var g = [Double](repeating: 0, count: m), h = [Double](repeating: 0, count: m * m)
    var candidate = theta
    for _ in 0..<maxIterations {
      // g = (w, 0) and H = diag(1, …, 1, 0) from the penalty ½‖w‖² (the intercept is free).
      for a in 0..<m { g[a] = a < d ? theta[a] : 0 }
      for a in 0..<(m * m) { h[a] = 0 }
      for k in 0..<d { h[k * m + k] = 1 }
      // σ(−margin) = 1 / (1 + e^margin) = e^(−margin) / (1 + e^(−margin)) for a positive margin.
      func sigma(_ i: Int) -> Double {
        let e = decays[i]
        return margins[i] > 0 ? e / (1 + e) : 1 / (1 + e)
      }
      if d == 1 {
        // The loop below for one feature, its sums in registers (x·1 = x, so the same values).
        var g0 = g[0], g1 = g[1], h0 = h[0], h2 = h[2], h3 = h[3]
        for i in 0..<n {
          let s: Double = labels[i] ? 1 : -1, x = features[i]
          let sig = sigma(i)
          let curvature = c * sig * (1 - sig)
          g0 -= c * s * sig * x
          h0 += curvature * x * x
          g1 -= c * s * sig
          h2 += curvature * x
          h3 += curvature
        }
        (g[0], g[1], h[0], h[2], h[3]) = (g0, g1, h0, h2, h3)
      } else {
        for i in 0..<n {
          let s: Double = labels[i] ? 1 : -1
          let sig = sigma(i)
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
        for a in 0..<m { candidate[a] = theta[a] + t * direction[a] }
        let value = objective(candidate, margins: &trial, decays: &trialDecays)
        if value <= current + 1e-4 * t * slope {
          theta = candidate
          swap(&margins, &trial)
          swap(&decays, &trialDecays)
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
