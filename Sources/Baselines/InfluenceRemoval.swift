import Foundation
import Harness
import Networks
import NumericCore

/// Influence-based removal: one Newton step from the original weights towards
/// the optimum of the regularised retain objective (Koh & Liang, "Understanding
/// Black-box Predictions via Influence Functions", ICML 2017; Guo et al.,
/// "Certified Data Removal from Machine Learning Models", ICML 2020).
///
/// ```
/// L_r(θ) = (1/n_r) Σ_{retain} ℓ(θ) + (λ/2)‖θ‖²,    H_r = ∇²L_r(θ)
/// gradient "retain":  θ ← θ − (H_r + δI)⁻¹ ∇L_r(θ)                  (Newton step, retain objective)
/// gradient "forget":  θ ← θ + (H_r + δI)⁻¹ (1/n_r) Σ_{forget} ∇ℓ(θ)  (the influence-function update)
/// ```
/// At an optimum θ* of the training objective, ∇L_r(θ*) = −(1/n_r) Σ_forget ∇ℓ(θ*)
/// − λ(n_f/n_r)θ*: the two agree up to the rescaling of the regulariser, and the
/// "retain" form also corrects for an original that is not exactly converged. On a
/// non-convex network that residual is not small and a Newton step on it diverges,
/// so `auto` uses "retain" with the exact solver and "forget" with CG.
///
/// - Softmax regression: the exact Hessian, built as Σ_i (diag p_i − p_i p_iᵀ) ⊗ x̃_i x̃_iᵀ
///   (x̃ = [x, 1]; one GEMM per class pair), and a dense Cholesky solve.
/// - MLP and CNN: conjugate gradients, with Hessian-vector products by central
///   finite differences of full retain gradients, Hv ≈ (∇L_r(θ + εv) − ∇L_r(θ − εv)) / 2ε;
///   CG stops at a direction of non-positive curvature (the network loss is not convex).
/// - Optional Gaussian noise θ ← θ + σ·N(0, I): the output perturbation of the
///   certified-removal variant (Guo et al. §3; σ must be calibrated to the
///   gradient-residual bound and the (ε, δ) target — it is a parameter here).
///
/// Hyper-parameters (`algorithms.influence`): `l2` λ (default: the experiment's
/// weight decay, the regulariser the original was trained with), `damping` δ
/// (default 0.03) and `cg_iterations` (default 20), `noise` σ (default 0), `solver` (`auto`: exact for softmax
/// regression, CG otherwise; or `exact`, `cg`), `gradient` (`auto`, `retain`, `forget`).
/// Damping and iterations were set on the digits MLP: with Koh & Liang's δ = 0.01 the
/// near-flat directions of the network's Hessian make CG diverge after about 15
/// steps (the test accuracy falls to chance); δ = 0.03 with 20 steps is stable and
/// moves the forget accuracy towards the retrained models'.
/// Defaults: `l2` the experiment's `weight_decay`, `damping` 0.03, `cg_iterations` 20, `noise` 0, `solver` auto,
/// `gradient` auto.
public struct InfluenceRemoval: UnlearningAlgorithm {
  public var name: String { "influence" }
  public var kind: UnlearningKind { .approximate }
  public var l2: Double?
  public var damping: Double
  public var cgIterations: Int
  public var noise: Double
  public var solver: String
  public var gradient: String

  public init(
    l2: Double? = nil, damping: Double = 0.03, cgIterations: Int = 20, noise: Double = 0, solver: String = "auto",
    gradient: String = "auto"
  ) {
    self.l2 = l2
    self.damping = damping
    self.cgIterations = cgIterations
    self.noise = noise
    self.solver = solver
    self.gradient = gradient
  }

  public init(parameters r: ConfigReader, experimentTraining: TrainingConfig) throws {
    l2 = try r.double("l2", default: Double(experimentTraining.weightDecay))
    damping = try r.double("damping", default: 0.03)
    cgIterations = try r.int("cg_iterations", default: 20, range: 1...100_000)
    noise = try r.double("noise", default: 0)
    solver = try r.string("solver", default: "auto")
    gradient = try r.string("gradient", default: "auto")
    try r.finish()
  }

  public func validate() throws {
    try check(["auto", "exact", "cg"].contains(solver), name, "solver", "must be auto, exact or cg, got \(solver)")
    try check(
      ["auto", "retain", "forget"].contains(gradient), name, "gradient",
      "must be auto, retain or forget, got \(gradient)")
    for (key, v) in [("damping", damping), ("noise", noise), ("l2", l2 ?? 0)] {
      try check(v >= 0 && v.isFinite, name, key, "must be a number ≥ 0, got \(v)")
    }
    try check(cgIterations >= 1, name, "cg_iterations", "must be at least 1, got \(cgIterations)")
  }

