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
public struct LossThresholdAttack: PopulationMetric {
  public init() {}

  public var columns: [MetricColumn] {
    AttackReport.columns(
      "loss", "loss", "Yeom et al., CSF 2018: score −ℓ(x, y); members: forget examples, non-members: test examples.",
      tableAUC: false)
  }

  public func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue] {
    var pos = [Double](), neg = [Double]()
    for m in population.models {
      pos += KitMIA.crossEntropyLosses(logits: m.logits["forget"]!, labels: context.labels["forget"]!).map { -$0 }
      neg += KitMIA.crossEntropyLosses(logits: m.logits["test"]!, labels: context.labels["test"]!).map { -$0 }
    }
    guard !pos.isEmpty, !neg.isEmpty else { return AttackReport.missing(columns, "no forget or test examples") }
    return AttackReport.values("loss", ROC(positives: pos, negatives: neg))
  }
}
