import Foundation
import Harness
import NumericCore

/// Output-space distance to the reference models (the retrained ones, or an exact algorithm's
/// own reference), per example, averaged over examples and over model pairs (the i-th model
/// against the i-th reference model; the originals, cycled, against every reference model):
///
/// ```
/// KL(P ‖ Q) = Σ_c P_c log(P_c / Q_c),   P = p_θr(x), Q = p_θu(x)     (probabilities clipped at 1e-12)
/// JS(P, Q)  = ½ KL(P ‖ M) + ½ KL(Q ‖ M),  M = ½(P + Q)                (≤ ln 2)
/// activation distance (Chundawat et al., AAAI 2023) = ‖P − Q‖₂ on the forget set
/// ```
/// Per-example sums, then means over examples ("batchmean", not PyTorch's
/// element-wise mean). A reference row compares the two halves of its population: the
/// noise floor an exact method would show.
public struct RetrainDistance: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "js_forget", header: "JS forget", direction: .lowerIsBetter,
        description:
          "Jensen–Shannon divergence between the retrained and the model's output distributions on forget "
          + "examples, mean over examples and model pairs.",
        decimals: 4),
      MetricColumn(
        name: "kl_forget", header: "KL forget", direction: .lowerIsBetter,
        description: "KL(p_retrained ‖ p_model) on forget examples, mean over examples and model pairs.", decimals: 4,
        table: .none),
      MetricColumn(
        name: "js_test", header: "JS test", direction: .lowerIsBetter,
        description: "Jensen–Shannon divergence to the retrained models on test examples.", decimals: 4,
        table: .none),
      MetricColumn(
        name: "kl_test", header: "KL test", direction: .lowerIsBetter,
        description: "KL(p_retrained ‖ p_model) on test examples.", decimals: 4, table: .none),
      MetricColumn(
        name: "activation_distance", header: "act. dist", direction: .lowerIsBetter,
        description:
          "Activation distance (Chundawat et al., AAAI 2023): ‖p_model − p_retrained‖₂ on forget examples, "
          + "mean over examples and model pairs.",
        decimals: 4, table: .none),
    ]
  }

  static func kl(_ p: [Double], _ q: [Double]) -> Double {
    var s = 0.0
    for c in p.indices {
      let a = Swift.max(p[c], 1e-12), b = Swift.max(q[c], 1e-12)
      s += a * log(a / b)
    }
    return s
  }

  static func js(_ p: [Double], _ q: [Double]) -> Double {
    let m = zip(p, q).map { ($0 + $1) / 2 }
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)
  }

  public var inputs: MetricInputs { .logits(.forget, .test) }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    guard let (u, r, note) = input.comparison() else { return missing("needs models on both sides") }
    var sums = [String: [Double]]()
    // Pair model i with reference model i; the K originals, cycled, with every reference model.
    let k = u.models.count
    let pairs =
      input.population.role.isOriginal
      ? r.models.indices.map { ($0 % k, $0) } : (0..<Swift.min(k, r.models.count)).map { ($0, $0) }
    for (i, j) in pairs {
      for split in [Split.forget, .test] {
        let q = Softmax.probabilities(try u.models[i].logits(split))
        let p = Softmax.probabilities(try r.models[j].logits(split))
        guard !p.isEmpty else { continue }
        let n = Double(p.count)
        sums["kl_\(split)", default: []].append(p.indices.reduce(0) { $0 + Self.kl(p[$1], q[$1]) } / n)
        sums["js_\(split)", default: []].append(p.indices.reduce(0) { $0 + Self.js(p[$1], q[$1]) } / n)
        if split == .forget {
          let ad = p.indices.reduce(0.0) { acc, x in
            acc + zip(p[x], q[x]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
          }
          sums["activation_distance", default: []].append(ad / n)
        }
      }
    }
    var out = [String: MetricValue]()
    for c in columns {
      var v = MetricValue(summarising: sums[c.name] ?? [])
      v.note = note
      out[c.name] = v
    }
    return out
  }
}