  public var hyperParameters: [String: ConfigValue] {
    var h: [String: ConfigValue] = [
      "damping": .double(damping), "cg_iterations": .int(cgIterations), "noise": .double(noise),
      "solver": .string(solver),
      "gradient": .string(gradient),
    ]
    if let l2 { h["l2"] = .double(l2) }
    return h
  }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let lambda = l2 ?? Double(request.training.weightDecay)
    let net = try Network(weights: request.original, maxBatch: 256)
    let theta = net.parameters.array.map(Double.init)
    let retain = request.retain
    let exact = solver == "exact" || (solver == "auto" && request.original.architecture.kind == .softmax)
    let g: [Double]
    if gradient == "retain" || (gradient == "auto" && exact) {
      net.computeFullGradient(retain)
      g = zip(net.gradients.array, theta).map { Double($0) + lambda * $1 }
    } else {
      // −(1/n_r) Σ_forget ∇ℓ = −(n_f/n_r) · mean forget gradient.
      net.computeFullGradient(request.forget)
      let scale = -Double(request.forget.count) / Double(Swift.max(retain.count, 1))
      g = net.gradients.array.map { scale * Double($0) }
    }
    let step: [Double]
    if exact {
      guard request.original.architecture.kind == .softmax else {
        throw HarnessError(
          "algorithms.influence.solver", "the exact Hessian is implemented for softmax regression only; use cg")
      }
      step = try exactSoftmaxStep(net, retain: retain, gradient: g, lambda: lambda)
    } else {
      step = conjugateGradientStep(
        net, retain: retain, theta: theta, gradient: g, lambda: lambda, deadline: request.deadline)
    }
    var rng = Xoshiro256StarStar(seed: Seeds.derive(request.seed, "influence", "noise"))
    let updated = theta.indices.map { i in Float(theta[i] - step[i] + (noise > 0 ? noise * rng.nextGaussian() : 0)) }
    return UnlearnedModel(ModelWeights(architecture: request.original.architecture, parameters: updated))
  }

  /// (H + δI)⁻¹ g with the exact Hessian of softmax regression (parameters: W [C, D] then b [C]).
  func exactSoftmaxStep(_ net: Network, retain: LabeledExamples, gradient g: [Double], lambda: Double) throws
    -> [Double]
  {
    let n = retain.count, d = retain.features.rowLength, c = net.architecture.numClasses
    let e = d + 1
    let logits = net.logits(retain.features)
    // Probabilities per example.
    let p = Softmax.probabilities(logits).flatMap { $0 }
    // x̃ = [x, 1] and, per class pair, Σ_i a_i x̃ x̃ᵀ / n with a_i = p_ik(δ_kl − p_il).
    let xt = FloatBuffer(count: n * e), scaled = FloatBuffer(count: n * e), block = FloatBuffer(count: e * e)
    for i in 0..<n {
      for j in 0..<d { xt[i * e + j] = retain.features.scalars[i * d + j] }
      xt[i * e + d] = 1
    }
    let size = c * e
    var h = [Double](repeating: 0, count: size * size)
    // Parameter index of (class k, input j): W[k, j] = k·d + j; bias b[k] = c·d + k.
    func index(_ k: Int, _ j: Int) -> Int { j < d ? k * d + j : c * d + k }
    for k in 0..<c {
      for l in k..<c {
        for i in 0..<n {
          let a = Float(p[i * c + k] * ((k == l ? 1 : 0) - p[i * c + l]) / Double(n))
          for j in 0..<e { scaled[i * e + j] = xt[i * e + j] * a }
        }
        BLAS.gemm(transA: true, m: e, n: e, k: n, a: xt.view, lda: e, b: scaled.view, ldb: e, c: block.view, ldc: e)
        for j in 0..<e {
          for jj in 0..<e {
            let v = Double(block[j * e + jj])
            h[index(k, j) * size + index(l, jj)] = v
            h[index(l, jj) * size + index(k, j)] = v
          }
        }
      }
    }
    for i in 0..<size { h[i * size + i] += lambda + damping }
    guard let x = LinearAlgebra.choleskySolve(h, size: size, rhs: g) else {
      throw HarnessError(
        "influence", "the retain Hessian is not positive definite; raise algorithms.influence.damping or l2")
    }
    return x
  }

  /// (H + δI)⁻¹ g by conjugate gradients with finite-difference Hessian-vector products.
  func conjugateGradientStep(
    _ net: Network, retain: LabeledExamples, theta: [Double], gradient g: [Double], lambda: Double, deadline: Deadline?
  ) -> [Double] {
    let norm = LinearAlgebra.dot(theta, theta).squareRoot()
    func gradient(at point: [Double]) -> [Double] {
      net.parameters.copy(from: point.map { Float($0) })
      net.computeFullGradient(retain)
      return net.gradients.array.map(Double.init)
    }
    let (x, _) = LinearAlgebra.conjugateGradient(rhs: g, iterations: cgIterations) { v in
      if let deadline, deadline.hasPassed { return v.map { _ in .nan } }  // stops CG: non-positive curvature test fails
      let vn = LinearAlgebra.dot(v, v).squareRoot()
      guard vn > 0 else { return v }
      let eps = 1e-3 * Swift.max(1, norm) / vn
      let plus = gradient(at: zip(theta, v).map { $0 + eps * $1 })
      let minus = gradient(at: zip(theta, v).map { $0 - eps * $1 })
      return v.indices.map { (plus[$0] - minus[$0]) / (2 * eps) + (lambda + damping) * v[$0] }
    }
    net.parameters.copy(from: theta.map { Float($0) })
    return x
  }
}
