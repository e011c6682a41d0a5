import Harness
import Networks
import NumericCore

/// Fine-tuning on the retain set ("catastrophic forgetting" as unlearning):
/// continue training the original model on D_retain only, hoping the forget
/// set's influence fades.
///
/// ```
/// θ ← θ_original;   repeat E epochs:  θ ← θ − η_e (∇L_retain(θ) + λθ)   (SGD, momentum μ)
/// ```
/// The NeurIPS 2023 challenge's baseline (Triantafillou et al., 2024; starting kit
/// `unlearning-CIFAR10.ipynb`) is this method: 5 epochs of SGD (lr 0.1, momentum 0.9,
/// weight decay 5e-4, cosine annealing) for a CIFAR-10 ResNet-18, and 1 epoch at
/// lr 1e-3 in the competition's scorer.
///
/// Hyper-parameters (`algorithms.finetune`, the training keys) and defaults, the starting
/// kit's: `epochs` 5, `optimizer` sgd, `learning_rate` 0.1, `momentum` 0.9, `weight_decay`
/// 5e-4, `schedule` cosine, `class_weighting` none; `batch_size` 64 (the digits recipe's;
/// the kit used 128 for 45 000 images). On the digits default, rates 0.01–0.03 leave the
/// forget accuracy at the original's, and 0.1 moves it half-way to the retrained models'.
/// Defaults: `epochs` 5, `batch_size` 64, `optimizer` sgd, `learning_rate` 0.1, `momentum` 0.9, `weight_decay`
/// 0.0005, `schedule` cosine, `class_weighting` none.
public struct Finetune: RecipeAlgorithm {
  public var name: String { "finetune" }
  public var kind: UnlearningKind { .approximate }
  public var training: TrainingConfig

  public static let defaults = TrainingConfig(
    epochs: 5, batchSize: 64, optimizer: .sgd, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, schedule: .cosine)

  public init(training: TrainingConfig = Finetune.defaults) { self.training = training }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try makeNetwork(request.original, batchSize: training.batchSize)
    try untilDeadline {
      try Trainer.train(
        net, on: request.retain, config: training, seed: Seeds.derive(request.seed, "finetune", "shuffle"),
        deadline: request.deadline)
    }
    return UnlearnedModel(net.weights)
  }
}
