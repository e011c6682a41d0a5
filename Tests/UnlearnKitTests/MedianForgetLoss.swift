import Foundation
import Harness
import NumericCore

/// A metric written as a participant or a later issue would add one: this file, plus one
/// registration line (`Registry.metrics + [MedianForgetLoss()]` in the test that uses it).
///
/// ```
/// median forget loss = median over forget examples of −log softmax(z)_y, mean ± std over models
/// ```
struct MedianForgetLoss: Metric {
  var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "median_forget_loss", header: "median forget loss", direction: .closestToRetrain,
        description: "Median cross-entropy on the forget set, mean ± std over models (a test of the registry).",
        decimals: 4)
    ]
  }

  var inputs: MetricInputs { .logits(.forget) }

  func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let labels = try input.labels(.forget)
    guard !labels.isEmpty else { return missing("no forget examples") }
    let medians = try input.population.models.map { m in
      Summary.median(Softmax.logProbabilities(try m.logits(.forget), labels: labels).map { -$0 })
    }
    return ["median_forget_loss": MetricValue(summarising: medians)]
  }
}
