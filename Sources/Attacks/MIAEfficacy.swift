import Foundation
import Harness
import NumericCore

/// "MIA-Efficacy" as Unlearn-Sparse (Jia et al., NeurIPS 2023) and SalUn (Fan et
/// al., ICLR 2024) compute it (spec `attacks-and-metrics.md` §1.3): an RBF SVC
/// (C = 3, γ = 1/features) learns retain (members) against test (non-members)
/// on the model's confidence p_y, then the share of forget examples it calls
/// non-members is reported.
///
/// ```
/// X_cal = p_y(retain[:|test|]) ∪ p_y(test),  y_cal = 1…1, 0…0
/// MIA-Efficacy = mean_{x ∈ forget} 1[ SVC(X_cal, y_cal).predict(p_y(x)) = 0 ]
/// ```
/// Higher means the forget set looks less like training data; the target is the
/// retrained models' value, not 1 (SalUn reports ≈ 13 % for Retrain on CIFAR-10).
public struct MIAEfficacy: PopulationMetric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "mia_efficacy", header: "MIA-Efficacy %", direction: .closestToRetrain,
        description:
          "Unlearn-Sparse/SalUn MIA-Efficacy: RBF SVC (C = 3, γ = 1) on p_y, retain vs test; share of forget examples predicted non-member; mean ± std over models.",
        displayScale: 100, decimals: 1)
    ]
  }

  /// MIA-Efficacy of one model from its logits.
  static func efficacy(
    retain: Tensor, retainLabels: [Int32], test: Tensor, testLabels: [Int32], forget: Tensor, forgetLabels: [Int32]
  ) -> Double {
    func confidence(_ z: Tensor, _ y: [Int32]) -> [[Double]] {
      Signals.probabilities(z).enumerated().map { [$0.element[Int(y[$0.offset])]] }
    }
    let n = Swift.min(retainLabels.count, testLabels.count)
    let members = Array(confidence(retain, retainLabels).prefix(n))
    let nonMembers = confidence(test, testLabels)
    let svc = SVC.fit(
      members + nonMembers,
      labels: Array(repeating: true, count: members.count) + Array(repeating: false, count: nonMembers.count),
      c: 3, gamma: 1)
    let f = confidence(forget, forgetLabels)
    return Double(f.filter { !svc.predict($0) }.count) / Double(Swift.max(f.count, 1))
  }

  /// MIA-Efficacy of every model of a population (cached per scoring pass; Avg. Gap reuses it).
  static func perModel(_ population: Population, _ context: MetricContext) throws -> [Double] {
    let l = context.labels
    let (r, t, f) = (l["retain"]!, l["test"]!, l["forget"]!)
    let models = population.models
    return try context.cache.values("mia_efficacy/\(population.algorithm)/\(models.count)") {
      try WorkerPool.map(count: models.count, workers: context.workers) { i in
        Self.efficacy(
          retain: models[i].logits["retain"]!, retainLabels: r, test: models[i].logits["test"]!, testLabels: t,
          forget: models[i].logits["forget"]!, forgetLabels: f)
      }
    }
  }

  public func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue] {
    let l = context.labels
    guard let r = l["retain"], let t = l["test"], let f = l["forget"], !r.isEmpty, !t.isEmpty, !f.isEmpty else {
      return ["mia_efficacy": MetricValue(mean: nil, note: "needs retain, test and forget examples")]
    }
    return ["mia_efficacy": MetricValue(summarising: try Self.perModel(population, context))]
  }
}
