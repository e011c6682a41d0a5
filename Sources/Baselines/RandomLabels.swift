import Harness
import Networks
import NumericCore

/// Random labels (Golatkar et al., CVPR 2020; the "RL" baseline of Unlearn-Sparse
/// and SalUn, Fan et al., ICLR 2024): fine-tune the original on the retain set
/// together with the forget set relabelled at random, so the model's
/// confidence on the forget examples is destroyed while retain is refreshed.
///
/// ```
/// ỹ_f ~ Uniform(classes \ {y_f}) once per run;   θ ← Train(θ_original, D_retain ∪ {(x_f, ỹ_f)})
/// ```
/// Hyper-parameters (`algorithms.random-labels`): the training keys, defaulting
/// to 5 epochs of SGD lr 0.05, momentum 0.9, weight decay 5e-4, cosine, batch 64
/// (SalUn's CIFAR-10 RL recipe is 10 epochs at lr 0.013; these values were set on
/// the digits default).
public struct RandomLabels: RecipeAlgorithm {
  public var name: String { "random-labels" }
  public var kind: UnlearningKind { .approximate }
  public var training: TrainingConfig

  public static let defaults = TrainingConfig(
    epochs: 5, batchSize: 64, optimizer: .sgd, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: .cosine)

  public init(training: TrainingConfig = RandomLabels.defaults) { self.training = training }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try makeNetwork(request.original, batchSize: training.batchSize)
    let data = randomlyRelabelled(request, seed: Seeds.derive(request.seed, "random-labels", "labels"))
    try untilDeadline {
      try Trainer.train(
        net, on: data, config: training, seed: Seeds.derive(request.seed, "random-labels", "shuffle"),
        deadline: request.deadline)
    }
    return UnlearnedModel(net.weights)
  }
}

/// The retain set followed by the forget set with every label replaced by a
/// uniformly drawn wrong one (shared by ``RandomLabels`` and ``SalUn``).
func randomlyRelabelled(_ request: UnlearningRequest, seed: UInt64) -> LabeledExamples {
  let k = request.original.architecture.numClasses
  var rng = Xoshiro256StarStar(seed: seed)
  var forget = request.forget
  forget.labels = forget.labels.map { y in
    let draw = rng.nextIndex(below: k - 1)
    return Int32(draw >= Int(y) ? draw + 1 : draw)
  }
  return request.retain.appending(forget)
}
