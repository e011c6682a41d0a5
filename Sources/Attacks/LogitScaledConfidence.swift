import Foundation
import Harness
import NumericCore

/// The logit-scaled confidence of LiRA (Carlini et al., IEEE S&P 2022) and of
/// the NeurIPS 2023 Unlearning Challenge scorer, exactly as the challenge
/// computes it (google-deepmind/unlearning_evaluation `metric.py`): the
/// exponentials in float32, as the challenge's code does, unlike the float64
/// ``Softmax`` of every other metric:
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
  return logitScaledConfidence(exponentials: logits.map { Double(expf($0 - m)) }, label: label)
}

/// The same for float64 logits (the shift and `exp` in float64, as NumPy does for float64 input).
public func logitScaledConfidence(logits: ArraySlice<Double>, label: Int) -> Double {
  let m = logits.max() ?? 0
  return logitScaledConfidence(exponentials: logits.map { exp($0 - m) }, label: label)
}

/// f from e = exp(z − max z): p = e / Σe, f = log(p_y + 1e-45) − log(Σ_{j≠y} p_j + 1e-45).
func logitScaledConfidence(exponentials e: [Double], label: Int) -> Double {
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

/// Mean logit-scaled confidence on the forget set: per model the mean over forget
/// examples, then mean ± std over models. Retrained models give the target value.
public struct ForgetConfidenceMetric: Metric {
  public init() {}

  /// Bins of the report's histogram (values outside go to the end bins).
  public static let histogramRange = -10.0...25.0

  public var columns: [MetricColumn] {
    let range = Self.histogramRange
    return [
      MetricColumn(
        name: "forget_confidence", header: "forget conf", direction: .closestToRetrain,
        description:
          "Logit-scaled confidence log(p_y) − log(1 − p_y) on the forget set (as the challenge computes it), "
          + "mean over examples, mean ± std over models.",
        decimals: 2,
        plot: .histogram(
          title: "Forget-set confidence", xLabel: "logit-scaled confidence log p_y − log(1 − p_y)",
          lower: range.lowerBound, upper: range.upperBound))
    ]
  }

  public var inputs: MetricInputs { .logits(.forget) }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let labels = try input.labels(.forget)
    var all = [Double]()
    let means = try input.population.models.map { m -> Double in
      let c = logitScaledConfidences(logits: try m.logits(.forget), labels: labels)
      all += c
      return c.reduce(0, +) / Double(Swift.max(c.count, 1))
    }
    var v = MetricValue(summarising: means)
    // Histogram of all (model, example) confidences on fixed bins, for the report.
    let range = Self.histogramRange
    v.curve = Histogram(all, lower: range.lowerBound, upper: range.upperBound, bins: 70).points.map { [$0.0, $0.1] }
    return ["forget_confidence": v]
  }
}
