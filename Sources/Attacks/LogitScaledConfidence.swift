import Foundation
import NumericCore

/// The logit-scaled confidence of LiRA (Carlini et al., IEEE S&P 2022) and of
/// the NeurIPS 2023 Unlearning Challenge scorer, exactly as the challenge
/// computes it (spec `challenge-score.md` §3.1):
///
/// ```
/// z ← z − max(z)                       (float32)
/// e ← exp(z) in float32, cast to float64;  p ← e / Σe
/// f ← log(p_y + 1e-45) − log(Σ_{j≠y} p_j + 1e-45)      (float64)
/// ```
/// - Parameters:
///   - logits: one row of C float32 logits.
///   - label: the true class.
public func logitScaledConfidence(logits: ArraySlice<Float>, label: Int) -> Double {
  let m = logits.max() ?? 0
  var e = [Double]()
  e.reserveCapacity(logits.count)
  for z in logits { e.append(Double(expf(z - m))) }
  var sum = 0.0
  for v in e { sum += v }
  var pTrue = 0.0, pOther = 0.0
  for (j, v) in e.enumerated() {
    let p = v / sum
    if j == label { pTrue = p } else { pOther += p }
  }
  return log(pTrue + 1e-45) - log(pOther + 1e-45)
}

/// ``logitScaledConfidence(logits:label:)`` for every row of `[N, C]` logits.
public func logitScaledConfidences(logits: Tensor, labels: [Int32]) -> [Double] {
  let c = logits.rowLength
  return labels.indices.map { i in
    logitScaledConfidence(logits: logits.scalars[(i * c)..<((i + 1) * c)], label: Int(labels[i]))
  }
}
