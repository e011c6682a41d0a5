import Foundation
import Harness
import NumericCore

/// Shared reporting of a membership score: AUC, best balanced accuracy and TPR at
/// 0.1 %, 1 % and 5 % FPR with 95 % Clopper–Pearson intervals (Carlini et al., S&P
/// 2022, argue for TPR at low FPR), from scores pooled over the population's models.
public enum AttackReport {
  /// The FPR levels reported, with their key suffix.
  public static let fprs: [(key: String, alpha: Double)] = [
    ("tpr_at_0.1pct_fpr", 0.001), ("tpr_at_1pct_fpr", 0.01), ("tpr_at_5pct_fpr", 0.05),
  ]

  /// Columns `<prefix>_auc`, `<prefix>_balanced_accuracy`, `<prefix>_tpr_at_*`; `tableTPR` puts TPR@1 % in the
  /// table; `roc` titles the ROC plot the report draws from the AUC column's curve (nil: none).
  public static func columns(
    _ prefix: String, _ title: String, _ source: String, tableAUC: Bool = true, tableTPR: Bool = false,
    roc: String? = nil
  ) -> [MetricColumn] {
    let auc = "\(title): ROC AUC of members against non-members, scores pooled over the models. \(source)"
    let balanced = "\(title): best balanced accuracy ½(TPR + 1 − FPR) over thresholds."
    return [
      MetricColumn(
        name: "\(prefix)_auc", header: "\(title) AUC", direction: .closestToRetrain, description: auc,
        table: tableAUC ? .main : .none, plot: roc.map { .roc(title: $0) }),
      MetricColumn(
        name: "\(prefix)_balanced_accuracy", header: "\(title) bal. acc", direction: .closestToRetrain,
        description: balanced, table: .none),
    ]
      + fprs.map { key, alpha in
        let percent = "\(alpha * 100) %"
        let description =
          "\(title): TPR at FPR ≤ \(percent), with its 95 % Clopper–Pearson interval (interval) and a note when "
          + "the non-members are fewer than 10/α."
        return MetricColumn(
          name: "\(prefix)_\(key)", header: "\(title) TPR@\(alpha * 100)%", direction: .closestToRetrain,
          description: description, displayScale: 100, decimals: 2,
          table: tableTPR && alpha == 0.01 ? .main : .none)
      }
  }

  /// The values of ``columns(_:_:_:tableAUC:tableTPR:roc:)`` for one ROC.
  public static func values(_ prefix: String, _ roc: ROC) -> [String: MetricValue] {
    var out = [String: MetricValue]()
    out["\(prefix)_auc"] = MetricValue(mean: roc.auc, curve: downsampled(roc))
    out["\(prefix)_balanced_accuracy"] = MetricValue(mean: roc.bestBalancedAccuracy)
    for (key, alpha) in fprs {
      let r = roc.tpr(atFPR: alpha)
      let note =
        r.enoughNegatives
        ? nil : "only \(roc.negatives) non-members: FPR \(alpha) cannot be certified (needs ≥ \(Int(10 / alpha)))"
      out["\(prefix)_\(key)"] = MetricValue(
        mean: r.tpr, note: note, interval: [r.tprInterval.lowerBound, r.tprInterval.upperBound])
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
}

/// Per-row output signals of softmax classifiers.
enum Signals {
  /// log(max(v, 1e-30)), the clipping of Song & Mittal.
  static func clippedLog(_ v: Double) -> Double { log(Swift.max(v, 1e-30)) }

  /// p_y of every row of `[n, classes]` logits.
  static func trueClassProbabilities(_ logits: Tensor, _ labels: [Int32]) -> [Double] {
    Softmax.probabilities(logits).enumerated().map { $0.element[Int(labels[$0.offset])] }
  }

  /// Per-example cross-entropy −log softmax(z)[y], in float64.
  static func losses(_ logits: Tensor, _ labels: [Int32]) -> [Double] {
    Softmax.logProbabilities(logits, labels: labels).map { -$0 }
  }
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

  init?(_ input: MetricInput) {
    let r = input.retrained
    let half = r.models.count / 2
    guard half >= 2 else { return nil }
    references = r.slice(0..<half)
    let held = r.slice(half..<r.models.count)
    if input.isReference {
      let q = held.models.count / 2
      guard q >= 1 else { return nil }
      members = held.slice(0..<q)
      nonMembers = held.slice(q..<(2 * q))
    } else {
      guard !input.population.models.isEmpty else { return nil }
      members = input.population
      nonMembers = held
    }
  }
}
