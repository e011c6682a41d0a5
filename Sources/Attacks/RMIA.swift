import Foundation
import Harness
import NumericCore

/// RMIA (Zarifzadeh, Liu & Shokri, "Low-Cost High-Power Membership Inference
/// Attacks", ICML 2024; spec `attacks-and-metrics.md` §5): compare the target's
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
/// the retrained models are the OUT references); scores are pooled into one ROC. Defaults: γ = 2 (the paper's research configs)
/// and a = 0.3 (their CIFAR-10 value), temperature 1, plain softmax, plain means.
public struct RMIAAttack: PopulationMetric {
  public var gamma: Double
  public var a: Double

  public init(gamma: Double = 1, a: Double = 0.3) {
    self.gamma = gamma
    self.a = a
  }

  public var columns: [MetricColumn] {
    AttackReport.columns(
      "rmia_offline", "RMIA offline",
      "Zarifzadeh et al., ICML 2024; γ = \(gamma), a = \(a); forget examples under the models vs under held-out retrained models; population z: validation.",
      tableAUC: true)
      + AttackReport.columns(
        "rmia_online", "RMIA online",
        "Zarifzadeh et al., ICML 2024; γ = \(gamma); IN = original-seeds, OUT = half of the retrained models.",
        tableAUC: false)
  }

  static func trueClassProbabilities(_ p: Population, _ split: String, _ labels: [Int32]) -> [[Double]] {
    p.models.map { m in Signals.probabilities(m.logits[split]!).enumerated().map { $0.element[Int(labels[$0.offset])] }
    }
  }

  public func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue] {
    let f = context.labels["forget"]!, v = context.labels["validation"]!
    guard !f.isEmpty, !v.isEmpty, let split = PerExampleSplit(population, context) else {
      return AttackReport.missing(columns, "needs forget and validation examples and at least 4 retrained models")
    }
    let isIn = population.algorithm == OriginalSeeds.name
    let outF = Self.trueClassProbabilities(split.references, "forget", f)
    let outZ = Self.trueClassProbabilities(split.references, "validation", v)
    let inF = context.originals.map { Self.trueClassProbabilities($0, "forget", f) } ?? []
    let inZ = context.originals.map { Self.trueClassProbabilities($0, "validation", v) } ?? []
    let memF = Self.trueClassProbabilities(split.members, "forget", f),
      memZ = Self.trueClassProbabilities(split.members, "validation", v)
    let nonF = Self.trueClassProbabilities(split.nonMembers, "forget", f)
    let nonZ = Self.trueClassProbabilities(split.nonMembers, "validation", v)
    var result = [String: MetricValue]()
    for online in [false, true] {
      let name = online ? "rmia_online" : "rmia_offline"
      /// Pr(x) per example from the references (leaving out IN model `skip`).
      func prior(_ out: [[Double]], _ inn: [[Double]], skip: Int?) -> [Double] {
        let i = skip.map { s in inn.indices.filter { $0 != s }.map { inn[$0] } } ?? inn
        return out[0].indices.map { x in
          if online {
            let all = out.map { $0[x] } + i.map { $0[x] }
            return all.reduce(0, +) / Double(all.count)
          }
          return 0.5 * ((1 + a) * out.reduce(0) { $0 + $1[x] } / Double(out.count) + (1 - a))
        }
      }
      if online && inF.count < 1 + (isIn ? 1 : 0) {
        result.merge(AttackReport.missing(AttackReport.columns(name, "", ""), "needs original-seeds references")) { $1 }
        continue
      }
      let sharedF = prior(outF, inF, skip: nil), sharedZ = prior(outZ, inZ, skip: nil)
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
      var pos = [Double]()
      for m in memF.indices {
        let skip = isIn && online ? m : nil
        let px = skip == nil ? sharedF : prior(outF, inF, skip: skip),
          pz = skip == nil ? sharedZ : prior(outZ, inZ, skip: skip)
        pos += scores(memF[m], memZ[m], priorX: px, priorZ: pz)
      }
      let neg = nonF.indices.flatMap { scores(nonF[$0], nonZ[$0], priorX: sharedF, priorZ: sharedZ) }
      result.merge(AttackReport.values(name, ROC(positives: pos, negatives: neg))) { $1 }
    }
    return result
  }
}
