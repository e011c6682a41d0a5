import Harness
import Networks
import NumericCore

/// Retraining from scratch on the retain set: exact unlearning, and the
/// reference every other algorithm is measured against.
///
/// ```
/// θ_r = Train(init(seed), D_retain)     with the original model's recipe
/// ```
/// The initialisation and shuffling come from the request seed; the original
/// weights are used only for their architecture. Hyper-parameters: the keys of
/// the experiment's `training` section, each defaulting to the experiment's
/// value (so by default the recipe is exactly the original model's).
/// Defaults: the training keys: the experiment's recipe.
public struct Retrain: UnlearningAlgorithm {
  public var name: String { "retrain" }
  public var kind: UnlearningKind { .exact }
  /// Training recipe override (nil: the experiment's recipe).
  public var training: TrainingConfig?

  public init(training: TrainingConfig? = nil) { self.training = training }

  /// Reads `algorithms.retrain` (training keys; defaults from the experiment's recipe).
  public init(parameters r: ConfigReader, experimentTraining: TrainingConfig) throws {
    training = try r.training(defaults: experimentTraining)
    try r.finish()
  }

  public var hyperParameters: [String: ConfigValue] { training?.configValues ?? [:] }

  public func validate() throws { try checkRecipe(training, name) }

  /// Fails with ``NetworkError/deadlineExceeded`` when the time budget runs out
  /// (a partly retrained model is not exact unlearning).
  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let recipe = training ?? request.training
    let weights = try Trainer.fromScratch(
      request.original.architecture, on: request.retain, config: recipe,
      initSeed: ScratchSeeds.initialization(request.seed, shard: 0),
      shuffleSeed: ScratchSeeds.shuffle(request.seed, shard: 0, slice: 0), deadline: request.deadline)
    var model = UnlearnedModel(weights)
    model.workFraction = 1
    return model
  }
}
