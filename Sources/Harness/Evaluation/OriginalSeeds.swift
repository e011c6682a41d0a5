import Foundation
import Networks
import NumericCore

/// Models trained from scratch on the whole training set (forget included)
/// with different seeds: the population an unlearning algorithm that does
/// nothing would produce, and the IN references of the per-example attacks
/// (LiRA online, RMIA online): "IN = originals, OUT = retrains", the CPU-scale
/// stand-in for U-LiRA's shadow runs (Hayes et al., SaTML 2025).
///
/// It ignores the request's forget and retain sets: in every deletion round it
/// returns the same model, trained once on the training split.
public struct OriginalSeeds: UnlearningAlgorithm {
  public static let name = Role.originalSeedsName
  public var name: String { Self.name }
  public var kind: UnlearningKind { .exact }
  /// The training split (ids sorted).
  public var train: LabeledExamples

  public init(train: LabeledExamples) { self.train = train }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    if request.own != nil { return UnlearnedModel(request.original) }  // later rounds: unchanged
    let weights = try Trainer.fromScratch(
      request.original.architecture, on: train, config: request.training,
      initSeed: Seeds.derive(request.seed, "original-seeds", "init"),
      shuffleSeed: Seeds.derive(request.seed, "original-seeds", "shuffle"), deadline: request.deadline)
    var m = UnlearnedModel(weights)
    m.state = "trained"
    return m
  }
}
