import Foundation
import Harness
import NumericCore

/// "MIA-Efficacy" as Unlearn-Sparse (Jia et al., NeurIPS 2023) and SalUn (Fan et
/// al., ICLR 2024) compute it: an RBF SVC
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
public struct MIAEfficacy: Metric {
  /// Measured on the digits protocol (512 models per population); a scheduling hint.
  public var relativeCost: Double { 2 }
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "mia_efficacy", header: "MIA-Efficacy %", direction: .closestToRetrain,
        description:
          "Unlearn-Sparse/SalUn MIA-Efficacy: RBF SVC (C = 3, γ = 1) on p_y, retain vs test; share of forget "
          + "examples predicted non-member; mean ± std over models.",
        displayScale: 100, decimals: 1, category: .forgetting)
    ]
  }

  public var inputs: MetricInputs { .logits(.forget, .retain, .test) }

  /// MIA-Efficacy of one model from its logits.
  static func efficacy(_ model: ModelOutputs, labels: PerSplit<[Int32]>) throws -> Double {
    // p_y of the first `count` examples of a split (the members are a prefix of retain).
    func confidence(_ split: Split, first count: Int? = nil) throws -> [[Double]] {
      let y = labels[split]
      return Signals.trueClassProbabilities(try model.logits(split), Array(y.prefix(count ?? y.count))).map { [$0] }
    }
    let n = Swift.min(labels.retain.count, labels.test.count)
    let members = try confidence(.retain, first: n)
    let nonMembers = try confidence(.test)
    guard !members.isEmpty, !nonMembers.isEmpty else {
      throw HarnessError("MIA-Efficacy", "needs retain and test examples to fit its attack")
    }
    let svc = SVC.fit(
      members + nonMembers,
      labels: Array(repeating: true, count: members.count) + Array(repeating: false, count: nonMembers.count),
      c: 3, gamma: 1)
    let f = try confidence(.forget)
    return Double(svc.decisions(f).filter { !($0 > 0) }.count) / Double(Swift.max(f.count, 1))
  }

  /// MIA-Efficacy of every model of a population (cached per scoring pass; Avg. Gap reuses it).
  static func perModel(_ population: Population, _ input: MetricInput) throws -> [Double] {
    let labels = PerSplit(
      forget: try input.labels(.forget), retain: try input.labels(.retain), test: try input.labels(.test),
      validation: [], audit: [])
    let models = population.models
    let key = "mia_efficacy/\(population.name)/\(population.jobIndices.map(String.init).joined(separator: ","))"
    return try input.cache.values(key) {
      try WorkerPool.map(count: models.count, workers: input.workers) { i in
        try Self.efficacy(models[i], labels: labels)
      }
    }
  }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let needed: [Split] = [.retain, .test, .forget]
    guard try needed.allSatisfy({ try !input.labels($0).isEmpty }) else {
      return missing("needs retain, test and forget examples")
    }
    return ["mia_efficacy": MetricValue(summarising: try Self.perModel(input.population, input))]
  }
}
