import CKernels
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

  /// The means over examples of KL(P ‖ Q), JS(P, Q) and ‖P − Q‖₂, for probability rows of
  /// `classes` each, one after another: ``kl(_:_:)`` and ``js(_:_:)`` row by row, with every
  /// logarithm of the matrices taken at once (`unlearn_log_array`, within 1 ulp).
  static func meanDistances(_ p: [Double], _ q: [Double], classes k: Int) -> (kl: Double, js: Double, l2: Double) {
    precondition(p.count == q.count && k > 0 && p.count % k == 0)
    let count = p.count, n = count / k
    let a = p.map { Swift.max($0, 1e-12) }, b = q.map { Swift.max($0, 1e-12) }
    let m = (0..<count).map { Swift.max((p[$0] + q[$0]) / 2, 1e-12) }
    func logs(_ v: [Double]) -> [Double] {
      var out = v
      out.withUnsafeMutableBufferPointer { unlearn_log_array(count, $0.baseAddress, $0.baseAddress) }
      return out
    }
    let logAB = logs((0..<count).map { a[$0] / b[$0] }), logAM = logs((0..<count).map { a[$0] / m[$0] })
    let logBM = logs((0..<count).map { b[$0] / m[$0] })
    var kl = 0.0, js = 0.0, l2 = 0.0
    for x in 0..<n {
      var sAB = 0.0, sAM = 0.0, sBM = 0.0, d2 = 0.0
      for c in (x * k)..<((x + 1) * k) {
        sAB += a[c] * logAB[c]
        sAM += a[c] * logAM[c]
        sBM += b[c] * logBM[c]
        d2 += (p[c] - q[c]) * (p[c] - q[c])
      }
      kl += sAB
      js += 0.5 * sAM + 0.5 * sBM
      l2 += d2.squareRoot()
    }
    return (kl / Double(n), js / Double(n), l2 / Double(n))
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
        let zq = try u.models[i].logits(split), zp = try r.models[j].logits(split)
        guard zp.shape == zq.shape else {
          throw HarnessError(
            "RetrainDistance", "\(split) logits of shapes \(zq.shape) and \(zp.shape) cannot be compared")
        }
        guard zp.rows > 0 else { continue }
        let d = Self.meanDistances(
          Softmax.flatProbabilities(zp), Softmax.flatProbabilities(zq), classes: zp.rowLength)
        sums["kl_\(split)", default: []].append(d.kl)
        sums["js_\(split)", default: []].append(d.js)
        if split == .forget { sums["activation_distance", default: []].append(d.l2) }
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
