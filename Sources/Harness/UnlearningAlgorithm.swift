import Foundation
import Networks
import NumericCore

/// What an unlearning algorithm is given.
public struct UnlearningRequest: Sendable {
  /// The trained model to unlearn from; algorithms must not modify it (it is a value).
  public var original: ModelWeights
  /// The algorithm's own original, when it trains one (``UnlearningAlgorithm/trainOriginal(_:)``).
  public var own: TrainedOriginal?
  public var forget: LabeledExamples
  public var retain: LabeledExamples
  public var validation: LabeledExamples
  /// Dataset ids of the forget and retain rows, in the same order (sorted).
  public var forgetIDs: [Int]
  public var retainIDs: [Int]
  /// The experiment's training recipe (used by retraining-style methods).
  public var training: TrainingConfig
  /// Seed of this run; all of the algorithm's randomness must come from it.
  public var seed: UInt64
  /// Wall-clock budget in seconds (nil: unlimited).
  public var timeBudget: Double?
  /// When the budget runs out (set by the runner when the job starts). Approximate
  /// methods stop and return their current model; exact methods fail.
  public var deadline: Deadline?
  /// Where the runner stores this job's outputs (set by the runner; nil when called directly).
  /// An algorithm may leave logs here; `.npy`, `.npz` and `.safetensors` files are reserved for the runner.
  public var jobDirectory: URL?
  /// A private, empty folder for temporary files (set by the runner under `RUN/.work/`;
  /// nil: make one in the system's temporary directory).
  public var scratchDirectory: URL?
  /// True once the run is being interrupted (SIGINT): long-running work may stop early by throwing.
  public var isCancelled: @Sendable () -> Bool = { false }

  public init(
    original: ModelWeights, forget: LabeledExamples, retain: LabeledExamples, validation: LabeledExamples,
    forgetIDs: [Int] = [], retainIDs: [Int] = [], training: TrainingConfig, seed: UInt64, timeBudget: Double? = nil,
    own: TrainedOriginal? = nil
  ) {
    self.original = original
    self.forget = forget
    self.retain = retain
    self.validation = validation
    self.forgetIDs = forgetIDs
    self.retainIDs = retainIDs
    self.training = training
    self.seed = seed
    self.timeBudget = timeBudget
    self.deadline = timeBudget.map { Deadline(seconds: $0) }
    self.own = own
  }
}

/// What an algorithm that trains its own original model is given (the training split only).
public struct OriginalTrainingRequest: Sendable {
  public var architecture: Architecture
  public var train: LabeledExamples
  /// Dataset ids of the rows of `train` (sorted).
  public var trainIDs: [Int]
  public var training: TrainingConfig
  public var seed: UInt64

  public init(
    architecture: Architecture, train: LabeledExamples, trainIDs: [Int], training: TrainingConfig, seed: UInt64
  ) {
    self.architecture = architecture
    self.train = train
    self.trainIDs = trainIDs
    self.training = training
    self.seed = seed
  }
}

/// What an exact algorithm's own reference is trained from, for one deletion round: the
/// round's retain set, the forget sets so far, and the algorithm's own original that the
/// evaluated model of the same index unlearns from (so the reference can keep what the
/// original's randomness fixed before any data was seen: SISA's partition and initialisations).
public struct ReferenceTrainingRequest: Sendable {
  public var architecture: Architecture
  /// What is left of the training split after this round.
  public var retain: LabeledExamples
  /// Dataset ids of the rows of `retain` (sorted).
  public var retainIDs: [Int]
  /// The forget set of every deletion round up to this one, first round first.
  public var forgetRounds: [[Int]]
  public var training: TrainingConfig
  /// One seed per round so far, derived as the evaluated models' unlearning seeds are (round 1: the
  /// reference job's seed).
  public var roundSeeds: [UInt64]
  /// The own original the evaluated model of the same index starts from.
  public var own: TrainedOriginal

  public init(
    architecture: Architecture, retain: LabeledExamples, retainIDs: [Int], forgetRounds: [[Int]],
    training: TrainingConfig, roundSeeds: [UInt64], own: TrainedOriginal
  ) {
    self.architecture = architecture
    self.retain = retain
    self.retainIDs = retainIDs
    self.forgetRounds = forgetRounds
    self.training = training
    self.roundSeeds = roundSeeds
    self.own = own
  }
}

/// An algorithm's own original: the model it serves before any unlearning,
/// and whatever it keeps to unlearn later (SISA: shards and checkpoints).
public struct TrainedOriginal: Sendable {
  public var model: UnlearnedModel
  public var state: any Sendable

  public init(model: UnlearnedModel, state: any Sendable) {
    self.model = model
    self.state = state
  }
}

/// The result of unlearning: one network, or an ensemble whose predictions are aggregated.
public struct UnlearnedModel: Sendable, Equatable {
  public enum Aggregation: String, Codable, Sendable, CaseIterable {
    /// One network.
    case single
    /// Mean of the members' softmax outputs; logits are log of the mean.
    case mean
    /// Majority vote of the members' arg-max; logits are log of the vote shares (smoothed).
    case vote
  }

