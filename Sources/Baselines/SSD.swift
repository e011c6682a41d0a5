import Harness
import Networks
import NumericCore

/// Selective Synaptic Dampening (Foster, Schoepf & Brintrup, AAAI 2024): shrink
/// the parameters that matter far more to the forget set than to the whole
/// training set, without any further training.
///
/// ```
/// I_S = (1/|batches|) Σ_{batches B of S} (∇_θ L_B)²        (diagonal importance, per batch as the authors' code)
/// for every j with I_F,j > α·I_D,j:   θ_j ← θ_j · min(λ·I_D,j / I_F,j, 1)
/// ```
/// with D the training set (retain ∪ forget) and F the forget set. Batches are
/// drawn in a seeded order, as a shuffled data loader would.
/// Hyper-parameters (`algorithms.ssd`): `alpha` α, the selection weighting
/// (default 10), `lambda` λ, the dampening constant (default 1), `batch_size`
/// (default 64): the paper's values for CIFAR ResNet-18.
/// Defaults: `alpha` 10, `lambda` 1, `batch_size` 64.
public struct SSD: UnlearningAlgorithm {
  public var name: String { "ssd" }
  public var kind: UnlearningKind { .approximate }
  public var alpha: Double
  public var lambda: Double
  public var batchSize: Int

  public init(alpha: Double = 10, lambda: Double = 1, batchSize: Int = 64) {
    self.alpha = alpha
    self.lambda = lambda
    self.batchSize = batchSize
  }

  public init(parameters r: ConfigReader) throws {
    alpha = try r.double("alpha", default: 10)
    lambda = try r.double("lambda", default: 1)
    batchSize = try r.int("batch_size", default: 64, range: 1...65_536)
    try r.finish()
  }

  public func validate() throws {
    try check(alpha > 0 && alpha.isFinite, name, "alpha", "must be a number > 0, got \(alpha)")
    try check(lambda > 0 && lambda.isFinite, name, "lambda", "must be a number > 0, got \(lambda)")
    try check((1...65_536).contains(batchSize), name, "batch_size", "must be in 1...65536, got \(batchSize)")
  }

  public var hyperParameters: [String: ConfigValue] {
    ["alpha": .double(alpha), "lambda": .double(lambda), "batch_size": .int(batchSize)]
  }

  /// The mean squared batch gradient over `examples`.
  func importance(_ net: Network, _ examples: LabeledExamples, seed: UInt64) -> FloatBuffer {
    let imp = FloatBuffer(count: net.parameterCount)
    var rng = Xoshiro256StarStar(seed: seed)
    let order = rng.permutation(examples.count)
    let batches = (examples.count + batchSize - 1) / batchSize
    var start = 0
    while start < examples.count {
      let end = Swift.min(start + batchSize, examples.count)
      net.computeGradients(examples, indices: order[start..<end])
      Kernels.addScaledSquare(net.gradients.view, scale: 1 / Float(batches), into: imp.view)
      start = end
    }
    return imp
  }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try Network(weights: request.original, maxBatch: Swift.max(batchSize, 256))
    let full = importance(
      net, request.retain.appending(request.forget), seed: Seeds.derive(request.seed, "ssd", "train"))
    let forget = importance(net, request.forget, seed: Seeds.derive(request.seed, "ssd", "forget"))
    var theta = request.original.parameters
    for j in theta.indices {
      let d = Double(full[j]), f = Double(forget[j])
      if f > alpha * d { theta[j] *= Float(Swift.min(lambda * d / f, 1)) }
    }
    return UnlearnedModel(ModelWeights(architecture: request.original.architecture, parameters: theta))
  }
}
