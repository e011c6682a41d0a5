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
/// weights: σ² averaged over each output row (the input dimension), as the authors' code
/// θ ← θ + σ ⊙ N(0, I)
/// ```
/// Hyper-parameters (`algorithms.fisher`): `alpha` α (default 1e-6, the value of the
/// authors' and the SCRUB repository's notebooks). Each of the n_r·C per-example,
/// per-class gradients is a backward pass, so the cost grows with the class count.
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
      let row = probs.scalars[(i * c)..<((i + 1) * c)]
      let m = row.max()!
      var s: Float = 0
      for v in row { s += expf(v - m) }
      for y in 0..<c {
        let p = expf(row[i * c + y] - m) / s
        net.computeGradients(expanded, indices: [i * c + y][...])
        Kernels.addScaledSquare(net.gradients.view, scale: p / Float(retain.count), into: fisher.view)
      }
    }
    // Noise per tensor, in PyTorch order.
    var theta = request.original.parameters
    var rng = Xoshiro256StarStar(seed: Seeds.derive(request.seed, "fisher", "noise"))
    var offset = 0
    for spec in net.tensorSpecs {
      let count = spec.shape.reduce(1, *)
      let cap = spec.shape.first == c ? 1e2 : 1e3
      var variance = (0..<count).map { alpha * Swift.min(1 / (Double(fisher[offset + $0]) + 1e-8), cap) }
      if spec.shape.count > 1 {
        let rowLength = count / spec.shape[0]
        for r in 0..<spec.shape[0] {
          let mean = variance[(r * rowLength)..<((r + 1) * rowLength)].reduce(0, +) / Double(rowLength)
          for j in 0..<rowLength { variance[r * rowLength + j] = mean }
        }
      }
      for j in 0..<count { theta[offset + j] += Float(variance[j].squareRoot() * rng.nextGaussian()) }
      offset += count
    }
    return UnlearnedModel(ModelWeights(architecture: request.original.architecture, parameters: theta))
  }
}
