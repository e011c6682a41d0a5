import Foundation
import Harness
import Networks
import NumericCore

/// Fisher forgetting (Golatkar, Achille & Soatto, "Eternal Sunshine of the
/// Spotless Net", CVPR 2020): add Gaussian noise shaped by the inverse Fisher
/// information of the retain set, so parameters the retain data do not pin
/// down (those that may hold forget information) are scrambled.
///
/// ```
/// F_j = (1/n_r) Σ_{x ∈ retain} Σ_y p_θ(y|x) · (∂ log p_θ(y|x) / ∂θ_j)²      (expected Fisher, diagonal)
/// σ²_j = α · min(1/(F_j + 1e-8), c),   c = 1e2 for the output layer, 1e3 otherwise
/// weights [out, in, …]: σ² averaged over the input dimension (dim 1) only
/// σ² ×= 10 for the output layer's weight and bias and for every 1-D parameter (biases)
/// θ ← θ + σ ⊙ N(0, I)
/// ```
/// As the authors' `get_mean_var` (AdityaGolatkar/SelectiveForgetting, `Forgetting.ipynb`):
/// `var.mean(dim=1, keepdim=True)` averages a convolution's variance over its input channels,
/// keeping each output channel and kernel position apart, and `var *= 10` for the last layer
/// and for 1-D parameters. Their class-removal case (zero mean and small variance for the
/// forgotten class's output row) does not apply to forgetting examples. Hyper-parameters
/// (`algorithms.fisher`): `alpha` α (the value of the authors' and the SCRUB repository's
/// notebooks). Each of the n_r·C per-example, per-class gradients is a backward pass, so the
/// cost grows with the class count.
/// Defaults: `alpha` 1e-6.
public struct FisherForgetting: UnlearningAlgorithm {
  public var name: String { "fisher" }
  public var kind: UnlearningKind { .approximate }
  public var alpha: Double

  public init(alpha: Double = 1e-6) { self.alpha = alpha }

  public init(parameters r: ConfigReader) throws {
    alpha = try r.double("alpha", default: 1e-6)
    try r.finish()
  }

  public func validate() throws {
    try check(alpha >= 0 && alpha.isFinite, name, "alpha", "must be a number ≥ 0, got \(alpha)")
  }

  public var hyperParameters: [String: ConfigValue] { ["alpha": .double(alpha)] }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try Network(weights: request.original, maxBatch: 256)
    let retain = request.retain
    let c = net.architecture.numClasses
    let probs = net.logits(retain.features)
    // One row per (example, class): the example's features with that class as label.
    var labels = [Int32]()
    labels.reserveCapacity(retain.count * c)
    for _ in 0..<retain.count { for y in 0..<c { labels.append(Int32(y)) } }
    let expanded = LabeledExamples(
      features: retain.features.gatherRows((0..<retain.count).flatMap { Array(repeating: $0, count: c) }),
      labels: labels)
    let fisher = FloatBuffer(count: net.parameterCount)
    for i in 0..<retain.count {
      if let d = request.deadline, d.hasPassed { break }
      let p = Softmax.probabilities(probs.row(i))
      for y in 0..<c {
        net.computeGradients(expanded, indices: [i * c + y][...])
        Kernels.addScaledSquare(net.gradients.view, scale: Float(p[y]) / Float(retain.count), into: fisher.view)
      }
    }
    // Noise per tensor, in PyTorch order; the last two tensors are the output layer's.
    var theta = request.original.parameters
    var rng = Xoshiro256StarStar(seed: Seeds.derive(request.seed, "fisher", "noise"))
    var offset = 0
    let specs = net.tensorSpecs
    for (t, spec) in specs.enumerated() {
      let count = spec.shape.reduce(1, *)
      let output = t >= specs.count - 2
      let variance = Self.variance(
        (0..<count).map { Double(fisher[offset + $0]) }, shape: spec.shape, alpha: alpha, outputLayer: output)
      for j in 0..<count { theta[offset + j] += Float(variance[j].squareRoot() * rng.nextGaussian()) }
      offset += count
    }
    return UnlearnedModel(ModelWeights(architecture: request.original.architecture, parameters: theta))
  }

  /// The noise variance of one tensor from its diagonal Fisher, as the authors' `get_mean_var`.
  static func variance(_ fisher: [Double], shape: [Int], alpha: Double, outputLayer: Bool) -> [Double] {
    let cap = outputLayer ? 1e2 : 1e3
    var v = fisher.map { alpha * Swift.min(1 / ($0 + 1e-8), cap) }
    if shape.count > 1 {
      // Mean over dim 1: for each (output, kernel position), over the input channels.
      let inner = shape.dropFirst(2).reduce(1, *), inputs = shape[1]
      for o in 0..<shape[0] {
        for k in 0..<inner {
          let at = (0..<inputs).map { (o * inputs + $0) * inner + k }
          let mean = at.reduce(0) { $0 + v[$1] } / Double(inputs)
          for j in at { v[j] = mean }
        }
      }
    }
    if outputLayer || shape.count == 1 { v = v.map { $0 * 10 } }
    return v
  }
}
