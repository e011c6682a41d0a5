import Foundation
import Harness
import NumericCore

/// The metric-based attacks of Song & Mittal ("Systematic Evaluation of Privacy
/// Risks of Machine Learning Models", USENIX Security 2021), with class-dependent
/// thresholds (spec `attacks-and-metrics.md` §1.2):
///
/// ```
/// correctness       1[argmax p = y]            (no threshold)
/// confidence        p_y
/// entropy           −H(p) = Σ_i p_i log p_i
/// modified entropy  −Mentr(p, y) = (1 − p_y) log p_y + Σ_{i≠y} p_i log(1 − p_i)      (logs clipped at 1e-30)
/// τ_c = argmax_v ½(mean(A_c ≥ v) + mean(B_c < v)) over v ∈ A_c ∪ B_c
/// ```
/// with A_c / B_c the feature values of known members / non-members of class c.
/// Here the thresholds are learned on retain (members) against validation
/// (non-members), and the attack is scored on forget (members) against test
/// (non-members): ½(TPR + TNR), per model, mean ± std. The modified entropy is
/// the paper's formula, not the port in Unlearn-Sparse/SalUn (spec §1.3 quirks).
public struct SongMittalAttacks: PopulationMetric {
  public init() {}

  static let kinds = ["correctness", "confidence", "entropy", "modified_entropy"]

  public var columns: [MetricColumn] {
    Self.kinds.map { k in
      MetricColumn(
        name: "sm_\(k)", header: k == "modified_entropy" ? "m-entropy MIA" : "\(k) MIA", direction: .closestToRetrain,
        description:
          "Song & Mittal (USENIX Sec 2021) \(k.replacingOccurrences(of: "_", with: " ")) attack with class thresholds from retain vs validation; balanced accuracy on forget vs test, mean ± std over models.",
        inTable: k == "modified_entropy")
    }
  }

  /// The feature of one probability row (larger = member).
  static func feature(_ kind: String, _ p: [Double], _ y: Int) -> Double {
    switch kind {
    case "correctness": return p.indices.max { p[$0] < p[$1] } == y ? 1 : 0
    case "confidence": return p[y]
    case "entropy": return p.reduce(0) { $0 + $1 * Signals.clippedLog($1) }
    default:
      var m = (1 - p[y]) * Signals.clippedLog(p[y])
      for i in p.indices where i != y { m += p[i] * Signals.clippedLog(1 - p[i]) }
      return m
    }
  }

  /// τ maximising ½(mean(a ≥ v) + mean(b < v)) over v ∈ a ∪ b (−∞ flags everything when a class has no data).
  static func threshold(members a: [Double], nonMembers b: [Double]) -> Double {
    guard !a.isEmpty || !b.isEmpty else { return -.infinity }
    let sa = a.sorted(), sb = b.sorted()
    var best = -Double.infinity, bestValue = -1.0
    // Candidates in ascending order; the counts below each candidate move forward with it.
    var ia = 0, ib = 0
    var previous = -Double.infinity
    for v in (sa + sb).sorted() where v != previous {
      previous = v
      while ia < sa.count && sa[ia] < v { ia += 1 }
      while ib < sb.count && sb[ib] < v { ib += 1 }
      let tpr = sa.isEmpty ? 0 : Double(sa.count - ia) / Double(sa.count)
      let tnr = sb.isEmpty ? 0 : Double(ib) / Double(sb.count)
      let value = 0.5 * (tpr + tnr)
      if value > bestValue {
        bestValue = value
        best = v
      }
    }
    return best
  }

  public func evaluate(_ population: Population, context: MetricContext) throws -> [String: MetricValue] {
    let l = context.labels
    guard let f = l["forget"], let t = l["test"], let r = l["retain"], let v = l["validation"], !f.isEmpty, !t.isEmpty,
      !v.isEmpty
    else {
      return AttackReport.missing(columns, "needs forget, test, retain and validation examples")
    }
    let classes = population.models.first?.logits["test"]?.rowLength ?? 0
    let retainByClass = (0..<classes).map { c in r.indices.filter { Int(r[$0]) == c } }
    let validationByClass = (0..<classes).map { c in v.indices.filter { Int(v[$0]) == c } }
    var perKind = [String: [Double]]()
    for m in population.models {
      let pf = Signals.probabilities(m.logits["forget"]!), pt = Signals.probabilities(m.logits["test"]!)
      let pr = Signals.probabilities(m.logits["retain"]!), pv = Signals.probabilities(m.logits["validation"]!)
      for kind in Self.kinds {
        func feats(_ p: [[Double]], _ y: [Int32]) -> [Double] {
          p.indices.map { Self.feature(kind, p[$0], Int(y[$0])) }
        }
        let (ff, ft, fr, fv) = (feats(pf, f), feats(pt, t), feats(pr, r), feats(pv, v))
        var tau = [Double](repeating: -.infinity, count: classes)
        if kind == "correctness" {
          tau = Array(repeating: 1, count: classes)
        } else {
          for c in 0..<classes {
            tau[c] = Self.threshold(
              members: retainByClass[c].map { fr[$0] }, nonMembers: validationByClass[c].map { fv[$0] })
          }
        }
        let tpr = Double(f.indices.filter { ff[$0] >= tau[Int(f[$0])] }.count) / Double(f.count)
        let tnr = Double(t.indices.filter { ft[$0] < tau[Int(t[$0])] }.count) / Double(t.count)
        perKind[kind, default: []].append(0.5 * (tpr + tnr))
      }
    }
    return Dictionary(
      uniqueKeysWithValues: Self.kinds.map { ("sm_\($0)", MetricValue(summarising: perKind[$0] ?? [])) })
  }
}

extension SongMittalAttacks {
  /// The four attacks on arbitrary outputs: thresholds learned on half of the
  /// members and non-members (a seeded split), balanced accuracy on the other half.
  public static func evaluate(
    members: [[Double]], memberLabels: [Int], nonMembers: [[Double]], nonMemberLabels: [Int], classes: Int, seed: UInt64
  ) -> [String: Double] {
    var rng = Xoshiro256StarStar(seed: seed)
    let pm = rng.permutation(members.count), pn = rng.permutation(nonMembers.count)
    let (calM, evalM) = (pm.prefix(members.count / 2), pm.dropFirst(members.count / 2))
    let (calN, evalN) = (pn.prefix(nonMembers.count / 2), pn.dropFirst(nonMembers.count / 2))
    var out = [String: Double]()
    for kind in kinds {
      var tau = [Double](repeating: kind == "correctness" ? 1 : -.infinity, count: classes)
      if kind != "correctness" {
        for c in 0..<classes {
          tau[c] = threshold(
            members: calM.filter { memberLabels[$0] == c }.map { feature(kind, members[$0], c) },
            nonMembers: calN.filter { nonMemberLabels[$0] == c }.map { feature(kind, nonMembers[$0], c) })
        }
      }
      let tpr =
        Double(evalM.filter { feature(kind, members[$0], memberLabels[$0]) >= tau[memberLabels[$0]] }.count)
        / Double(Swift.max(evalM.count, 1))
      let tnr =
        Double(evalN.filter { feature(kind, nonMembers[$0], nonMemberLabels[$0]) < tau[nonMemberLabels[$0]] }.count)
        / Double(Swift.max(evalN.count, 1))
      out[kind] = 0.5 * (tpr + tnr)
    }
    return out
  }
}
