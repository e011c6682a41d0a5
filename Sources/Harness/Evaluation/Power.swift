import Foundation
import NumericCore

/// Whether a forgetting column can tell doing nothing from retraining on a run: is the
/// original separated from the retrain floor? If not, the column has no power on the run,
/// and a good value in it says nothing about forgetting.
///
/// Two cases, by what the retrain row's value is:
/// - a mean ± std over n models (or model pairs): the original's mean over its k models must lie
///   outside the retrain models' 95 % prediction interval for a mean of k models,
///   m ± t₀.₉₇₅(n − 1) · s · √(1/k + 1/n) (one original is one more draw, not a mean);
/// - a value with a 95 % interval and no spread (an attack's two-way bootstrap, F's bootstrap
///   over examples): the original's interval must not overlap it (or, without one, the
///   original's value must lie outside it).
public struct PowerCheck: Codable, Sendable, Equatable {
  public var column: String
  /// Deletion round (1-based).
  public var round: Int
  public var hasPower: Bool
  /// The original's value.
  public var original: Double
  /// The retrain floor's 95 % interval the original is compared with.
  public var retrainInterval: [Double]
  /// The verdict in words, in the column's display format.
  public var text: String

  enum CodingKeys: String, CodingKey {
    case column, round, original, text
    case hasPower = "has_power"
    case retrainInterval = "retrain_interval"
  }

  /// The check from the original's value (and interval, if any) and the floor's interval; nil
  /// when a number is missing or not finite.
  public init?(_ c: MetricColumn, round: Int, original o: Double?, originalInterval: [Double]?, floor: [Double]?) {
    guard let o, let floor, floor.count == 2, ([o] + floor).allSatisfy(\.isFinite) else { return nil }
    column = c.name
    self.round = round
    original = o
    retrainInterval = floor
    let oi = originalInterval.flatMap { $0.count == 2 && $0.allSatisfy(\.isFinite) ? $0 : nil }
    if let oi {
      hasPower = oi[1] < floor[0] || oi[0] > floor[1]
    } else {
      hasPower = o < floor[0] || o > floor[1]
    }
    let value = c.format(o) + (oi.map { " [\(c.format($0[0])), \(c.format($0[1]))]" } ?? "")
    let range = "\(c.format(floor[0]))–\(c.format(floor[1]))"
    text =
      hasPower
      ? "has power on these runs: the original (\(value)) is separated from the retrain floor (\(range))"
      : "no power on these runs: the original (\(value)) is not separated from the retrain floor (\(range)), "
        + "so this column cannot tell doing nothing from retraining"
  }

  /// The check of a result-table column from the original's and the retrain row's values.
  public init?(_ c: MetricColumn, round: Int, original o: MetricValue?, originalModels k: Int, retrain r: MetricValue?)
  {
    guard let o, let r, let rm = r.mean else { return nil }
    if let s = r.std, let n = r.count, n >= 2, k >= 1 {
      let h = Summary.studentT975(dof: n - 1) * s * (1 / Double(k) + 1 / Double(n)).squareRoot()
      self.init(c, round: round, original: o.mean, originalInterval: nil, floor: [rm - h, rm + h])
    } else {
      self.init(c, round: round, original: o.mean, originalInterval: o.std == nil ? o.interval : nil, floor: r.interval)
    }
  }

  /// The check of every forgetting column in every round of `rows`.
  public static func checks(columns: [MetricColumn], rows: [EvaluationReport.Row]) -> [PowerCheck] {
    var out = [PowerCheck]()
    for r in Set(rows.map(\.round)).sorted() {
      guard let original = rows.first(where: { $0.round == r && $0.role == .original }),
        let retrain = rows.first(where: { $0.round == r && $0.role == .retrain })
      else { continue }
      for c in columns where c.category == .forgetting {
        let check = PowerCheck(
          c, round: r, original: original.metrics[c.name], originalModels: original.models,
          retrain: retrain.metrics[c.name])
        if let check { out.append(check) }
      }
    }
    return out
  }
}
