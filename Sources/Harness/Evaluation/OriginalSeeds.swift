import Foundation
import Networks
import NumericCore

/// Models trained from scratch on the whole training set (forget included)
/// with different seeds: the population an unlearning algorithm that does
/// nothing would produce, and the IN references of the per-example attacks
/// (LiRA online, RMIA online), as spec `attacks-and-metrics.md` §4 proposes
/// for a CPU harness ("IN = originals, OUT = retrains").
///
/// It ignores the request's forget and retain sets: in every deletion round it
/// returns the same model, trained once on the training split.
public struct OriginalSeeds: UnlearningAlgorithm {
  public static let name = "original-seeds"
  public var name: String { Self.name }
  public var kind: UnlearningKind { .exact }
  /// The training split (ids sorted).
  public var train: LabeledExamples

  public init(train: LabeledExamples) { self.train = train }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    if request.own != nil { return UnlearnedModel(request.original) }  // later rounds: unchanged
    let recipe = request.training
    let net = try Network(architecture: request.original.architecture, maxBatch: Swift.max(recipe.batchSize, 256))
    net.initialize(seed: Seeds.derive(request.seed, "original-seeds", "init"))
    try Trainer.train(
      net, on: train, config: recipe, seed: Seeds.derive(request.seed, "original-seeds", "shuffle"),
      deadline: request.deadline)
    var m = UnlearnedModel(net.weights)
    m.state = "trained"
    return m
  }
}
