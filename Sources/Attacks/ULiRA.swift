import Foundation
import Harness
import NumericCore

/// U-LiRA (Hayes, Shumailov, Triantafillou, Khalifa & Papernot, "Inexact
/// Unlearning Needs More Careful Evaluations to Avoid a False Sense of Privacy",
/// SaTML 2025; spec `attacks-and-metrics.md` §4): LiRA whose two hypotheses are
/// "x was trained on, then unlearned by this algorithm" and "x was never seen",
/// fitted per example on shadow runs of the whole train → unlearn pipeline with
/// the same hyper-parameters (opt-in: `evaluation.ulira_shadows`).
///
/// ```
/// IN_x  = { φ_s(x) : shadow run s trained on x, then unlearned it }
/// OUT_x = { φ_s(x) : shadow run s never saw x }
/// s(x) = log N(φ_obs; median IN_x, σ²) − log N(φ_obs; median OUT_x, σ²)     (σ pooled: few shadows)
/// ```
/// Members are the forget examples under the algorithm's evaluated models (trained
/// on, then unlearned); non-members the same examples under the retrained models
/// (never seen). An ideal unlearner scores AUC 0.5.
public struct ULiRAAttack: PopulationMetric {
  public init() {}

  public var columns: [MetricColumn] {
    AttackReport.columns(
      "ulira", "U-LiRA",
      "Hayes et al., SaTML 2025: per-example Gaussians from shadow train-then-unlearn runs of the same algorithm.",
      tableAUC: false)
  }

  public func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue] {
    let f = context.labels["forget"]!
    guard let shadows = population.shadows, let inclusion = population.shadowInclusion, !f.isEmpty else {
      return AttackReport.missing(
        columns, "opt-in: set evaluation.ulira_shadows ≥ 2 (approximate algorithms, one deletion round)")
    }
    let phi = shadows.map { logitScaledConfidences(logits: $0.logits["forget"]!, labels: f) }
    var muIn = [Double](), muOut = [Double](), varIn = 0.0, varOut = 0.0
    for x in f.indices {
      let inn = phi.indices.filter { inclusion[$0][x] }.map { phi[$0][x] }
      let out = phi.indices.filter { !inclusion[$0][x] }.map { phi[$0][x] }
      guard !inn.isEmpty, !out.isEmpty else {
        return AttackReport.missing(columns, "every candidate needs shadow runs with and without it")
      }
      muIn.append(Summary.median(inn))
      muOut.append(Summary.median(out))
      varIn += Summary.variance(inn) / Double(f.count)
      varOut += Summary.variance(out) / Double(f.count)
    }
    func score(_ p: [Double]) -> [Double] {
      p.indices.map { LiRAAttack.logNormal(p[$0], muIn[$0], varIn) - LiRAAttack.logNormal(p[$0], muOut[$0], varOut) }
    }
    let pos = population.models.flatMap { score(logitScaledConfidences(logits: $0.logits["forget"]!, labels: f)) }
    let neg = context.retrained.models.flatMap {
      score(logitScaledConfidences(logits: $0.logits["forget"]!, labels: f))
    }
    guard !pos.isEmpty, !neg.isEmpty else {
      return AttackReport.missing(columns, "needs evaluated and retrained models")
    }
    return AttackReport.values("ulira", ROC(positives: pos, negatives: neg))
  }
}
