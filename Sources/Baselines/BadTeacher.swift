import Harness
import Networks
import NumericCore

/// Bad Teacher (Chundawat, Tarun, Mandal & Kankanhalli, "Can Bad Teaching Induce
/// Forgetting?", AAAI 2023): distil the original into itself on the retain set
/// (the competent teacher) and a randomly initialised network into it on the
/// forget set (the incompetent teacher).
///
/// ```
/// targets: p_original(x) for x in a random subset of retain,  p_random(x) for x in forget
/// θ ← θ_original;  minimise  KL(targets ‖ p_θ)  (soft-target cross-entropy, temperature 1)
/// ```
/// Hyper-parameters (`algorithms.bad-teacher`): `retain_fraction` (default 0.3, the
/// paper's share of retain data) and the training keys, defaulting to the paper's
/// Adam at lr 1e-4 but for 5 epochs (the paper's 1 epoch over a CIFAR-sized set is
/// many more steps than over digits), batch 64, no weight decay, constant.
/// Defaults: `retain_fraction` 0.3, `epochs` 5, `batch_size` 64, `optimizer` adam, `learning_rate` 0.0001, `momentum`
/// 0.9, `weight_decay` 0, `schedule` constant, `class_weighting` none.
public struct BadTeacher: UnlearningAlgorithm {
  public var name: String { "bad-teacher" }
  public var kind: UnlearningKind { .approximate }
  public var retainFraction: Double
  public var training: TrainingConfig

  public static let defaults = TrainingConfig(
    epochs: 5, batchSize: 64, optimizer: .adam, learningRate: 1e-4, momentum: 0.9, weightDecay: 0, schedule: .constant)

  public init(retainFraction: Double = 0.3, training: TrainingConfig = BadTeacher.defaults) {
    self.retainFraction = retainFraction
    self.training = training
  }

  public init(parameters r: ConfigReader) throws {
    retainFraction = try r.double("retain_fraction", default: 0.3)
    training = try r.training(defaults: Self.defaults)
    try r.finish()
  }

  public func validate() throws {
    try check(
      retainFraction > 0 && retainFraction <= 1, name, "retain_fraction", "must be in (0, 1], got \(retainFraction)")
    try checkRecipe(training, name)
  }

  public var hyperParameters: [String: ConfigValue] {
    training.configValues.merging(["retain_fraction": .double(retainFraction)]) { $1 }
  }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try makeNetwork(request.original, batchSize: training.batchSize)
    let bad = try Network.initialized(
      request.original.architecture, seed: Seeds.derive(request.seed, "bad-teacher", "init"), batchSize: 256)
    var rng = Xoshiro256StarStar(seed: Seeds.derive(request.seed, "bad-teacher", "subset"))
    let keep = Int((retainFraction * Double(request.retain.count)).rounded())
    let retain = request.retain.subset(rng.permutation(request.retain.count).prefix(keep).sorted())
    let data = retain.appending(request.forget)
    let good = softmaxRows(net.logits(retain.features)), noise = softmaxRows(bad.logits(request.forget.features))
    let targets = Tensor(shape: [data.count, good.rowLength], scalars: good.scalars + noise.scalars)
    try untilDeadline {
      try Trainer.train(
        net, on: data, config: training, seed: Seeds.derive(request.seed, "bad-teacher", "shuffle"),
        softTargets: targets,
        deadline: request.deadline)
    }
    return UnlearnedModel(net.weights)
  }
}
