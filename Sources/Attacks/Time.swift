import Foundation
import Harness
import NumericCore

/// The cost of unlearning in one deletion round: wall time, speed-up over retraining
/// from scratch, and the share of the original training work redone.
///
/// ```
/// seconds   = wall time of the algorithm's unlearn call (one core), mean ± std over models
/// speed-up  = mean retraining time / mean unlearning time
/// work      = example-epochs redone / example-epochs of the original training (SISA; retrain: 1)
/// ```
public struct TimeMetric: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "seconds", header: "time s", direction: .lowerIsBetter,
        description:
          "Wall time of one unlearning run (the algorithm's call only; one core), mean ± std over models.",
        decimals: 4, wallClock: true, category: .cost),
      MetricColumn(
        name: "speedup", header: "speed-up", direction: .higherIsBetter,
        description: "Mean retraining time divided by the mean unlearning time.", decimals: 1, wallClock: true,
        category: .cost, uncertainty: nil),
      MetricColumn(
        name: "work_redone", header: "work redone %", direction: .lowerIsBetter,
        description:
          "Fraction of the original model's training work (example-epochs) redone to unlearn, for algorithms "
          + "that account for it (SISA; retraining redoes all of it).",
        displayScale: 100, decimals: 1, category: .cost),
    ]
  }

  public var inputs: MetricInputs { .timings }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    guard let seconds = input.population.seconds, !seconds.isEmpty else { return missing("no unlearning ran") }
    var t = MetricValue(summarising: seconds)
    t.perExample = seconds  // per model
    let reference = input.retrain.seconds.map { MetricValue(summarising: $0).mean } ?? nil
    let speedup = reference.flatMap { r in t.mean.map { $0 > 0 ? r / $0 : .infinity } }
    let work =
      input.population.workFractions.map { MetricValue(summarising: $0) }
      ?? MetricValue(mean: nil, note: "not reported")
    return ["seconds": t, "speedup": MetricValue(mean: speedup), "work_redone": work]
  }
}
