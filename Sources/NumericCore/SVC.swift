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
    precondition(x.count == labels.count && !x.isEmpty)
    var solver = SMOSolver(x, labels: labels, c: c, gamma: gamma)
    for _ in 0..<Swift.max(10_000_000, 100 * x.count) {
      guard let (i, j) = solver.workingSet(tolerance: tolerance) else { break }
      solver.step(i, j)
    }
    let sv = (0..<x.count).filter { solver.alpha[$0] > 0 }
    return SVC(
      supportVectors: sv.map { x[$0] }, coefficients: sv.map { solver.alpha[$0] * solver.y[$0] }, rho: solver.rho,
      gamma: gamma)
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

/// The state of LIBSVM's SMO on the dual problem: the kernel matrix, α and the gradient
/// G = Qα − 1 (Fan, Chen & Lin, JMLR 2005).
struct SMOSolver {
  let n: Int
  let y: [Double]
  let c: Double
  /// K(x_i, x_j), row-major.
  let kernel: [Double]
  var alpha: [Double]
  var g: [Double]
  static let tau = 1e-12

  init(_ x: [[Double]], labels: [Bool], c: Double, gamma: Double) {
    n = x.count
    y = labels.map { $0 ? 1.0 : -1.0 }
    self.c = c
    var k = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in i..<n {
        var d = 0.0
        for t in x[i].indices { d += (x[i][t] - x[j][t]) * (x[i][t] - x[j][t]) }
        let v = exp(-gamma * d)
        k[i * n + j] = v
        k[j * n + i] = v
      }
    }
    kernel = k
    alpha = [Double](repeating: 0, count: n)
    g = [Double](repeating: -1, count: n)
  }

  func upper(_ t: Int) -> Bool { alpha[t] >= c }
  func lower(_ t: Int) -> Bool { alpha[t] <= 0 }

  /// The working set (i, j): i maximises −y_t G_t over I_up, j the second-order gain; nil when
  /// the maximal KKT violation is below `tolerance`.
  func workingSet(tolerance: Double) -> (Int, Int)? {
    var gmax = -Double.infinity
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
    guard i >= 0 else { return nil }
    var gmax2 = -Double.infinity, j = -1, best = Double.infinity
    for t in 0..<n {
      let up = y[t] > 0
      if up ? lower(t) : upper(t) { continue }
      let gt = up ? g[t] : -g[t]
      if gt >= gmax2 { gmax2 = gt }
      let diff = gmax + gt
      guard diff > 0 else { continue }
      let qit = y[i] * y[t] * kernel[i * n + t]
      let quad = kernel[i * n + i] + kernel[t * n + t] - (up ? 2 : -2) * y[i] * qit
      let obj = -(diff * diff) / (quad > 0 ? quad : Self.tau)
      if obj <= best {
        best = obj
        j = t
      }
    }
    return gmax + gmax2 < tolerance || j < 0 ? nil : (i, j)
  }

  /// Optimises α_i and α_j analytically within the box [0, C], then updates G.
  mutating func step(_ i: Int, _ j: Int) {
    let qij = y[i] * y[j] * kernel[i * n + j]
    let oldI = alpha[i], oldJ = alpha[j]
    if y[i] != y[j] {
      var quad = kernel[i * n + i] + kernel[j * n + j] + 2 * qij
      if quad <= 0 { quad = Self.tau }
      let delta = (-g[i] - g[j]) / quad
      let diff = alpha[i] - alpha[j]
      alpha[i] += delta
      alpha[j] += delta
      clipOpposite(i, j, diff: diff)
    } else {
      var quad = kernel[i * n + i] + kernel[j * n + j] - 2 * qij
      if quad <= 0 { quad = Self.tau }
      let delta = (g[i] - g[j]) / quad
      let sum = alpha[i] + alpha[j]
      alpha[i] -= delta
      alpha[j] += delta
      clipSame(i, j, sum: sum)
    }
    let di = alpha[i] - oldI, dj = alpha[j] - oldJ
    for t in 0..<n {
      g[t] += y[t] * (y[i] * kernel[i * n + t] * di + y[j] * kernel[j * n + t] * dj)
    }
  }

  /// Back into the box along α_i − α_j = diff (labels differ).
  mutating func clipOpposite(_ i: Int, _ j: Int, diff: Double) {
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
  }

  /// Back into the box along α_i + α_j = sum (labels agree).
  mutating func clipSame(_ i: Int, _ j: Int, sum: Double) {
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

  /// ρ: the mean of y_i G_i over free vectors, else the middle of the feasible interval.
  var rho: Double {
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
    return free > 0 ? sumFree / Double(free) : (ub + lb) / 2
  }
}
