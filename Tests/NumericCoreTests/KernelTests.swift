import CKernels
import Foundation
import Testing

@testable import NumericCore

/// The C kernels' vector builds against their baseline builds (the same bits) and against
/// independent references: glibc's e^x, log and log1p, and scikit-learn's SVC on data where both
/// must agree.
@Suite struct KernelTests {
  /// Distance in units in the last place between two doubles (−0 and +0 one apart; NaN against
  /// NaN 0, NaN against a number the maximum).
  static func ulps(_ a: Double, _ b: Double) -> UInt64 {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : .max }
    // Doubles in order as integers: negatives mirrored below the positives.
    func key(_ v: Double) -> Int64 {
      v.sign == .minus ? -1 - Int64(bitPattern: (-v).bitPattern) : Int64(bitPattern: v.bitPattern)
    }
    let x = key(a), y = key(b)
    return x > y ? UInt64(bitPattern: x &- y) : UInt64(bitPattern: y &- x)
  }

  typealias ArrayKernel = (Int, UnsafePointer<Double>?, UnsafeMutablePointer<Double>?) -> Void

  /// `kernel` of every value of `x`, expected to have the bits of its baseline build, and its worst
  /// distance to `reference` in ulps.
  static func outputs(
    of x: [Double], _ kernel: ArrayKernel, portable: ArrayKernel, against reference: (Double) -> Double
  ) -> (out: [Double], worst: UInt64) {
    var fast = [Double](repeating: 0, count: x.count), baseline = fast
    kernel(x.count, x, &fast)
    portable(x.count, x, &baseline)
    #expect(fast.map(\.bitPattern) == baseline.map(\.bitPattern))
    return (fast, zip(x, fast).map { ulps($1, reference($0)) }.max() ?? 0)
  }

  @Test func exp_isWithinTwoUlpOfLibm_andTheSameInEveryBuild() {
    var rng = Xoshiro256StarStar(seed: 3)
    // Every scale the kernels meet, a ragged tail (n not a multiple of 8), and the edges.
    var x = (0..<100_003).map { k -> Double in
      let u = rng.nextUnitDouble()
      switch k % 4 {
      case 0: return -u
      case 1: return -708 * u
      case 2: return 709 * u
      default: return 1e-300 * (u - 0.5)
      }
    }
    x += [0, -0.0, -708, 709, 1, -1, Double.ulpOfOne, .leastNonzeroMagnitude]
    let (fast, worst) = Self.outputs(
      of: x, unlearn_exp_array, portable: unlearn_exp_array_portable, against: { Foundation.exp($0) })
    #expect(worst <= 2, "worst \(worst) ulp")
    #expect(fast[x.count - 8] == 1 && fast[x.count - 7] == 1)

    let edges: [Double] = [-709, -1e308, 710, .infinity, -.infinity, .nan]
    var out = [Double](repeating: 0, count: edges.count)
    unlearn_exp_array(edges.count, edges, &out)
    #expect(out[0] == 0 && out[1] == 0 && out[2] == .infinity && out[3] == .infinity && out[4] == 0)
    #expect(out[5].isNaN)
  }

  @Test func log_isWithinOneUlpOfLibm_andTheSameInEveryBuild() {
    var rng = Xoshiro256StarStar(seed: 4)
    // Every binade (subnormals included), the neighbourhood of 1, probabilities, a ragged tail.
    var x = (0..<100_003).map { k -> Double in
      let u = rng.nextUnitDouble()
      switch k % 4 {
      case 0: return Foundation.pow(2, -1074 + 2097 * u)
      case 1: return 1 + (u - 0.5) * 1e-6
      case 2: return u
      default: return 1 - u * 1e-12
      }
    }
    x += [1, 2, 0.5, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, 1e-30]
    let (fast, worst) = Self.outputs(
      of: x, unlearn_log_array, portable: unlearn_log_array_portable, against: { Foundation.log($0) })
    #expect(worst <= 1, "worst \(worst) ulp")
    #expect(fast[x.count - 7] == 0)

    let edges: [Double] = [0, -0.0, -1, .infinity, -.infinity, .nan]
    var out = [Double](repeating: 0, count: edges.count)
    unlearn_log_array(edges.count, edges, &out)
    #expect(out[0] == -.infinity && out[1] == -.infinity && out[2].isNaN && out[3] == .infinity)
    #expect(out[4].isNaN && out[5].isNaN)
  }

  @Test func log1p_isWithinTwoUlpOfLibm_andTheSameInEveryBuild() {
    var rng = Xoshiro256StarStar(seed: 5)
    // e^(−|margin|) as the logistic regression passes it, tiny values, (−1, 0), large values.
    var x = (0..<100_003).map { k -> Double in
      let u = rng.nextUnitDouble()
      switch k % 4 {
      case 0: return Foundation.exp(-40 * u)
      case 1: return (u - 0.5) * 1e-17
      case 2: return -u
      default: return Foundation.pow(2, 1000 * u)
      }
    }
    x += [0, -0.0, 1, -0.5, 1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
    let (fast, worst) = Self.outputs(
      of: x, unlearn_log1p_array, portable: unlearn_log1p_array_portable, against: { Foundation.log1p($0) })
    #expect(worst <= 2, "worst \(worst) ulp")
    #expect(fast[x.count - 7] == 0 && fast[x.count - 3].bitPattern == Double(1e-300).bitPattern)

    let edges: [Double] = [-1, -2, .infinity, -.infinity, .nan]
    var out = [Double](repeating: 0, count: edges.count)
    unlearn_log1p_array(edges.count, edges, &out)
    #expect(out[0] == -.infinity && out[1].isNaN && out[2] == .infinity && out[3].isNaN && out[4].isNaN)
  }

  @Test func svc_fitAndDecisions_areTheSameInEveryBuild() {
    var rng = Xoshiro256StarStar(seed: 11)
    for n in [5, 8, 37, 200] {
      // Two overlapping classes in two dimensions.
      let labels = (0..<n).map { $0 % 3 != 0 }
      let x = labels.map { member in [rng.nextGaussian() + (member ? 0.7 : 0), rng.nextGaussian()] }
      let fast = SVC.fit(x, labels: labels, c: 3, gamma: 0.5)
      let portable = SVC.fit(x, labels: labels, c: 3, gamma: 0.5, portable: true)
      #expect(fast.coefficients.map(\.bitPattern) == portable.coefficients.map(\.bitPattern))
      #expect(fast.rho.bitPattern == portable.rho.bitPattern)
      let queries = (0..<13).map { _ in [rng.nextGaussian(), rng.nextGaussian()] }
      #expect(
        fast.decisions(queries).map(\.bitPattern) == portable.decisions(queries, portable: true).map(\.bitPattern))
      // One query at a time is the same as all at once.
      #expect(queries.map { fast.decision($0).bitPattern } == fast.decisions(queries).map(\.bitPattern))
    }
  }

  /// The decision function by its definition, in plain Swift with glibc's exp.
  @Test func svcDecisions_matchTheirDefinition() {
    var rng = Xoshiro256StarStar(seed: 12)
    let labels = (0..<61).map { $0 % 2 == 0 }
    let x = labels.map { member in [rng.nextUnitDouble() + (member ? 0.3 : 0)] }
    let svc = SVC.fit(x, labels: labels, c: 3, gamma: 1)
    let queries = (0..<40).map { _ in [rng.nextUnitDouble()] }
    for (z, got) in zip(queries, svc.decisions(queries)) {
      var want = -svc.rho
      for (v, a) in zip(svc.supportVectors, svc.coefficients) {
        want += a * Foundation.exp(-(v[0] - z[0]) * (v[0] - z[0]))
      }
      #expect(abs(got - want) < 1e-12, "\(got) vs \(want)")
    }
  }
}

