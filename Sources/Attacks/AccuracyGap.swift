import Foundation
import Harness
import NumericCore

/// SalUn's "Avg. Gap" (Fan et al., ICLR 2024; spec `attacks-and-metrics.md` §6.5):
/// the mean absolute difference to the retrained models over four numbers, in
/// percentage points:
///
/// ```
/// Avg. Gap = mean{ |UA_u − UA_r|, |MIA_u − MIA_r|, |RA_u − RA_r|, |TA_u − TA_r| }
/// UA = 100 − forget accuracy, MIA = MIA-Efficacy (see ``MIAEfficacy``), RA / TA = retain / test accuracy
/// ```
/// each a mean over the population's models. The retrain row compares the two
/// halves of the retrained population (the noise floor).
public struct AccuracyGap: PopulationMetric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "avg_gap", header: "Avg. Gap", direction: .lowerIsBetter,
        description:
          "SalUn's Avg. Gap: mean of |ΔUA|, |ΔMIA-Efficacy|, |ΔRA|, |ΔTA| to the retrained models, percentage points (per-metric gaps in per_example: UA, MIA, RA, TA).",
        decimals: 2)
    ]
  }

  /// UA, MIA-Efficacy, RA and TA (percent) of a population: means over its models.
  static func figures(_ p: Population, mia: [Double], _ context: MetricContext) -> [Double] {
    let l = context.labels
    func acc(_ s: String) -> Double {
      let a = p.accuracies(s, labels: l[s]!)
      return 100 * a.reduce(0, +) / Double(a.count)
    }
    return [100 - acc("forget"), 100 * mia.reduce(0, +) / Double(mia.count), acc("retain"), acc("test")]
  }

  public func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue] {
    guard let (u, r, note) = context.comparison(population) else {
      return ["avg_gap": MetricValue(mean: nil, note: "needs models on both sides")]
    }
    // Per-model MIA-Efficacy of the whole populations (cached), sliced like the comparison.
    let retrainedMIA = try MIAEfficacy.perModel(context.retrained, context)
    let (miaU, miaR): ([Double], [Double])
    if context.isReference {
      let half = u.models.count
      (miaU, miaR) = (Array(retrainedMIA[0..<half]), Array(retrainedMIA[half..<(2 * half)]))
    } else {
      (miaU, miaR) = (try MIAEfficacy.perModel(population, context), retrainedMIA)
    }
    let a = Self.figures(u, mia: miaU, context), b = Self.figures(r, mia: miaR, context)
    let gaps = zip(a, b).map { abs($0 - $1) }
    return ["avg_gap": MetricValue(mean: gaps.reduce(0, +) / 4, perExample: gaps, note: note)]
  }
}
