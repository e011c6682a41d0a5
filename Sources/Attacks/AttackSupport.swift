import Foundation
import Harness
import NumericCore

/// Shared reporting of a membership score: AUC, best balanced accuracy and TPR at
/// 0.1 %, 1 % and 5 % FPR with 95 % Clopper–Pearson intervals (spec
/// `attacks-and-metrics.md` §7.3), from scores pooled over the population's models.
enum AttackReport {
  static let fprs: [(String, Double)] = [
    ("tpr_at_0.1pct_fpr", 0.001), ("tpr_at_1pct_fpr", 0.01), ("tpr_at_5pct_fpr", 0.05),
  ]

  /// Columns `<prefix>_auc`, `<prefix>_balanced_accuracy`, `<prefix>_tpr_at_*`; `tableTPR` puts TPR@1 % in the table.
  static func columns(
    _ prefix: String, _ title: String, _ source: String, tableAUC: Bool = true, tableTPR: Bool = false
  ) -> [MetricColumn] {
    [
      MetricColumn(
        name: "\(prefix)_auc", header: "\(title) AUC", direction: .closestToRetrain,
        description: "\(title): ROC AUC of members against non-members, scores pooled over the models. \(source)",
        inTable: tableAUC),
      MetricColumn(
        name: "\(prefix)_balanced_accuracy", header: "\(title) bal. acc", direction: .closestToRetrain,
        description: "\(title): best balanced accuracy ½(TPR + 1 − FPR) over thresholds.", inTable: false),
    ]
      + fprs.map { key, alpha in
        MetricColumn(
          name: "\(prefix)_\(key)", header: "\(title) TPR@\(alpha * 100)%", direction: .closestToRetrain,
          description:
            "\(title): TPR at FPR ≤ \(alpha * 100) %, with its 95 % Clopper–Pearson interval (interval) and a note when the non-members are fewer than 10/α.",
          displayScale: 100, decimals: 2, inTable: tableTPR && alpha == 0.01)
      }
  }

  /// The values of ``columns(_:_:_:tableAUC:tableTPR:)`` for one ROC.
  static func values(_ prefix: String, _ roc: ROC) -> [String: MetricValue] {
    var out = [String: MetricValue]()
    out["\(prefix)_auc"] = MetricValue(mean: roc.auc, curve: downsampled(roc))
    out["\(prefix)_balanced_accuracy"] = MetricValue(mean: roc.bestBalancedAccuracy)
    for (key, alpha) in fprs {
      let r = roc.tpr(atFPR: alpha)
      out["\(prefix)_\(key)"] = MetricValue(
        mean: r.tpr,
        note: r.enoughNegatives
          ? nil : "only \(roc.negatives) non-members: FPR \(alpha) cannot be certified (needs ≥ \(Int(10 / alpha)))",
        interval: [r.tprInterval.lowerBound, r.tprInterval.upperBound])
    }
    return out
  }

  /// At most ~150 ROC points, spread evenly in log FPR (for log-log plots).
  static func downsampled(_ roc: ROC) -> [[Double]] {
    var out = [[Double]]()
    var lastLog = -Double.infinity
    for k in roc.fpr.indices {
      let f = roc.fpr[k]
      let l = log10(Swift.max(f, 1e-6))
      if k == 0 || k == roc.fpr.count - 1 || l - lastLog >= 0.04 {
        out.append([f, roc.tpr[k]])
        lastLog = l
      }
    }
    return out
  }

  /// Values saying why an attack could not run.
  static func missing(_ columns: [MetricColumn], _ why: String) -> [String: MetricValue] {
    Dictionary(uniqueKeysWithValues: columns.map { ($0.name, MetricValue(mean: nil, note: why)) })
  }
}

/// Per-row output signals of softmax classifiers.
enum Signals {
  /// softmax(z) of every row, in float64.
  static func probabilities(_ z: Tensor) -> [[Double]] {
    let k = z.rowLength
    return (0..<z.rows).map { i in
      let row = z.scalars[(i * k)..<((i + 1) * k)].map(Double.init)
      let m = row.max()!
      let e = row.map { exp($0 - m) }
      let s = e.reduce(0, +)
      return e.map { $0 / s }
    }
  }

  /// log(max(v, 1e-30)), the clipping of Song & Mittal.
  static func clippedLog(_ v: Double) -> Double { log(Swift.max(v, 1e-30)) }
}

/// How the per-example attacks (LiRA, RMIA) use the retrained population, U-MIA
/// style (Hayes et al., SaTML 2025): candidates are the forget examples; members
/// are those examples under the attacked models (trained on, then unlearned) and
/// non-members the same examples under retrained models that are not references
/// (never seen). The retrained models are split in halves: the first half are the
/// OUT references, the second half give the non-members. The retrained row itself
/// compares the two quarters of that second half, so an exact method sits at chance.
struct PerExampleSplit {
  var references: Population
  var members: Population
  var nonMembers: Population

  init?(_ population: Population, _ context: MetricContext) {
    let r = context.retrained
    let half = r.models.count / 2
    guard half >= 2 else { return nil }
    references = r.slice(0..<half)
    let held = r.slice(half..<r.models.count)
    if context.isReference {
      let q = held.models.count / 2
      guard q >= 1 else { return nil }
      members = held.slice(0..<q)
      nonMembers = held.slice(q..<(2 * q))
    } else {
      guard !population.models.isEmpty else { return nil }
      members = population
      nonMembers = held
    }
  }
}
