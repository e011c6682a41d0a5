import Foundation
import Harness
import NumericCore

/// The loss-threshold attack (Yeom, Giacomelli, Fredrikson & Jha, CSF 2018):
/// an example is a member when its loss is low.
///
/// ```
/// s(x) = −ℓ(x, y) = log softmax(z)_y;   member ⟺ s(x) ≥ τ, τ swept over all values (full ROC)
/// ```
/// Members are the forget examples, non-members the test examples, under each of
/// the population's models; the scores of all models are pooled into one ROC.
/// A perfect unlearner matches the retrained models' curve (near the diagonal).
public struct LossThresholdAttack: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    AttackReport.columns(
      "loss", "loss",
      "Yeom et al., CSF 2018: score −ℓ(x, y); members: forget examples, non-members: test examples.",
      tableAUC: false, roc: "Loss threshold (forget vs test)")
  }

  public var inputs: MetricInputs { .logits(.forget, .test) }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    var members = [Double](), nonMembers = [Double]()
    for m in input.population.models {
      members += Signals.losses(try m.logits(.forget), try input.labels(.forget))
      nonMembers += Signals.losses(try m.logits(.test), try input.labels(.test))
    }
    return Self.values(memberLosses: members, nonMemberLosses: nonMembers) ?? missing("no forget or test examples")
  }

  /// The attack's columns from per-example losses of members and non-members (nil when a side is empty).
  public static func values(memberLosses: [Double], nonMemberLosses: [Double]) -> [String: MetricValue]? {
    guard !memberLosses.isEmpty, !nonMemberLosses.isEmpty else { return nil }
    return AttackReport.values("loss", ROC(positives: memberLosses.map { -$0 }, negatives: nonMemberLosses.map { -$0 }))
  }
}
