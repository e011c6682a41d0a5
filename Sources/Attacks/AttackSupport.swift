import Foundation
import Harness
import NumericCore

/// Shared reporting of a membership score: AUC, best balanced accuracy and TPR at
/// 0.1 %, 1 % and 5 % FPR (Carlini et al., S&P 2022, argue for TPR at low FPR), from the
/// scores of every (model, example) pair pooled into one ROC, each with a 95 % interval
/// from the two-way bootstrap over models and examples (``TwoWayBootstrap``).
///
/// A TPR at FPR α is certified only with at least 10/α distinct non-member examples
/// (ten false positives at that rate): the examples, not the pooled pairs, limit how
/// finely a false-positive rate is resolved, because a pair's score is mostly its example's.
public enum AttackReport {
  /// The FPR levels reported, with their key suffix.
  public static let fprs: [(key: String, alpha: Double)] = [
    ("tpr_at_0.1pct_fpr", 0.001), ("tpr_at_1pct_fpr", 0.01), ("tpr_at_5pct_fpr", 0.05),
  ]

  /// Bootstrap replicates of every interval.
  public static let replicates = 400

  /// What an attack column's interval resamples.
  public static let uncertainty =
    "95 % interval: percentile bootstrap over the models and the examples, both resampled (two-way, "
    + "\(replicates) replicates); the point is the pooled ROC of every (model, example) pair."

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
        name: "\(prefix)_auc", header: "\(title) AUC", direction: .closestToIdeal, description: auc,
        table: tableAUC ? .main : .none, plot: roc.map { .roc(title: $0) }, ideal: 0.5, category: .forgetting,
        uncertainty: uncertainty),
      MetricColumn(
        name: "\(prefix)_balanced_accuracy", header: "\(title) bal. acc", direction: .closestToIdeal,
        description: balanced, table: .none, ideal: 0.5, category: .forgetting, uncertainty: uncertainty),
    ]
      + fprs.map { key, alpha in
        let percent = String(format: "%g %%", alpha * 100)
        let description =
          "\(title): TPR at FPR ≤ \(percent) (a useless attack's TPR equals the FPR), flagged when it "
          + "cannot be certified (fewer than 10/α distinct non-member examples)."
        return MetricColumn(
          name: "\(prefix)_\(key)", header: "\(title) TPR@" + String(format: "%g%%", alpha * 100),
          direction: .closestToIdeal,
          description: description, displayScale: 100, decimals: 2,
          table: tableTPR && alpha == 0.01 ? .main : .none, ideal: alpha, category: .forgetting,
          uncertainty: uncertainty)
      }
  }

  /// The values of ``columns(_:_:_:tableAUC:tableTPR:roc:)`` for the scores of (model, example)
  /// pairs: the pooled ROC's statistics, their two-way bootstrap intervals (seeded by `seed`),
  /// and, for a TPR that cannot be certified, a flag saying so.
  public static func values(_ prefix: String, _ scores: ClusteredScores, seed: UInt64) -> [String: MetricValue] {
    guard scores.hasBothSides else {
      return Dictionary(
        uniqueKeysWithValues: columns(prefix, "", "").map {
          ($0.name, MetricValue(mean: nil, note: "no members or non-members"))
        })
    }
    let roc = scores.roc
    let ci = TwoWayBootstrap.intervals(
      scores, fprs: fprs.map(\.alpha), replicates: replicates, seed: Seeds.derive(seed, "bootstrap", prefix))
    func range(_ r: ClosedRange<Double>?) -> [Double]? { r.map { [$0.lowerBound, $0.upperBound] } }
    var out = [String: MetricValue]()
    out["\(prefix)_auc"] = MetricValue(mean: roc.auc, interval: range(ci?.auc), curve: downsampled(roc))
    out["\(prefix)_balanced_accuracy"] = MetricValue(
      mean: roc.bestBalancedAccuracy, interval: range(ci?.bestBalancedAccuracy))
    let distinct = scores.distinctNegativeExamples
    for (k, (key, alpha)) in fprs.enumerated() {
      var v = MetricValue(mean: roc.tpr(atFPR: alpha).tpr, interval: range(ci?.tprAtFPR[k]))
      if Double(distinct) < 10 / alpha {
        v.flag =
          "not certifiable: \(distinct) distinct non-member examples; an FPR of " + String(format: "%g", alpha * 100)
          + " % needs "
          + "≥ \(Int((10 / alpha).rounded()))"
      }
      out["\(prefix)_\(key)"] = v
    }
    return out
  }

  /// Member and non-member score grids `[model][example]` as clustered scores. The two sides share
  /// their example units when `sharedExamples` (the same candidates under two model populations) and
  /// their model units when `sharedModels` (one population on two example sets).
  static func grid(
    members: [[Double]], nonMembers: [[Double]], sharedExamples: Bool, sharedModels: Bool
  ) -> ClusteredScores {
    var s = ClusteredScores()
    let memberExamples = members.first?.count ?? 0
    for (m, row) in members.enumerated() {
      for (x, v) in row.enumerated() { s.append(v, member: true, model: m, example: x) }
    }
    for (m, row) in nonMembers.enumerated() {
      for (x, v) in row.enumerated() {
        s.append(
          v, member: false, model: sharedModels ? m : members.count + m,
          example: sharedExamples ? x : memberExamples + x)
      }
    }
    return s
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

  /// p_y of the rows of `[n, classes]` logits that `labels` cover (the first labels.count).
  static func trueClassProbabilities(_ logits: Tensor, _ labels: [Int32]) -> [Double] {
    let p = Softmax.flatProbabilities(logits, rows: labels.count), k = logits.rowLength
    return labels.indices.map { p[$0 * k + Int(labels[$0])] }
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
    let r = input.reference
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
