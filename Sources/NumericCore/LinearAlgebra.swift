import Foundation

/// Dense symmetric positive-definite solves for the small systems of
/// second-order unlearning (a softmax regression's Hessian).
public enum LinearAlgebra {
  /// Solves `A·x = b` for symmetric positive-definite `A` (`n × n`, row-major)
  /// by Cholesky factorisation `A = L·Lᵀ`. Returns nil when `A` is not positive definite.
  public static func choleskySolve(_ a: [Double], size n: Int, rhs b: [Double]) -> [Double]? {
    precondition(a.count == n * n && b.count == n)
    var l = [Double](repeating: 0, count: n * n)
    for j in 0..<n {
      var d = a[j * n + j]
      for k in 0..<j { d -= l[j * n + k] * l[j * n + k] }
      guard d > 0, d.isFinite else { return nil }
      let ljj = d.squareRoot()
      l[j * n + j] = ljj
      for i in (j + 1)..<Swift.max(j + 1, n) {
        var s = a[i * n + j]
        for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
        l[i * n + j] = s / ljj
      }
    }
    // L·y = b, then Lᵀ·x = y.
    var y = b
    for i in 0..<n {
      var s = y[i]
      for k in 0..<i { s -= l[i * n + k] * y[k] }
      y[i] = s / l[i * n + i]
    }
    var x = y
    for i in stride(from: n - 1, through: 0, by: -1) {
      var s = x[i]
      for k in (i + 1)..<Swift.max(i + 1, n) { s -= l[k * n + i] * x[k] }
      x[i] = s / l[i * n + i]
    }
    return x
  }

  /// Conjugate gradients for `A·x = b` with `A` given as a product `apply(v) = A·v`
  /// (symmetric). Stops after `iterations`, when ‖r‖ ≤ `tolerance`·‖b‖, or when a
  /// direction of non-positive curvature appears (returning the iterate so far).
  public static func conjugateGradient(
    rhs b: [Double], iterations: Int, tolerance: Double = 1e-6, apply: ([Double]) -> [Double]
  ) -> (solution: [Double], iterations: Int) {
    let n = b.count
    var x = [Double](repeating: 0, count: n)
    var r = b, p = b
    var rr = dot(r, r)
    let stop = tolerance * tolerance * rr
    var k = 0
    while k < iterations && rr > stop {
      let ap = apply(p)
      let pap = dot(p, ap)
      guard pap > 0, pap.isFinite else { break }
      let alpha = rr / pap
      for i in 0..<n {
        x[i] += alpha * p[i]
        r[i] -= alpha * ap[i]
      }
      let next = dot(r, r)
      let beta = next / rr
      rr = next
      for i in 0..<n { p[i] = r[i] + beta * p[i] }
      k += 1
    }
    return (x, k)
  }

  public static func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in a.indices { s += a[i] * b[i] }
    return s
  }
}