@Suite struct OptimiserKernelTests {
  /// SGD with momentum in every build against the scalar formula, bit for bit, on a ragged length.
  @Test(arguments: [false, true])
  func sgdMomentum_matchesTheScalarFormulaInEveryBuild(nesterov: Bool) {
    var rng = Xoshiro256StarStar(seed: 21)
    let n = 16 * 37 + 5
    let p0 = (0..<n).map { _ in Float(rng.nextGaussian()) }, g = (0..<n).map { _ in Float(rng.nextGaussian()) }
    let v0 = (0..<n).map { _ in Float(rng.nextGaussian()) }
    let (lr, mu, wd): (Float, Float, Float) = (0.05, 0.9, 5e-4)
    var want = p0, wantV = v0
    for i in 0..<n {
      let d = g[i] + wd * want[i]
      wantV[i] = mu * wantV[i] + d
      want[i] = want[i] - lr * (nesterov ? d + mu * wantV[i] : wantV[i])
    }
    for portable in [false, true] {
      var p = p0, v = v0
      (portable ? unlearn_sgd_momentum_portable : unlearn_sgd_momentum)(n, &p, g, &v, lr, mu, wd, nesterov ? 1 : 0)
      #expect(p.map(\.bitPattern) == want.map(\.bitPattern) && v.map(\.bitPattern) == wantV.map(\.bitPattern))
    }
  }
}

