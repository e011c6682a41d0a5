import Foundation
import Networks
import NumericCore

/// Extra model runs an attack needs besides the evaluated models, e.g. U-LiRA's shadow
/// "train, then unlearn" runs of every approximate algorithm.
///
/// A metric names its plan in ``Metric/shadowRuns`` and declares `shadowRuns` in its
/// inputs. The runner schedules the plan's runs as jobs next to the models (sharded,
/// resumable, a failure recorded like any job's), the store keeps each run's logits in
/// `jobs/<algorithm>/<name>/<index>/`, and the metric reads them as
/// ``MetricInput/shadowRuns``, in index order.
public protocol ShadowRunPlan: Sendable {
  /// The job and folder name, e.g. `ulira`.
  var name: String { get }
  /// What the runs are called in messages, e.g. `U-LiRA shadow`.
  var title: String { get }
  /// The splits whose logits each run stores (on the round-1 examples).
  var splits: Set<Split> { get }
  /// How many runs of the algorithm called `algorithm`, of kind `kind`, the experiment needs (0: none).
  func count(algorithm: String, kind: UnlearningKind, spec: ExperimentSpec) -> Int
  /// Runs number `index` for `algorithm` and returns the model whose logits are stored.
  /// All of the run's randomness comes from `seed` (a hash of the experiment seed, the
  /// plan's name, the algorithm and the index).
  func run(_ index: Int, of algorithm: any UnlearningAlgorithm, in experiment: PreparedExperiment, seed: UInt64)
    throws -> UnlearnedModel
}
