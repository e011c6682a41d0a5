import CKernels
import Foundation

/// The softmax of a row of logits, computed in float64 with the maximum subtracted
/// first, so that no exponential overflows:
///
/// ```
/// m = max_c z_c,   s = Σ_c exp(z_c − m)          (summed in index order)
/// p_c = exp(z_c − m) / s
/// log p_y = z_y − (m + log s)
/// ```
/// Every evaluation-side use (attacks, metrics, ensembles, the influence Hessian) goes
/// through these functions, so that two places never disagree in the last bit. The
/// training kernels keep their own fused float32 softmax-cross-entropy, and the
/// challenge's logit-scaled confidence its float32 exponentials (the challenge's
/// convention).
public enum Softmax {
  /// log Σ_c exp(z_c) = m + log Σ_c exp(z_c − m).
  @inlinable
  public static func logSumExp<C: Collection>(_ row: C) -> Double where C.Element: BinaryFloatingPoint {
    let m = Double(row.max() ?? 0)
    var s = 0.0
    for z in row { s += exp(Double(z) - m) }
    return m + log(s)
  }

  /// log p_y = z_y − log Σ_c exp(z_c); the cross-entropy loss is its negation.
  @inlinable
  public static func logProbability<C: Collection>(_ row: C, label: Int) -> Double
  where C.Element: BinaryFloatingPoint, C.Index == Int {
    Double(row[row.startIndex + label]) - logSumExp(row)
  }

  /// p_c = exp(z_c − m) / Σ_j exp(z_j − m), with the kernels' vector e^x (`unlearn_exp_array`,
  /// within 2 ulp; the same bits on every CPU).
  public static func probabilities<C: Collection>(_ row: C) -> [Double] where C.Element: BinaryFloatingPoint {
    let m = Double(row.max() ?? 0)
    var e = row.map { Double($0) - m }
    normalise(&e, rows: 1, classes: e.count)
    return e
  }

  /// ``probabilities(_:)`` of every row of `[n, classes]` logits.
  public static func probabilities(_ logits: Tensor) -> [[Double]] {
    let k = logits.rowLength, flat = flatProbabilities(logits)
    return (0..<logits.rows).map { i in Array(flat[(i * k)..<((i + 1) * k)]) }
  }

  /// ``probabilities(_:)`` of every row of `[n, classes]` logits (or of the first `rows`), the
  /// rows one after another.
  public static func flatProbabilities(_ logits: Tensor, rows: Int? = nil) -> [Double] {
    let k = logits.rowLength, rows = Swift.min(rows ?? logits.rows, logits.rows)
    var e = [Double](repeating: 0, count: rows * k)
    logits.scalars.withUnsafeBufferPointer { z in
      for i in 0..<rows {
        let row = z[(i * k)..<((i + 1) * k)]
        let m = Double(row.max() ?? 0)
        for c in 0..<k { e[i * k + c] = Double(z[i * k + c]) - m }
      }
    }
    normalise(&e, rows: rows, classes: k)
    return e
  }

  /// Rows of z − m in place to their softmax: e^x, then each row divided by its sum (in index order).
  static func normalise(_ e: inout [Double], rows: Int, classes k: Int) {
    e.withUnsafeMutableBufferPointer { e in
      unlearn_exp_array(e.count, e.baseAddress, e.baseAddress)
      for i in 0..<rows {
        var s = 0.0
        for c in 0..<k { s += e[i * k + c] }
        for c in 0..<k { e[i * k + c] /= s }
      }
    }
  }

  /// ``logProbability(_:label:)`` of every row of `[n, classes]` logits with its label.
  public static func logProbabilities(_ logits: Tensor, labels: [Int32]) -> [Double] {
    let k = logits.rowLength
    return labels.indices.map { i in logProbability(logits.scalars[(i * k)..<((i + 1) * k)], label: Int(labels[i])) }
  }
}
