import Harness
import Networks
import NumericCore

/// SalUn (Fan, Liu, Zhang, Wei, Wong & Liu, "SalUn: Empowering Machine Unlearning
/// via Gradient-based Weight Saliency", ICLR 2024): random-label unlearning that
/// only updates the parameters most salient to the forget loss.
///
/// ```
/// m_j = 1[ |∇_θ L_forget(θ_original)|_j ≥ the (1 − r) quantile ]          (saliency mask)
/// θ ← Train(θ_original, D_retain ∪ {(x_f, ỹ_f)}) with every gradient multiplied by m,
///     ỹ_f ~ Uniform{0, …, C − 1} redrawn every epoch (as ``RandomLabels``)
/// ```
/// Hyper-parameters (`algorithms.salun`): `mask_ratio` r (the paper's `with_0.5` mask) and the
/// training keys, defaulting to ``RandomLabels``' recipe.
/// Defaults: `mask_ratio` 0.5, `epochs` 5, `batch_size` 64, `optimizer` sgd, `learning_rate` 0.05,
/// `momentum` 0.9, `weight_decay` 0.0005, `schedule` cosine, `class_weighting` none.
public struct SalUn: UnlearningAlgorithm {
  public var name: String { "salun" }
  public var kind: UnlearningKind { .approximate }
  public var maskRatio: Double
  public var training: TrainingConfig

  public init(maskRatio: Double = 0.5, training: TrainingConfig = RandomLabels.defaults) {
    self.maskRatio = maskRatio
    self.training = training
  }

  public init(parameters r: ConfigReader) throws {
    maskRatio = try r.double("mask_ratio", default: 0.5)
    training = try r.training(defaults: RandomLabels.defaults)
    try r.finish()
  }

  public func validate() throws {
    try check(maskRatio > 0 && maskRatio <= 1, name, "mask_ratio", "must be in (0, 1], got \(maskRatio)")
    try checkRecipe(training, name)
  }

  public var hyperParameters: [String: ConfigValue] {
    training.configValues.merging(["mask_ratio": .double(maskRatio)]) { $1 }
  }

  /// 1 for the `maskRatio` share of parameters with the largest forget-gradient magnitude, else 0.
  func saliencyMask(_ net: Network, forget: LabeledExamples) -> FloatBuffer {
    net.computeFullGradient(forget)
    let magnitude = net.gradients.array.map { abs($0) }
    let keep = Swift.max(1, Int((maskRatio * Double(magnitude.count)).rounded()))
    let threshold = magnitude.sorted(by: >)[keep - 1]
    return FloatBuffer(magnitude.map { $0 >= threshold ? 1 : 0 })
  }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try makeNetwork(request.original, batchSize: training.batchSize)
    let mask = saliencyMask(net, forget: request.forget)
    var labels = RandomLabelDraws(request, seed: Seeds.derive(request.seed, "salun", "labels"))
    try untilDeadline {
      try Trainer.train(
        net, on: labels.data, config: training, seed: Seeds.derive(request.seed, "salun", "shuffle"),
        transform: { net, _ in Kernels.multiply(net.gradients.view, by: mask.view) },
        relabel: { _, y in labels.redraw(&y) }, deadline: request.deadline)
    }
    return UnlearnedModel(net.weights)
  }
}
