import Harness
import Networks
import NumericCore

/// Random labels (Golatkar et al., CVPR 2020; the "RL" baseline of Unlearn-Sparse
/// and SalUn, Fan et al., ICLR 2024): fine-tune the original on the retain set
/// together with the forget set relabelled at random, so the model's
/// confidence on the forget examples is destroyed while retain is refreshed.
///
/// ```
/// every epoch e:  ỹ_f ~ Uniform{0, …, C − 1};   θ ← one epoch of SGD on D_retain ∪ {(x_f, ỹ_f)}
/// ```
/// The labels are redrawn every epoch and uniformly over all classes, as the authors'
/// code (OPTML-Group/Unlearn-Saliency `unlearn/RL.py`: `np.random.randint(0, num_classes)`
/// for every call, one call per epoch), so a forget label stays right with probability 1/C.
/// Defaults: `epochs` 5, `batch_size` 64, `optimizer` sgd, `learning_rate` 0.05, `momentum` 0.9,
/// `weight_decay` 0.0005, `schedule` cosine, `class_weighting` none (SalUn's CIFAR-10 RL recipe
/// is 10 epochs at lr 0.013; these values were set on the digits default).
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
    var labels = RandomLabelDraws(request, seed: Seeds.derive(request.seed, "random-labels", "labels"))
    try untilDeadline {
      try Trainer.train(
        net, on: labels.data, config: training, seed: Seeds.derive(request.seed, "random-labels", "shuffle"),
        relabel: { _, y in labels.redraw(&y) }, deadline: request.deadline)
    }
    return UnlearnedModel(net.weights)
  }
}

/// The retain set followed by the forget set, whose labels are redrawn uniformly over all
/// classes at the start of every epoch (shared by ``RandomLabels`` and ``SalUn``).
struct RandomLabelDraws {
  /// Retain, then forget (labels as given until the first redraw).
  let data: LabeledExamples
  let forgetStart: Int
  let classes: Int
  var rng: Xoshiro256StarStar

  init(_ request: UnlearningRequest, seed: UInt64) {
    data = request.retain.appending(request.forget)
    forgetStart = request.retain.count
    classes = request.original.architecture.numClasses
    rng = Xoshiro256StarStar(seed: seed)
  }

  /// New random labels for the forget rows of `labels`.
  mutating func redraw(_ labels: inout [Int32]) {
    for i in forgetStart..<labels.count { labels[i] = Int32(rng.nextIndex(below: classes)) }
  }
}
