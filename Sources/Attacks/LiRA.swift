import Foundation
import Harness
import NumericCore

/// The likelihood-ratio attack LiRA (Carlini, Chien, Nasr, Song, Terzis & Tramèr,
/// IEEE S&P 2022; spec `attacks-and-metrics.md` §3), with the retrained models as
/// OUT references for every example and the models trained on the whole training
/// set (`original-seeds`) as IN references, the CPU-harness proxy of spec §4
/// ("IN = originals, OUT = retrains"; not U-LiRA).
///
/// ```
/// φ = log p_y − log(1 − p_y)                                   (logit-scaled confidence, §3.1)
/// μ_out(x), μ_in(x) = median over OUT / IN references;  σ per example, or one pooled σ ("fixed")
/// offline  s(x) = Φ((φ_obs(x) − μ_out(x)) / σ_out)              (one-sided, as the paper)
/// online   s(x) = log N(φ_obs; μ_in, σ_in) − log N(φ_obs; μ_out, σ_out)
/// ```
/// Candidates are the forget examples: members under the attacked models, non-members
/// under held-out retrained models (see `PerExampleSplit`: the first half of the
/// retrained models are the OUT references); scores are pooled into one ROC, and an
/// exact method scores at chance. The pooled
/// ("fixed") σ is the root mean of the per-example variances (the authors' code
/// pools raw values; centring per example keeps between-example spread out of σ).
public struct LiRAAttack: PopulationMetric {
  public init() {}

  static let variants = [
    ("lira_offline", false, false), ("lira_offline_pe", false, true), ("lira_online", true, false),
    ("lira_online_pe", true, true),
  ]

  public var columns: [MetricColumn] {
    Self.variants.flatMap { name, online, perExample in
      AttackReport.columns(
        name, "LiRA \(online ? "online" : "offline")\(perExample ? " per-example σ" : "")",
        "Carlini et al., S&P 2022; forget examples under the models (members) vs under held-out retrained models (non-members); OUT = half of the retrained models, IN = original-seeds.",
        tableAUC: name == "lira_online",
        tableTPR: name == "lira_online")
    }
  }

  /// Gaussian statistics of reference confidences per example: median and variance.
  struct Reference {
    var median: [Double]
    var variance: [Double]
    var pooledVariance: Double

    init(_ phi: [[Double]]) {
      let n = phi.first?.count ?? 0
      median = (0..<n).map { i in Summary.median(phi.map { $0[i] }) }
      variance = (0..<n).map { i in Summary.variance(phi.map { $0[i] }) }
      pooledVariance = variance.isEmpty ? 0 : variance.reduce(0, +) / Double(variance.count)
    }
  }

  static func logNormal(_ x: Double, _ mu: Double, _ variance: Double) -> Double {
    let v = variance + 1e-30
    return -0.5 * log(2 * Double.pi * v) - (x - mu) * (x - mu) / (2 * v)
  }

  static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

  /// φ of every model on a split.
  static func confidences(_ p: Population, _ split: String, _ labels: [Int32]) -> [[Double]] {
    p.models.map { logitScaledConfidences(logits: $0.logits[split]!, labels: labels) }
  }

  public func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue] {
    let f = context.labels["forget"]!
    guard !f.isEmpty, let split = PerExampleSplit(population, context) else {
      return AttackReport.missing(columns, "needs forget examples and at least 4 retrained models")
    }
    let isIn = population.algorithm == OriginalSeeds.name
    let out = Reference(Self.confidences(split.references, "forget", f))
    let inAll = context.originals.map { Self.confidences($0, "forget", f) } ?? []
    let members = Self.confidences(split.members, "forget", f),
      nonMembers = Self.confidences(split.nonMembers, "forget", f)
    var results = [String: MetricValue]()
    for (name, online, perExample) in Self.variants {
      let cols = AttackReport.columns(name, "", "")
      if online && inAll.count < (perExample ? 2 : 1) + (isIn ? 1 : 0) {
        results.merge(
          AttackReport.missing(
            cols, "needs original-seeds references (evaluation.reference_originals ≥ \(perExample ? 2 : 1))")
        ) { $1 }
        continue
      }
      func score(_ phi: [Double], _ inn: Reference?) -> [Double] {
        phi.indices.map { x in
          let vo = perExample ? out.variance[x] : out.pooledVariance
          if !online { return Self.normalCDF((phi[x] - out.median[x]) / (vo + 1e-30).squareRoot()) }
          let vi = perExample ? inn!.variance[x] : inn!.pooledVariance
          return Self.logNormal(phi[x], inn!.median[x], vi) - Self.logNormal(phi[x], out.median[x], vo)
        }
      }
      let inFull = inAll.isEmpty ? nil : Reference(inAll)
      var pos = [Double]()
      for (m, phi) in members.enumerated() {
        // A model that is itself an IN reference is left out of its own reference set.
        let inn = isIn && online ? Reference(Array(inAll[..<m] + inAll[(m + 1)...])) : inFull
        pos += score(phi, inn)
      }
      let neg = nonMembers.flatMap { score($0, inFull) }
      results.merge(AttackReport.values(name, ROC(positives: pos, negatives: neg))) { $1 }
    }
    return results
  }
}
