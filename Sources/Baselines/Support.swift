import Harness
import Networks
import NumericCore

/// Seeds of from-scratch training, shared by ``Retrain`` and ``SISA`` so that
/// SISA with one shard and one slice is bit for bit the retrained model.
enum ScratchSeeds {
  /// Initialisation of shard `shard` (the monolithic model is shard 0).
  static func initialization(_ seed: UInt64, shard: Int) -> UInt64 {
    Seeds.derive(seed, "scratch", "init", String(shard))
  }
  /// Shuffling of slice stage `slice` of shard `shard`.
  static func shuffle(_ seed: UInt64, shard: Int, slice: Int) -> UInt64 {
    Seeds.derive(seed, "scratch", "shuffle", String(shard), String(slice))
  }
}

/// Runs an approximate method's training; when the time budget runs out it
/// keeps the model trained so far (the budget is respected, not failed).
func untilDeadline(_ body: () throws -> Void) throws {
  do { try body() } catch NetworkError.deadlineExceeded {}
}

/// A network for `weights`, sized for `batchSize`.
func makeNetwork(_ weights: ModelWeights, batchSize: Int) throws -> Network {
  try Network(weights: weights, maxBatch: Swift.max(batchSize, 256))
}

/// Throws an error naming `algorithms.<algorithm>.<key>` unless `valid`.
func check(_ valid: Bool, _ algorithm: String, _ key: String, _ why: @autoclosure () -> String) throws {
  guard valid else { throw HarnessError("algorithms.\(algorithm).\(key)", why()) }
}

/// Validates an algorithm's training recipe, naming `algorithms.<algorithm>` in the error.
func checkRecipe(_ training: TrainingConfig?, _ algorithm: String) throws {
  do { try training?.validate() } catch { throw HarnessError("algorithms.\(algorithm)", "\(error)") }
}
