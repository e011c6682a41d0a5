import Foundation
import Networks
import NumericCore

/// What an unlearning algorithm is given.
public struct UnlearningRequest: Sendable {
  /// The trained model to unlearn from; algorithms must not modify it (it is a value).
  public var original: ModelWeights
  public var forget: LabeledExamples
  public var retain: LabeledExamples
  public var validation: LabeledExamples
  /// The experiment's training recipe (used by retraining-style methods).
  public var training: TrainingConfig
  /// Seed of this run; all of the algorithm's randomness must come from it.
  public var seed: UInt64
  /// Wall-clock budget in seconds (nil: unlimited).
  public var timeBudget: Double?

  public init(
    original: ModelWeights, forget: LabeledExamples, retain: LabeledExamples, validation: LabeledExamples,
    training: TrainingConfig, seed: UInt64, timeBudget: Double? = nil
  ) {
    self.original = original
    self.forget = forget
    self.retain = retain
    self.validation = validation
    self.training = training
    self.seed = seed
    self.timeBudget = timeBudget
  }
}

/// Whether an algorithm removes the forget set's influence exactly.
public enum UnlearningKind: String, Codable, Sendable {
  case exact, approximate
}

/// An unlearning algorithm: given the original model and the data, return the
/// unlearned model. The scikit-learn convention applies: a conforming type
/// stores its hyper-parameters unchanged, validates them in ``unlearn(_:)``,
/// and builds its random generator from the request's seed, so the same
/// request always gives the same model.
public protocol UnlearningAlgorithm: Sendable {
  /// Registry name, e.g. `finetune`.
  var name: String { get }
  var kind: UnlearningKind { get }
  /// The resolved hyper-parameters (defaults included), for results and provenance.
  var hyperParameters: [String: ConfigValue] { get }
  /// Returns the unlearned weights (same architecture as `request.original`).
  func unlearn(_ request: UnlearningRequest) throws -> ModelWeights
}

extension UnlearningAlgorithm {
  public var hyperParameters: [String: ConfigValue] { [:] }
}
