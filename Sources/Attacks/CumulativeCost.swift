import Foundation
import Harness
import NumericCore

/// The cost of a sequence of deletion requests, summed over the rounds.
///
/// ```
/// total time      = Σ_r mean unlearning time of round r
/// total speed-up  = Σ_r mean retraining time of round r / total time
/// total work      = Σ_r mean work redone in round r        (1 per round for retraining)
/// ```
/// SISA's point (Bourtoule et al., S&P 2021): a request that touches few shards costs a
/// fraction of a retraining, so its advantage grows with the number of requests.
public struct CumulativeCost: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "total_seconds", header: "time s", direction: .lowerIsBetter,
        description: "Unlearning wall time summed over the deletion rounds (each round's mean over models).",
        decimals: 4, table: .acrossRounds, wallClock: true, category: .cost, uncertainty: nil),
      MetricColumn(
        name: "total_speedup", header: "speed-up", direction: .higherIsBetter,
        description: "Retraining time summed over the rounds divided by the unlearning time summed over the rounds.",
        decimals: 1, table: .acrossRounds, wallClock: true, category: .cost, uncertainty: nil),
      MetricColumn(
        name: "total_work_redone", header: "work redone %", direction: .lowerIsBetter,
        description:
          "Fraction of the original training work redone, summed over the rounds (retraining: 100 % a round).",
        displayScale: 100, decimals: 1, table: .acrossRounds, category: .cost, uncertainty: nil),
    ]
  }

  public var inputs: MetricInputs { .timings + .allRounds }

  /// Σ over rounds of the mean of `values`, nil when a round has none.
  static func total(_ rounds: [[Double]?]) -> Double? {
    var sum = 0.0
    for r in rounds {
      guard let v = r, !v.isEmpty else { return nil }
      sum += v.reduce(0, +) / Double(v.count)
    }
    return sum
  }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    guard let time = Self.total(input.rounds.map(\.population.seconds)) else { return missing("no unlearning ran") }
    let reference = Self.total(input.rounds.map(\.retrain.seconds))
    let work = Self.total(input.rounds.map(\.population.workFractions))
    return [
      "total_seconds": MetricValue(mean: time),
      "total_speedup": MetricValue(mean: reference.map { time > 0 ? $0 / time : .infinity }),
      "total_work_redone": work.map { MetricValue(mean: $0) } ?? MetricValue(mean: nil, note: "not reported"),
    ]
  }
}
