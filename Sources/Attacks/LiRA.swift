import Foundation
import Harness
import NumericCore

/// The likelihood-ratio attack LiRA (Carlini, Chien, Nasr, Song, Terzis & Tramèr,
/// IEEE S&P 2022), with the retrained models as OUT references for every example
/// and the models trained on the whole training set (`original-seeds`) as IN
/// references: "IN = originals, OUT = retrains", the CPU-scale stand-in for the
/// shadow runs of U-LiRA (Hayes et al., SaTML 2025; see ``ULiRAAttack``).
///
/// ```
/// φ = log p_y − log(1 − p_y)                                   (logit-scaled confidence)
/// μ_out(x), μ_in(x) = median over OUT / IN references
/// σ per example (σ_in(x), σ_out(x)), or fixed: one global σ
/// offline  s(x) = Φ((φ_obs(x) − μ_out(x)) / σ_out)              (one-sided, as the paper)
/// online   s(x) = log N(φ_obs; μ_in, σ_in) − log N(φ_obs; μ_out, σ_out)
/// ```
/// Candidates are the forget examples: members under the attacked models, non-members
/// under held-out retrained models (see `PerExampleSplit`: the first half of the
/// retrained models are the OUT references); scores are pooled into one ROC, and an
/// exact method scores at chance. The fixed variance is the authors' (tensorflow/privacy
/// `research/mi_lira_2021/plot.py`, `fix_variance=True`): online, one σ for both
/// hypotheses, `np.std` of every IN confidence (all references and examples); offline,
/// `np.std` of every OUT confidence. Per-example σ is `np.std` over the references of
/// each example (population standard deviations, as NumPy's default).
public struct LiRAAttack: Metric {
  /// Measured on the digits protocol (512 models per population); a scheduling hint.
  public var relativeCost: Double { 10 }
  public init() {}

  static let variants = [
    ("lira_offline", false, false), ("lira_offline_pe", false, true), ("lira_online", true, false),
    ("lira_online_pe", true, true),
  ]

  public var columns: [MetricColumn] {
    Self.variants.flatMap { name, online, perExample in
      let title = "LiRA \(online ? "online" : "offline")\(perExample ? " per-example σ" : "")"
      let source =
        "Carlini et al., S&P 2022; forget examples under the models (members) vs under held-out retrained models "
        + "(non-members); OUT = half of the retrained models, IN = original-seeds."
      let plotted = perExample ? nil : "\(title) (fixed σ)"
      return AttackReport.columns(
        name, title, source, tableAUC: name == "lira_online", tableTPR: name == "lira_online", roc: plotted)
    }
  }

  public var inputs: MetricInputs { .logits(.forget) + .originals }

  /// Gaussian statistics of reference confidences: per example the median and variance, and
  /// the global variance of all of them.
  struct Reference {
    var median: [Double]
    var variance: [Double]
    var globalVariance: Double

    init(_ phi: [[Double]]) {
      let n = phi.first?.count ?? 0
      median = (0..<n).map { i in Summary.median(phi.map { $0[i] }) }
      variance = (0..<n).map { i in Summary.variance(phi.map { $0[i] }) }
      globalVariance = Summary.variance(phi.flatMap { $0 })
    }
  }

  static func logNormal(_ x: Double, _ mu: Double, _ variance: Double) -> Double {
    let v = variance + 1e-30
    return -0.5 * log(2 * Double.pi * v) - (x - mu) * (x - mu) / (2 * v)
  }

  static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

  /// φ of every model on the forget split.
  static func confidences(_ p: Population, _ labels: [Int32]) throws -> [[Double]] {
    try p.models.map { logitScaledConfidences(logits: try $0.logits(.forget), labels: labels) }
  }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let f = try input.labels(.forget)
    guard !f.isEmpty, let split = PerExampleSplit(input) else {
      return missing("needs forget examples and at least 4 retrained models")
    }
    let isIn = input.population.role == .originalSeeds
    let out = Reference(try Self.confidences(split.references, f))
    let inAll = try input.originals.map { try Self.confidences($0, f) } ?? []
    let members = try Self.confidences(split.members, f), nonMembers = try Self.confidences(split.nonMembers, f)
    var results = [String: MetricValue]()
    for (name, online, perExample) in Self.variants {
      let cols = AttackReport.columns(name, "", "")
      if online && inAll.count < (perExample ? 2 : 1) + (isIn ? 1 : 0) {
        let why = "needs original-seeds references (evaluation.reference_originals ≥ \(perExample ? 2 : 1))"
        for c in cols { results[c.name] = MetricValue(mean: nil, note: why) }
        continue
      }
      func score(_ phi: [Double], _ inn: Reference?) -> [Double] {
        phi.indices.map { x in
          if !online {
            let vo = perExample ? out.variance[x] : out.globalVariance
            return Self.normalCDF((phi[x] - out.median[x]) / (vo + 1e-30).squareRoot())
          }
          guard let inn else { return .nan }
          let (vi, vo) = perExample ? (inn.variance[x], out.variance[x]) : (inn.globalVariance, inn.globalVariance)
          return Self.logNormal(phi[x], inn.median[x], vi) - Self.logNormal(phi[x], out.median[x], vo)
        }
      }
      let inFull = inAll.isEmpty ? nil : Reference(inAll)
      let pos = members.enumerated().map { m, phi in
        // A model that is itself an IN reference is left out of its own reference set.
        score(phi, isIn && online ? Reference(Array(inAll[..<m] + inAll[(m + 1)...])) : inFull)
      }
      let neg = nonMembers.map { score($0, inFull) }
      let scores = AttackReport.grid(members: pos, nonMembers: neg, sharedExamples: true, sharedModels: false)
      results.merge(AttackReport.values(name, scores, seed: input.seed)) { $1 }
    }
    return results
  }
}
