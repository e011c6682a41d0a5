import Foundation
import Harness
import NumericCore

/// Weight-space distance to retraining, Thudi et al.'s "verification error"
/// (EuroS&P 2022), normalised:
///
/// ```
/// d(θ) = ‖θ − θ_r*‖₂ / ‖θ_original − θ_r*‖₂
/// ```
/// where θ_r* is retrained on the retain set from the original's initialisation
/// and seeds (the distance is meaningless between different initialisations). 1 is
/// no movement towards retraining, 0 is the retrained weights. The runner measures
/// it for every single-network model when the job runs (weights are not stored);
/// ensembles (SISA) and models retrained from other seeds have none.
public struct WeightDistance: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "weight_distance", header: "weight dist", direction: .lowerIsBetter,
        description:
          "Normalised L2 distance ‖θ − θ_r*‖ / ‖θ_original − θ_r*‖ to the model retrained on retain from "
          + "the original's initialisation (Thudi et al., EuroS&P 2022), mean ± std over models.",
        decimals: 3)
    ]
  }

  public var inputs: MetricInputs { .weightDistances }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    if input.population.external {
      return missing("an external model: the harness stores its checkpoints unread and has no weights")
    }
    switch input.population.role {
    case .original: return ["weight_distance": MetricValue(mean: 1, note: "by definition")]
    case .retrain, .originalSeeds, .ownReference:
      return missing("trained from other initialisations: the distance is not meaningful")
    case .ownOriginal, .algorithm:
      guard let d = input.population.weightDistances else { return missing("ensembles have no single weight vector") }
      return ["weight_distance": MetricValue(summarising: d)]
    }
  }
}
