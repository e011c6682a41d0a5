import Harness
import Networks

/// An algorithm whose hyper-parameters are one training recipe (the keys of
/// the experiment's `training` section, with the algorithm's own defaults).
/// Conforming types get reading from the configuration and reporting for free.
public protocol RecipeAlgorithm: UnlearningAlgorithm {
  /// The documented defaults.
  static var defaults: TrainingConfig { get }
  var training: TrainingConfig { get }
  init(training: TrainingConfig)
}

extension RecipeAlgorithm {
  /// Reads `algorithms.<name>`: training keys, missing ones taking ``defaults``; unknown keys are errors.
  public init(parameters r: ConfigReader) throws {
    let training = try r.training(defaults: Self.defaults)
    try r.finish()
    self.init(training: training)
  }

  public var hyperParameters: [String: ConfigValue] { training.configValues }

  /// The recipe's keys in range (``TrainingConfig/validate()``).
  public func validate() throws { try checkRecipe(training, name) }
}
