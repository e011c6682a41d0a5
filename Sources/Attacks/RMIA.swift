import Foundation
import Harness
import NumericCore

/// RMIA (Zarifzadeh, Liu & Shokri, "Low-Cost High-Power Membership Inference
/// Attacks", ICML 2024): compare the target's
/// likelihood ratio on a candidate x with its ratio on population examples z that
/// no model trained on (here the validation split).
///
/// ```
/// Pr(x|θ) = softmax(z_θ(x))_y
/// offline  Pr(x) = ½((1 + a)·mean_OUT Pr(x|θ') + (1 − a))        OUT = retrained models
/// online   Pr(x) = mean over IN ∪ OUT references                  IN = original-seeds
/// score(x) = Pr_z[ (Pr(x|θ)/Pr(x)) / (Pr(z|θ)/Pr(z)) ≥ γ ]
/// ```
/// Candidates are the forget examples: members under the attacked models,
/// non-members under held-out retrained models (`PerExampleSplit`; the first half of
/// the retrained models are the OUT references); scores are pooled into one ROC.
/// Defaults: γ = 1 and a = 0.3 (the paper's CIFAR-10 value), temperature 1, plain
/// softmax, plain means.
public struct RMIAAttack: Metric {
  public var gamma: Double
  public var a: Double

  public init(gamma: Double = 1, a: Double = 0.3) {
    self.gamma = gamma
    self.a = a
  }

  public var columns: [MetricColumn] {
    let offline =
      "Zarifzadeh et al., ICML 2024; γ = \(gamma), a = \(a); forget examples under the models vs under held-out "
      + "retrained models; population z: validation."
    let online = "Zarifzadeh et al., ICML 2024; γ = \(gamma); IN = original-seeds, OUT = half of the retrained models."
    return AttackReport.columns("rmia_offline", "RMIA offline", offline, tableAUC: true, roc: "RMIA offline")
      + AttackReport.columns("rmia_online", "RMIA online", online, tableAUC: false)
  }

  public var inputs: MetricInputs { .logits(.forget, .validation) + .originals }

  /// p_y per model and example, on the forget split and on the population split (validation).
  struct Probabilities {
    var forget: [[Double]]
    var population: [[Double]]

    init(_ p: Population, _ input: MetricInput) throws {
      let (f, v) = (try input.labels(.forget), try input.labels(.validation))
      forget = try p.models.map { Signals.trueClassProbabilities(try $0.logits(.forget), f) }
      population = try p.models.map { Signals.trueClassProbabilities(try $0.logits(.validation), v) }
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
    guard try !input.labels(.forget).isEmpty, try !input.labels(.validation).isEmpty,
      let split = PerExampleSplit(input)
    else { return missing("needs forget and validation examples and at least 4 retrained models") }
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
      var pos = [Double]()
      for m in members.forget.indices {
        // A model that is itself an IN reference is left out of its own reference set.
        let own = isIn && online ? references.map { $0.without(m) } : nil
        let px = own.map { prior(out.forget, $0.forget, online) } ?? shared.0
        let pz = own.map { prior(out.population, $0.population, online) } ?? shared.1
        pos += scores(members.forget[m], members.population[m], priorX: px, priorZ: pz)
      }
      let neg = nonMembers.forget.indices.flatMap {
        scores(nonMembers.forget[$0], nonMembers.population[$0], priorX: shared.0, priorZ: shared.1)
      }
      result.merge(AttackReport.values(name, ROC(positives: pos, negatives: neg))) { $1 }
    }
    return result
  }

  /// Pr(x) per example from the references: online the mean over OUT ∪ IN, offline the
  /// linear approximation ½((1 + a)·mean_OUT + (1 − a)).
  func prior(_ out: [[Double]], _ inn: [[Double]]?, _ online: Bool) -> [Double] {
    out[0].indices.map { x in
      if online {
        let all = out.map { $0[x] } + (inn ?? []).map { $0[x] }
        return all.reduce(0, +) / Double(all.count)
      }
      return 0.5 * ((1 + a) * out.reduce(0) { $0 + $1[x] } / Double(out.count) + (1 - a))
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
