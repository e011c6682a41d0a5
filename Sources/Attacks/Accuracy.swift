import Foundation
import Harness
import NumericCore

/// Arg-max accuracy on each split, mean ± std over models.
///
/// ```
/// acc(θ, S) = (1/|S|) Σ_{(x, y) ∈ S} 1[argmax_c z_θ(x)_c = y]
/// ```
/// Retain, test and validation accuracy should stay high; forget accuracy is best
/// when it equals the retrained models' (below it also reveals that unlearning ran).
public struct AccuracyMetric: Metric {
  public var splits: [Split]

  public init(splits: [Split] = [.retain, .forget, .test, .validation]) { self.splits = splits }

  public var columns: [MetricColumn] {
    splits.map { s in
      let forget = s == .forget
      let description =
        "Arg-max accuracy on the \(s) split, mean ± std over models"
        + (forget ? "; best when equal to the retrained models' (below it reveals unlearning too)." : ".")
      return MetricColumn(
        name: "\(s)_accuracy", header: "\(s) acc %", direction: forget ? .closestToRetrain : .higherIsBetter,
        description: description, displayScale: 100, decimals: 2, table: s == .validation ? .none : .main,
        category: forget ? .forgetting : .utility)
    }
  }

  public var inputs: MetricInputs {
    var i = MetricInputs()
    i.splits = Set(splits)
    return i
  }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    var out = [String: MetricValue]()
    for s in splits {
      out["\(s)_accuracy"] = MetricValue(summarising: try input.population.accuracies(s, labels: try input.labels(s)))
    }
    return out
  }
}
