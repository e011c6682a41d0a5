import Harness
import Networks
import NumericCore

/// NegGrad+ (Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS
/// 2023): descend on the retain set and ascend on the forget set at once,
/// weighted, so the model unlearns without collapsing.
///
/// ```
/// L(θ) = β·L_retain(B_r) − (1 − β)·L_forget(B_f)
/// ```
/// Each step pairs a retain batch B_r with the next forget batch B_f (the forget
/// set is cycled; both are reshuffled every epoch). Hyper-parameters
/// (`algorithms.neggrad-plus`): `beta` (default 0.95; the SCRUB code base uses
/// 0.95–0.999) and the training keys, defaulting to 5 epochs of SGD lr 0.05,
/// momentum 0.9, weight decay 5e-4, cosine, batch 64 (tuned on the digits default:
/// the forget accuracy falls towards the retrained models' while retain stays high).
/// Defaults: `beta` 0.95, `epochs` 5, `batch_size` 64, `optimizer` sgd, `learning_rate` 0.05, `momentum` 0.9,
/// `weight_decay` 0.0005, `schedule` cosine, `class_weighting` none.
public struct NegGradPlus: UnlearningAlgorithm {
  public var name: String { "neggrad-plus" }
  public var kind: UnlearningKind { .approximate }
  public var beta: Double
  public var training: TrainingConfig

  public static let defaults = TrainingConfig(
    epochs: 5, batchSize: 64, optimizer: .sgd, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: .cosine)

  public init(beta: Double = 0.95, training: TrainingConfig = NegGradPlus.defaults) {
    self.beta = beta
    self.training = training
  }

  public init(parameters r: ConfigReader) throws {
    beta = try r.double("beta", default: 0.95)
    training = try r.training(defaults: Self.defaults)
    try r.finish()
  }

  public func validate() throws {
    try check((0...1).contains(beta), name, "beta", "must be in [0, 1], got \(beta)")
    try checkRecipe(training, name)
  }

  public var hyperParameters: [String: ConfigValue] { training.configValues.merging(["beta": .double(beta)]) { $1 } }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try makeNetwork(request.original, batchSize: training.batchSize)
    let retain = request.retain, forget = request.forget
    guard retain.count > 0 else { return UnlearnedModel(net.weights) }
    let opt = training.makeOptimizer()
    let retainGradient = FloatBuffer(count: net.parameterCount)
    var rng = Xoshiro256StarStar(seed: Seeds.derive(request.seed, "neggrad-plus", "shuffle"))
    var fOrder = Array(0..<forget.count), fPos = forget.count
    try untilDeadline {
      for epoch in 0..<training.epochs {
        let lr = training.schedule.rate(base: training.learningRate, epoch: epoch, epochs: training.epochs)
        let rOrder = rng.permutation(retain.count)
        var start = 0
        while start < retain.count {
          if let d = request.deadline, d.hasPassed { throw NetworkError.deadlineExceeded }
          let end = Swift.min(start + training.batchSize, retain.count)
          net.computeGradients(retain, indices: rOrder[start..<end])
          retainGradient.copy(from: net.gradients)
          if forget.count > 0 {
            var fIdx = [Int]()
            while fIdx.count < Swift.min(training.batchSize, forget.count) {
              if fPos == forget.count {
                rng.shuffleInPlace(&fOrder)
                fPos = 0
              }
              fIdx.append(fOrder[fPos])
              fPos += 1
            }
            net.computeGradients(forget, indices: fIdx[...])
            BLAS.scal(-Float(1 - beta), net.gradients.view)
            BLAS.axpy(Float(beta), retainGradient.view, net.gradients.view)
          } else {
            BLAS.scal(Float(beta), net.gradients.view)
          }
          opt.step(net, learningRate: lr)
          start = end
        }
      }
    }
    return UnlearnedModel(net.weights)
  }
}
