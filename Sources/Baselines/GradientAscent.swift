import Harness
import Networks
import NumericCore

/// Gradient ascent on the forget set ("NegGrad"; Golatkar et al., CVPR 2020;
/// Thudi et al., EuroS&P 2022; Jang et al., ACL 2023): climb the loss on
/// D_forget so the model stops fitting it.
///
/// ```
/// θ ← θ_original;   E epochs over D_forget:  θ ← θ + η_e ∇L_forget(θ) − η_e λθ   (SGD, momentum μ)
/// ```
/// Unbounded ascent destroys the model, so the defaults take few, small steps:
/// `epochs` 2, `batch_size` 32, `optimizer` sgd, `learning_rate` 0.01, `momentum` 0.9,
/// `weight_decay` 0, `schedule` constant (Unlearn-Sparse / SalUn tune GA's rate per
/// task in 1e-6 … 1e-4 for ResNets over 5 epochs; these values were tuned on the digits
/// default so that forget accuracy falls towards test accuracy while retain accuracy
/// stays high). Hyper-parameters: the training keys under `algorithms.gradient-ascent`.
/// Defaults: `epochs` 2, `batch_size` 32, `optimizer` sgd, `learning_rate` 0.01, `momentum` 0.9, `weight_decay` 0,
/// `schedule` constant, `class_weighting` none.
public struct GradientAscent: RecipeAlgorithm {
  public var name: String { "gradient-ascent" }
  public var kind: UnlearningKind { .approximate }
  public var training: TrainingConfig

  public static let defaults = TrainingConfig(
    epochs: 2, batchSize: 32, optimizer: .sgd, learningRate: 0.01, momentum: 0.9, weightDecay: 0, schedule: .constant)

  public init(training: TrainingConfig = GradientAscent.defaults) { self.training = training }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try makeNetwork(request.original, batchSize: training.batchSize)
    try untilDeadline {
      try Trainer.train(
        net, on: request.forget, config: training, seed: Seeds.derive(request.seed, "gradient-ascent", "shuffle"),
        ascend: true,
        deadline: request.deadline)
    }
    return UnlearnedModel(net.weights)
  }
}
