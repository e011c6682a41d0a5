import Foundation

/// A C-support vector classifier with an RBF kernel, trained by sequential
/// minimal optimisation with LIBSVM's second-order working-set selection (Fan,
/// Chen & Lin, JMLR 2005): the model of scikit-learn's `SVC(kernel="rbf")`.
///
/// ```
/// min_α ½ αᵀQα − Σα,   0 ≤ α_i ≤ C,  Σ y_i α_i = 0,   Q_ij = y_i y_j exp(−γ‖x_i − x_j‖²)
/// f(x) = Σ_i α_i y_i K(x_i, x) − ρ;   class 1 when f(x) > 0
/// ```
/// Stops when the maximal KKT violation is below `tolerance` (scikit-learn's
/// default 1e-3).
public struct SVC: Sendable {
  public var supportVectors: [[Double]]
  /// α_i y_i of each support vector.
  public var coefficients: [Double]
  public var rho: Double
  public var gamma: Double

  /// Fits on `x` (rows) with labels (true = class 1).
  public static func fit(_ x: [[Double]], labels: [Bool], c: Double = 1, gamma: Double, tolerance: Double = 1e-3) -> SVC
  {
    let n = x.count
    precondition(n == labels.count && n > 0)
    let y = labels.map { $0 ? 1.0 : -1.0 }
    func k(_ a: [Double], _ b: [Double]) -> Double {
      var d = 0.0
      for t in a.indices { d += (a[t] - b[t]) * (a[t] - b[t]) }
      return exp(-gamma * d)
    }
    var kmat = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in i..<n {
        let v = k(x[i], x[j])
        kmat[i * n + j] = v
        kmat[j * n + i] = v
      }
    }
    let tau = 1e-12
    var alpha = [Double](repeating: 0, count: n)
    var g = [Double](repeating: -1, count: n)
    func upper(_ t: Int) -> Bool { alpha[t] >= c }
    func lower(_ t: Int) -> Bool { alpha[t] <= 0 }
    let maxIterations = Swift.max(10_000_000, 100 * n)
    for _ in 0..<maxIterations {
      // Working set: i maximises −y_t G_t over I_up; j by the second-order gain.
      var gmax = -Double.infinity, gmax2 = -Double.infinity
      var i = -1
      for t in 0..<n {
        if y[t] > 0 {
          if !upper(t) && -g[t] >= gmax {
            gmax = -g[t]
            i = t
          }
        } else if !lower(t) && g[t] >= gmax {
          gmax = g[t]
          i = t
        }
      }
      guard i >= 0 else { break }
      var j = -1
      var best = Double.infinity
      for t in 0..<n {
        let qit = y[i] * y[t] * kmat[i * n + t]
        if y[t] > 0 {
          guard !lower(t) else { continue }
          let diff = gmax + g[t]
          if g[t] >= gmax2 { gmax2 = g[t] }
          if diff > 0 {
            let quad = kmat[i * n + i] + kmat[t * n + t] - 2 * y[i] * qit
            let obj = -(diff * diff) / (quad > 0 ? quad : tau)
            if obj <= best {
              best = obj
              j = t
            }
          }
        } else {
          guard !upper(t) else { continue }
          let diff = gmax - g[t]
          if -g[t] >= gmax2 { gmax2 = -g[t] }
          if diff > 0 {
            let quad = kmat[i * n + i] + kmat[t * n + t] + 2 * y[i] * qit
            let obj = -(diff * diff) / (quad > 0 ? quad : tau)
            if obj <= best {
              best = obj
              j = t
            }
          }
        }
      }
      if gmax + gmax2 < tolerance || j < 0 { break }
      let qij = y[i] * y[j] * kmat[i * n + j]
      let oldI = alpha[i], oldJ = alpha[j]
      if y[i] != y[j] {
        var quad = kmat[i * n + i] + kmat[j * n + j] + 2 * qij
        if quad <= 0 { quad = tau }
        let delta = (-g[i] - g[j]) / quad
        let diff = alpha[i] - alpha[j]
        alpha[i] += delta
        alpha[j] += delta
        if diff > 0 {
          if alpha[j] < 0 {
            alpha[j] = 0
            alpha[i] = diff
          }
        } else if alpha[i] < 0 {
          alpha[i] = 0
          alpha[j] = -diff
        }
        if diff > 0 {
          if alpha[i] > c {
            alpha[i] = c
            alpha[j] = c - diff
          }
        } else if alpha[j] > c {
          alpha[j] = c
          alpha[i] = c + diff
        }
      } else {
        var quad = kmat[i * n + i] + kmat[j * n + j] - 2 * qij
        if quad <= 0 { quad = tau }
        let delta = (g[i] - g[j]) / quad
        let sum = alpha[i] + alpha[j]
        alpha[i] -= delta
        alpha[j] += delta
        if sum > c {
          if alpha[i] > c {
            alpha[i] = c
            alpha[j] = sum - c
          }
        } else if alpha[j] < 0 {
          alpha[j] = 0
          alpha[i] = sum
        }
        if sum > c {
          if alpha[j] > c {
            alpha[j] = c
            alpha[i] = sum - c
          }
        } else if alpha[i] < 0 {
          alpha[i] = 0
          alpha[j] = sum
        }
      }
      let di = alpha[i] - oldI, dj = alpha[j] - oldJ
      for t in 0..<n {
        g[t] += y[t] * (y[i] * kmat[i * n + t] * di + y[j] * kmat[j * n + t] * dj)
      }
    }
    // ρ: the mean of y_i G_i over free vectors, else the middle of the feasible interval.
    var ub = Double.infinity, lb = -Double.infinity, sumFree = 0.0, free = 0
    for t in 0..<n {
      let yg = y[t] * g[t]
      if upper(t) {
        if y[t] < 0 { ub = Swift.min(ub, yg) } else { lb = Swift.max(lb, yg) }
      } else if lower(t) {
        if y[t] > 0 { ub = Swift.min(ub, yg) } else { lb = Swift.max(lb, yg) }
      } else {
        free += 1
        sumFree += yg
      }
    }
    let rho = free > 0 ? sumFree / Double(free) : (ub + lb) / 2
    let sv = (0..<n).filter { alpha[$0] > 0 }
    return SVC(supportVectors: sv.map { x[$0] }, coefficients: sv.map { alpha[$0] * y[$0] }, rho: rho, gamma: gamma)
  }

  /// f(x) = Σ α_i y_i K(x_i, x) − ρ.
  public func decision(_ x: [Double]) -> Double {
    var s = -rho
    for (v, a) in zip(supportVectors, coefficients) {
      var d = 0.0
      for t in v.indices { d += (v[t] - x[t]) * (v[t] - x[t]) }
      s += a * exp(-gamma * d)
    }
    return s
  }

  public func predict(_ x: [Double]) -> Bool { decision(x) > 0 }
}
