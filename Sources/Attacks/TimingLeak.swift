import Foundation
import Harness
import NumericCore

/// The timing side channel of sequential deletion requests: does the unlearning wall
/// time tell which forget set was removed? An exact method whose cost depends on the
/// request (SISA retrains only the shards a request touches) can leak it even when its
/// outputs do not (cf. Bourtoule et al., S&P 2021, on the cost of a request).
///
/// ```
/// a, b = the rounds with the least and the most work redone (or, without work figures,
///        the fastest and the slowest by median time)
/// leak = 2·|AUC(times of round b against times of round a) − ½|
/// ```
/// 0: time says nothing about which request was served; 1: it tells them apart perfectly.
public struct TimingLeak: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "timing_leak", header: "timing leak", direction: .lowerIsBetter,
        description:
          "Timing side channel (needs ≥ 2 deletion rounds): 2·|AUC − ½| of the unlearning wall times of the "
          + "round with the least work redone (or the fastest round) against the round with the most (or the "
          + "slowest). 0: time says nothing about which forget set was removed; 1: it tells them apart perfectly.",
        decimals: 2, table: .acrossRounds, wallClock: true, uncertainty: nil)
    ]
  }

  public var inputs: MetricInputs { .timings + .allRounds }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let times = input.rounds.compactMap(\.population.seconds)
    guard input.rounds.count > 1 else { return missing("needs at least 2 deletion rounds") }
    guard times.count == input.rounds.count, times.allSatisfy({ !$0.isEmpty }) else {
      return missing("no unlearning ran")
    }
    let work = input.rounds.map { $0.population.workFractions.map { $0.reduce(0, +) / Double($0.count) } }
    let byWork = work.allSatisfy { $0 != nil } && Set(work.compactMap { $0 }).count > 1
    let key: [Double] = byWork ? work.map { $0 ?? 0 } : times.map { t in t.sorted()[t.count / 2] }
    guard let lo = key.indices.min(by: { key[$0] < key[$1] }), let hi = key.indices.max(by: { key[$0] < key[$1] })
    else { return missing("no rounds") }
    let auc = ROC(positives: times[hi], negatives: times[lo]).auc
    let which = byWork ? "least and most work redone" : "fastest and slowest"
    let note = "rounds \(lo + 1) and \(hi + 1) (\(which)); time AUC \(String(format: "%.3f", auc))"
    return ["timing_leak": MetricValue(mean: 2 * abs(auc - 0.5), note: note)]
  }
}
