import CKernels
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
/// default 1e-3). The kernel matrix, the decision values and the SMO's scans over the variables
/// run in C, eight lanes at a time (AVX-512 or AVX2 where the CPU has them, the same bits
/// everywhere), with e^x to within 2 ulp (`unlearn_exp_array`).
public struct SVC: Sendable {
  public let supportVectors: [[Double]]
  /// α_i y_i of each support vector.
  public let coefficients: [Double]
  public let rho: Double
  public let gamma: Double
  /// The support vectors' features column by column and their coefficients, padded to whole
  /// vectors with coefficient 0 (`unlearn_rbf_decisions`' layout).
  private let columns: [Double], paddedCoefficients: [Double]

  init(supportVectors: [[Double]], coefficients: [Double], rho: Double, gamma: Double) {
    self.supportVectors = supportVectors
    self.coefficients = coefficients
    self.rho = rho
    self.gamma = gamma
    columns = SMOSolver.columns(supportVectors)
    paddedCoefficients =
      coefficients + [Double](repeating: 0, count: SMOSolver.padded(coefficients.count) - coefficients.count)
  }

  /// Fits on `x` (rows) with labels (true = class 1). `portable`: the kernels without vector
  /// extensions (the same bits; for tests).
  public static func fit(
    _ x: [[Double]], labels: [Bool], c: Double = 1, gamma: Double, tolerance: Double = 1e-3, portable: Bool = false
  ) -> SVC {
    precondition(x.count == labels.count && !x.isEmpty)
    var solver = SMOSolver(x, labels: labels, c: c, gamma: gamma, portable: portable)
    for _ in 0..<Swift.max(10_000_000, 100 * x.count) {
      guard let (i, j) = solver.workingSet(tolerance: tolerance) else { break }
      solver.step(i, j)
    }
    let sv = (0..<x.count).filter { solver.alpha[$0] > 0 }
    return SVC(
      supportVectors: sv.map { x[$0] }, coefficients: sv.map { solver.alpha[$0] * solver.y[$0] }, rho: solver.rho,
      gamma: gamma)
  }

  /// f(x) = Σ_i α_i y_i K(x_i, x) − ρ for each of `points` (the sum in eight lanes, i mod 8, then
  /// pairwise; see `unlearn_rbf_decisions`).
  public func decisions(_ points: [[Double]], portable: Bool = false) -> [Double] {
    let dim = supportVectors.first?.count ?? 0
    precondition(points.allSatisfy { $0.count == dim }, "points need \(dim) features")
    var out = [Double](repeating: 0, count: points.count)
    let z = points.flatMap { $0 }
    let kernel = portable ? unlearn_rbf_decisions_portable : unlearn_rbf_decisions
    kernel(paddedCoefficients.count, dim, columns, paddedCoefficients, gamma, points.count, z, &out)
    return out.map { $0 - rho }
  }

  public func decision(_ x: [Double]) -> Double { decisions([x])[0] }

  public func predict(_ x: [Double]) -> Bool { decision(x) > 0 }
}

/// The state of LIBSVM's SMO on the dual problem: the kernel matrix, α and the gradient
/// G = Qα − 1 (Fan, Chen & Lin, JMLR 2005). Every array is padded to `stride`, a whole number
/// of vectors, with variables that never enter a working set (y = 1, α = 0, G = NaN). The kernel
/// matrix is computed at the start, each block once for both of its symmetric places (SMO meets
/// nearly every row on these problems, so rows computed on demand saved little).
struct SMOSolver {
  let n: Int
  let stride: Int
  let y: [Double]
  let c: Double
  /// K(x_i, x_j) at i · stride + j, and the diagonal K(x_i, x_i).
  let kernel: [Double]
  let diagonal: [Double]
  var alpha: [Double]
  var g: [Double]
  let portable: Bool
  static let tau = 1e-12

