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
  /// Measured on the digits protocol (512 models per population); a scheduling hint.
  public var relativeCost: Double { 6 }
  public init() {}

  public var columns: [MetricColumn] {
    AttackReport.columns(
      "loss", "loss",
      "Yeom et al., CSF 2018: score −ℓ(x, y); members: forget examples, non-members: test examples.",
      tableAUC: false, roc: "Loss threshold (forget vs test)")
  }

  public var inputs: MetricInputs { .logits(.forget, .test) }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let (f, t) = (try input.labels(.forget), try input.labels(.test))
    let members = try input.population.models.map { Signals.losses(try $0.logits(.forget), f).map { -$0 } }
    let nonMembers = try input.population.models.map { Signals.losses(try $0.logits(.test), t).map { -$0 } }
    guard !f.isEmpty, !t.isEmpty else { return missing("no forget or test examples") }
    let scores = AttackReport.grid(members: members, nonMembers: nonMembers, sharedExamples: false, sharedModels: true)
    return AttackReport.values("loss", scores, seed: input.seed)
  }

  /// The attack's columns from per-example losses of members and non-members of one model
  /// (`unlearn score mia`): every loss its own example; nil when a side is empty.
  public static func values(memberLosses: [Double], nonMemberLosses: [Double], seed: UInt64) -> [String: MetricValue]? {
    guard !memberLosses.isEmpty, !nonMemberLosses.isEmpty else { return nil }
    let scores = AttackReport.grid(
      members: [memberLosses.map { -$0 }], nonMembers: [nonMemberLosses.map { -$0 }], sharedExamples: false,
      sharedModels: true)
    return AttackReport.values("loss", scores, seed: seed)
  }
}
