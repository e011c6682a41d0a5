import Foundation
import Harness
import NumericCore

/// RMIA (Zarifzadeh, Liu & Shokri, "Low-Cost High-Power Membership Inference
/// Attacks", ICML 2024): compare the target's
/// likelihood ratio on a candidate x with its ratio on population examples z that
/// no model trained on and no algorithm saw (the audit split).
///
/// ```
/// Pr(x|θ) = softmax(z_θ(x))_y
/// offline  Pr(x) = ½((1 + a)·mean_OUT Pr(x|θ') + (1 − a))        OUT = retrained models
/// online   Pr(x) = ½(mean_IN Pr(x|θ') + mean_OUT Pr(x|θ'))        IN = original-seeds
/// score(x) = Pr_z[ (Pr(x|θ)/Pr(x)) / (Pr(z|θ)/Pr(z)) ≥ γ ]
/// ```
/// Candidates are the forget examples: members under the attacked models,
/// non-members under held-out retrained models (`PerExampleSplit`; the first half of
/// the retrained models are the OUT references); scores are pooled into one ROC.
/// Online, Pr(x) is the paper's ½(P_IN + P_OUT): a plain mean over references only
/// approximates it when half of them are IN, and here the IN and OUT sets differ in size.
/// Defaults as the authors' library (privacytrustlab/ml_privacy_meter,
/// `modules/mia/attacks/rmia.py`): γ = 1 (its `ratios > 1.0`), a = 0.3, plain softmax at
/// temperature 1, plain means. (The paper's research configs use γ = 2 with a temperature-2
/// Taylor softmax and trimmed means, which this does not reproduce.)
public struct RMIAAttack: Metric {
  /// Measured on the digits protocol (512 models per population); a scheduling hint.
  public var relativeCost: Double { 3 }
  public var gamma: Double
  public var a: Double

  public init(gamma: Double = 1, a: Double = 0.3) {
    self.gamma = gamma
    self.a = a
  }

  public var columns: [MetricColumn] {
    let offline =
      "Zarifzadeh et al., ICML 2024; γ = \(gamma), a = \(a); forget examples under the models vs under held-out "
      + "retrained models; population z: the audit split."
    let online = "Zarifzadeh et al., ICML 2024; γ = \(gamma); IN = original-seeds, OUT = half of the retrained models."
    return AttackReport.columns("rmia_offline", "RMIA offline", offline, tableAUC: true, roc: "RMIA offline")
      + AttackReport.columns("rmia_online", "RMIA online", online, tableAUC: false)
  }

  public var inputs: MetricInputs { .logits(.forget, .audit) + .originals }

  /// p_y per model and example, on the forget split and on the population split (audit).
  struct Probabilities {
    var forget: [[Double]]
    var population: [[Double]]

    init(_ p: Population, _ input: MetricInput) throws {
      let (f, z) = (try input.labels(.forget), try input.labels(.audit))
      forget = try p.models.map { Signals.trueClassProbabilities(try $0.logits(.forget), f) }
      population = try p.models.map { Signals.trueClassProbabilities(try $0.logits(.audit), z) }
    }

    /// The models but `skip`.
    func without(_ skip: Int) -> Probabilities {
      var out = self
      out.forget.remove(at: skip)
      out.population.remove(at: skip)
      return out
    }
  }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    guard try !input.labels(.forget).isEmpty, try !input.labels(.audit).isEmpty, let split = PerExampleSplit(input)
    else { return missing("needs forget and audit examples and at least 4 reference models") }
    let isIn = input.population.role == .originalSeeds
    let out = try Probabilities(split.references, input)
    let inn = try input.originals.map { try Probabilities($0, input) }
    let members = try Probabilities(split.members, input), nonMembers = try Probabilities(split.nonMembers, input)
    var result = [String: MetricValue]()
    for online in [false, true] {
      let name = online ? "rmia_online" : "rmia_offline"
      if online && (inn?.forget.count ?? 0) < 1 + (isIn ? 1 : 0) {
        for c in AttackReport.columns(name, "", "") {
          result[c.name] = MetricValue(mean: nil, note: "needs original-seeds references")
        }
        continue
      }
      let references = online ? inn : nil
      let shared = (
        prior(out.forget, references?.forget, online), prior(out.population, references?.population, online)
      )
      var pos = [[Double]]()
      for m in members.forget.indices {
        // A model that is itself an IN reference is left out of its own reference set.
        let own = isIn && online ? references.map { $0.without(m) } : nil
        let px = own.map { prior(out.forget, $0.forget, online) } ?? shared.0
        let pz = own.map { prior(out.population, $0.population, online) } ?? shared.1
        pos.append(scores(members.forget[m], members.population[m], priorX: px, priorZ: pz))
      }
      let neg = nonMembers.forget.indices.map {
        scores(nonMembers.forget[$0], nonMembers.population[$0], priorX: shared.0, priorZ: shared.1)
      }
      let grid = AttackReport.grid(members: pos, nonMembers: neg, sharedExamples: true, sharedModels: false)
      result.merge(AttackReport.values(name, grid, seed: input.seed)) { $1 }
    }
    return result
  }

  /// Pr(x) per example from the references: online ½(mean_IN + mean_OUT), offline the
  /// linear approximation ½((1 + a)·mean_OUT + (1 − a)).
  func prior(_ out: [[Double]], _ inn: [[Double]]?, _ online: Bool) -> [Double] {
    out[0].indices.map { x in
      let meanOut = out.reduce(0) { $0 + $1[x] } / Double(out.count)
      if online, let inn, !inn.isEmpty {
        return 0.5 * (inn.reduce(0) { $0 + $1[x] } / Double(inn.count) + meanOut)
      }
      return 0.5 * ((1 + a) * meanOut + (1 - a))
    }
  }

  /// score(x) = #{z : (p_x / Pr(x)) / (p_z / Pr(z)) ≥ γ} / #z for every candidate x.
  func scores(_ px: [Double], _ pz: [Double], priorX: [Double], priorZ: [Double]) -> [Double] {
    let rz = zip(pz, priorZ).map { $0 / Swift.max($1, 1e-30) }.sorted()
    return zip(px, priorX).map { p, q in
      // #{z : rx / rz ≥ γ} = #{z : rz ≤ rx / γ}
      let bound = p / Swift.max(q, 1e-30) / gamma
      var lo = 0, hi = rz.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if rz[mid] <= bound { lo = mid + 1 } else { hi = mid }
      }
      return Double(lo) / Double(rz.count)
    }
  }
}