  /// `count` rounded up to whole vectors of the kernels.
  static func padded(_ count: Int) -> Int {
    let lanes = Int(UNLEARN_LANES)
    return Swift.max((count + lanes - 1) / lanes, 1) * lanes
  }

  /// The points' features column by column, each padded with zeros to `padded(points.count)`.
  static func columns(_ points: [[Double]]) -> [Double] {
    let stride = padded(points.count), dim = points.first?.count ?? 0
    var out = [Double](repeating: 0, count: stride * dim)
    for (i, p) in points.enumerated() {
      for t in 0..<dim { out[t * stride + i] = p[t] }
    }
    return out
  }

  init(_ x: [[Double]], labels: [Bool], c: Double, gamma: Double, portable: Bool) {
    n = x.count
    stride = Self.padded(n)
    let dim = x[0].count
    precondition(x.allSatisfy { $0.count == dim })
    let pad = stride - n
    y = labels.map { $0 ? 1.0 : -1.0 } + [Double](repeating: 1, count: pad)
    self.c = c
    self.portable = portable
    var kernel = [Double](repeating: 0, count: n * stride)
    (portable ? unlearn_rbf_matrix_portable : unlearn_rbf_matrix)(n, stride, dim, Self.columns(x), gamma, &kernel)
    self.kernel = kernel
    let (n, stride) = (n, stride)
    diagonal = (0..<stride).map { $0 < n ? kernel[$0 * stride + $0] : 0 }
    alpha = [Double](repeating: 0, count: stride)
    g = [Double](repeating: -1, count: n) + [Double](repeating: .nan, count: pad)
  }

  func upper(_ t: Int) -> Bool { alpha[t] >= c }
  func lower(_ t: Int) -> Bool { alpha[t] <= 0 }

  /// The working set (i, j): i maximises −y_t G_t over I_up, j the second-order gain; nil when
  /// the maximal KKT violation is below `tolerance` (`unlearn_smo_select_i`, `_j`).
  func workingSet(tolerance: Double) -> (Int, Int)? {
    var i: Int64 = -1, j: Int64 = -1, gmax = 0.0, gmax2 = 0.0
    (portable ? unlearn_smo_select_i_portable : unlearn_smo_select_i)(stride, y, alpha, g, c, &i, &gmax)
    guard i >= 0 else { return nil }
    kernel.withUnsafeBufferPointer { k in
      (portable ? unlearn_smo_select_j_portable : unlearn_smo_select_j)(
        stride, y, alpha, g, diagonal, c, Int(i), k.baseAddress! + Int(i) * stride, gmax, Self.tau, &j, &gmax2)
    }
    return gmax + gmax2 < tolerance || j < 0 ? nil : (Int(i), Int(j))
  }

  /// Optimises α_i and α_j analytically within the box [0, C], then updates G.
  mutating func step(_ i: Int, _ j: Int) {
    let qij = y[i] * y[j] * kernel[i * stride + j]
    let oldI = alpha[i], oldJ = alpha[j]
    if y[i] != y[j] {
      var quad = diagonal[i] + diagonal[j] + 2 * qij
      if quad <= 0 { quad = Self.tau }
      let delta = (-g[i] - g[j]) / quad
      let diff = alpha[i] - alpha[j]
      alpha[i] += delta
      alpha[j] += delta
      clipOpposite(i, j, diff: diff)
    } else {
      var quad = diagonal[i] + diagonal[j] - 2 * qij
      if quad <= 0 { quad = Self.tau }
      let delta = (g[i] - g[j]) / quad
      let sum = alpha[i] + alpha[j]
      alpha[i] -= delta
      alpha[j] += delta
      clipSame(i, j, sum: sum)
    }
    let di = alpha[i] - oldI, dj = alpha[j] - oldJ
    let update = portable ? unlearn_smo_update_portable : unlearn_smo_update
    kernel.withUnsafeBufferPointer { k in
      update(stride, y, k.baseAddress! + i * stride, k.baseAddress! + j * stride, y[i] * di, y[j] * dj, &g)
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
