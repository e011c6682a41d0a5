import Foundation
import Harness
import NumericCore

/// SalUn's "Avg. Gap" (Fan et al., ICLR 2024):
/// the mean absolute difference to the retrained models over four numbers, in
/// percentage points:
///
/// ```
/// Avg. Gap = mean{ |UA_u − UA_r|, |MIA_u − MIA_r|, |RA_u − RA_r|, |TA_u − TA_r| }
/// UA = 100 − forget accuracy, MIA = MIA-Efficacy (see ``MIAEfficacy``), RA / TA = retain / test accuracy
/// ```
/// each a mean over the population's models. The retrain row compares the two
/// halves of the retrained population (the noise floor).
public struct AccuracyGap: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "avg_gap", header: "Avg. Gap", direction: .lowerIsBetter,
        description:
          "SalUn's Avg. Gap: mean of |ΔUA|, |ΔMIA-Efficacy|, |ΔRA|, |ΔTA| to the retrained models, percentage "
          + "points (per-metric gaps in per_example: UA, MIA, RA, TA).",
        decimals: 2, category: .composite, uncertainty: nil)
    ]
  }

  public var inputs: MetricInputs { .logits(.forget, .retain, .test) }

  /// UA, MIA-Efficacy, RA and TA (percent) of a population: means over its models.
  static func figures(_ p: Population, mia: [Double], _ input: MetricInput) throws -> [Double] {
    func acc(_ s: Split) throws -> Double {
      let a = try p.accuracies(s, labels: try input.labels(s))
      return 100 * a.reduce(0, +) / Double(a.count)
    }
    return [100 - (try acc(.forget)), 100 * mia.reduce(0, +) / Double(mia.count), try acc(.retain), try acc(.test)]
  }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    guard let (u, r, note) = input.comparison() else { return missing("needs models on both sides") }
    // Per-model MIA-Efficacy of the whole populations (cached), sliced like the comparison.
    let retrainedMIA = try MIAEfficacy.perModel(input.reference, input)
    let (miaU, miaR): ([Double], [Double])
    if input.isReference {
      let half = u.models.count
      (miaU, miaR) = (Array(retrainedMIA[0..<half]), Array(retrainedMIA[half..<(2 * half)]))
    } else {
      (miaU, miaR) = (try MIAEfficacy.perModel(input.population, input), retrainedMIA)
    }
    let a = try Self.figures(u, mia: miaU, input), b = try Self.figures(r, mia: miaR, input)
    let gaps = zip(a, b).map { abs($0 - $1) }
    return ["avg_gap": MetricValue(mean: gaps.reduce(0, +) / 4, perExample: gaps, note: note)]
  }
}
