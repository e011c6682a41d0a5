import Harness
import Networks
import NumericCore

/// ℓ1-sparse fine-tuning (Jia et al., "Model Sparsity Can Simplify Machine
/// Unlearning", NeurIPS 2023): fine-tune on the retain set with an ℓ1 penalty
/// that pushes the model towards sparsity, which the paper finds closes much of
/// the gap to retraining.
///
/// ```
/// L(θ) = L_retain(θ) + γ_e·‖θ‖₁,    γ_e = γ·(1 − e/E)   (linear decay, as the authors' code)
/// ```
/// Hyper-parameters (`algorithms.l1-sparse`): `gamma` (default 5e-4, the paper's
/// CIFAR-10 value) and the training keys, defaulting to finetune's (5 epochs, SGD
/// lr 0.1, momentum 0.9, weight decay 5e-4, cosine, batch 64).
/// Defaults: `gamma` 0.0005, `epochs` 5, `batch_size` 64, `optimizer` sgd, `learning_rate` 0.1, `momentum` 0.9,
/// `weight_decay` 0.0005, `schedule` cosine, `class_weighting` none.
public struct L1Sparse: UnlearningAlgorithm {
  public var name: String { "l1-sparse" }
  public var kind: UnlearningKind { .approximate }
  public var gamma: Double
  public var training: TrainingConfig

  public init(gamma: Double = 5e-4, training: TrainingConfig = Finetune.defaults) {
    self.gamma = gamma
    self.training = training
  }

  public init(parameters r: ConfigReader) throws {
    gamma = try r.double("gamma", default: 5e-4)
    training = try r.training(defaults: Finetune.defaults)
    try r.finish()
  }

  public func validate() throws {
    try check(gamma >= 0 && gamma.isFinite, name, "gamma", "must be a number ≥ 0, got \(gamma)")
    try checkRecipe(training, name)
  }

  public var hyperParameters: [String: ConfigValue] { training.configValues.merging(["gamma": .double(gamma)]) { $1 } }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try makeNetwork(request.original, batchSize: training.batchSize)
    let epochs = training.epochs
    try untilDeadline {
      try Trainer.train(
        net, on: request.retain, config: training, seed: Seeds.derive(request.seed, "l1-sparse", "shuffle"),
        transform: { net, epoch in
          let g = Float(gamma * (1 - Double(epoch) / Double(Swift.max(epochs, 1))))
          Kernels.addScaledSign(of: net.parameters.view, scale: g, into: net.gradients.view)
        }, deadline: request.deadline)
    }
    return UnlearnedModel(net.weights)
  }
}