  public var members: [ModelWeights]
  public var aggregation: Aggregation
  /// Fraction of the original training work (example-epochs) redone, when the algorithm accounts for it.
  public var workFraction: Double?
  /// What an algorithm that owns its original keeps for the next deletion round
  /// (SISA: updated slices and checkpoints); passed back as `request.own`. Not compared by `==`.
  public var state: (any Sendable)?

  public static func == (a: UnlearnedModel, b: UnlearnedModel) -> Bool {
    a.members == b.members && a.aggregation == b.aggregation && a.workFraction == b.workFraction
  }

  public init(_ weights: ModelWeights) {
    members = [weights]
    aggregation = .single
    workFraction = nil
  }

  public init(
    ensemble: [ModelWeights], aggregation: Aggregation, workFraction: Double? = nil, state: (any Sendable)? = nil
  ) {
    precondition(!ensemble.isEmpty)
    members = ensemble
    self.aggregation = ensemble.count == 1 && aggregation != .vote ? .single : aggregation
    self.workFraction = workFraction
    self.state = state
  }

  public var architecture: Architecture { members[0].architecture }
  public var allFinite: Bool { members.allSatisfy(\.allFinite) }

  /// Logits `[n, classes]` of the (aggregated) model.
  public func logits(_ features: Tensor) throws -> Tensor {
    let outs = try members.map { try Network(weights: $0, maxBatch: 256).logits(features) }
    if aggregation == .single { return outs[0] }
    let n = features.rows, k = architecture.numClasses
    var agg = [Double](repeating: 0, count: n * k)
    for z in outs {
      for i in 0..<n {
        let row = z.scalars[(i * k)..<((i + 1) * k)]
        switch aggregation {
        case .mean:
          for (c, p) in Softmax.probabilities(row).enumerated() { agg[i * k + c] += p }
        default:
          var best = 0
          for c in 1..<k where row[i * k + c] > row[i * k + best] { best = c }
          agg[i * k + best] += 1
        }
      }
    }
    let smoothing = aggregation == .vote ? 1e-3 : 0
    let total = Double(members.count) + Double(k) * smoothing
    return Tensor(shape: [n, k], scalars: agg.map { Float(log(($0 + smoothing) / total)) })
  }
}

/// Whether an algorithm removes the forget set's influence exactly.
public enum UnlearningKind: String, Codable, Sendable {
  case exact, approximate
}

/// An unlearning algorithm: given the original model and the data, return the
/// unlearned model. The scikit-learn convention applies: a conforming type
/// stores its hyper-parameters unchanged, validates them in ``unlearn(_:)``,
/// and builds its random generator from the request's seed, so the same
/// request always gives the same model.
public protocol UnlearningAlgorithm: Sendable {
  /// Registry name, e.g. `finetune`.
  var name: String { get }
  var kind: UnlearningKind { get }
  /// The resolved hyper-parameters (defaults included), for results and provenance.
  var hyperParameters: [String: ConfigValue] { get }
  /// Trains the algorithm's own original model, for methods that own how it is
  /// trained (SISA). The default, nil, means the harness's standard training.
  func trainOriginal(_ request: OriginalTrainingRequest) throws -> TrainedOriginal?
  /// True for an exact method whose models are not the harness's single networks (SISA's
  /// ensembles): it is scored against its own exact reference, N runs of
  /// ``trainReference(_:)``, instead of against the retrained networks, which would measure the
  /// difference of the model families, not a failure to forget. Its utility is still compared
  /// with retraining. Default: false.
  var hasOwnReference: Bool { get }
  /// The algorithm's own training from scratch on a round's retain set: what its unlearned
  /// model claims to equal in distribution. Default: ``trainOriginal(_:)`` on the retain set
  /// with the round's seed.
  func trainReference(_ request: ReferenceTrainingRequest) throws -> UnlearnedModel
  /// Checks the hyper-parameters, throwing an error that names the bad one. The runner
  /// calls it for every algorithm before any job runs, however the algorithm was
  /// constructed; `unlearn` calls it too, so a direct call never traps on a bad value.
  func validate() throws
  /// Returns the unlearned model (same architecture as `request.original`).
  func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel
}

extension UnlearningAlgorithm {
  public var hyperParameters: [String: ConfigValue] { [:] }
  public func validate() throws {}
  public var hasOwnReference: Bool { false }
  public func trainOriginal(_ request: OriginalTrainingRequest) throws -> TrainedOriginal? { nil }

  public func trainReference(_ request: ReferenceTrainingRequest) throws -> UnlearnedModel {
    let fresh = OriginalTrainingRequest(
      architecture: request.architecture, train: request.retain, trainIDs: request.retainIDs,
      training: request.training, seed: request.roundSeeds.last ?? 0)
    guard let own = try trainOriginal(fresh) else {
      throw HarnessError(name, "declares its own reference but trains no original of its own")
    }
    return own.model
  }
}