@Suite struct LayerKernelTests {
  /// ReLU forward and backward and column sums: every build gives the scalar formula's bits
  /// (NaN and −0 pass the forward unchanged; a ragged length exercises the scalar tail).
  @Test func reluAndColumnSums_matchTheScalarFormulasInEveryBuild() {
    var rng = Xoshiro256StarStar(seed: 22)
    let n = 16 * 9 + 7
    var x = (0..<n).map { _ in Float(rng.nextGaussian()) }
    x[3] = .nan
    x[5] = -0.0
    let dy = (0..<n).map { _ in Float(rng.nextGaussian()) }
    let (rows, cols) = (7, n / 7)
    for portable in [false, true] {
      var y = [Float](repeating: 1, count: n), dx = y, g = [Float](repeating: 1, count: cols)
      (portable ? unlearn_relu_forward_portable : unlearn_relu_forward)(n, x, &y)
      (portable ? unlearn_relu_backward_portable : unlearn_relu_backward)(n, y, dy, &dx)
      (portable ? unlearn_sum_rows_portable : unlearn_sum_rows)(rows, cols, x, &g)
      #expect(y.map(\.bitPattern) == x.map { ($0 < 0 ? 0 : $0).bitPattern })
      #expect(dx.map(\.bitPattern) == (0..<n).map { (y[$0] > 0 ? dy[$0] : 0).bitPattern })
      let want = (0..<cols).map { c in (0..<rows).reduce(Float(0)) { $0 + x[$1 * cols + c] } }
      #expect(g.map(\.bitPattern) == want.map(\.bitPattern))
    }
  }
}

@Suite struct PlaneSumTests {
  /// Four planes at a time give each plane's sum with the bits of one plane at a time: eight
  /// partial sums (s mod 8) added in order, combined by `SIMD8.sum()`, then the tail.
  @Test(arguments: [1, 3, 4, 5, 9], [0, 5, 8, 196, 203])
  func sumPlanes_matchesOnePlaneAtATime(planes: Int, size: Int) {
    var rng = Xoshiro256StarStar(seed: UInt64(planes * 1000 + size))
    let y = (0..<(planes * size)).map { _ in Float(rng.nextGaussian()) * 100 }
    let want = (0..<planes).map { c -> Float in
      var acc = SIMD8<Float>()
      var s = 0
      while s + 8 <= size {
        for l in 0..<8 { acc[l] += y[c * size + s + l] }
        s += 8
      }
      var total = acc.sum()
      while s < size {
        total += y[c * size + s]
        s += 1
      }
      return total
    }
    let input = FloatBuffer(y), out = FloatBuffer(count: planes)
    Kernels.sumPlanes(input.view, planes: planes, size: size, into: out.view)
    #expect(out.view.array.map(\.bitPattern) == want.map(\.bitPattern))
  }
}
