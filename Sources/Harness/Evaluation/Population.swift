import Foundation
import Networks
import NumericCore

/// The stored outputs of one model: its logits `[n, classes]` on the splits that were loaded.
public struct ModelOutputs: Sendable {
  public var logits: PerSplit<Tensor?>

  public init(logits: PerSplit<Tensor?>) { self.logits = logits }

  /// Outputs with logits on every split.
  public init(_ logits: PerSplit<Tensor>) { self.logits = logits.map { $0 } }

  /// The logits on `split`. Throws when they were not loaded: a metric that reads a
  /// split must declare it in its ``MetricInputs``.
  public func logits(_ split: Split) throws -> Tensor {
    guard let z = logits[split] else {
      throw HarnessError(
        "logits of the \(split) split", "not loaded; a metric that reads them must declare them in its inputs")
    }
    return z
  }
}

/// Identifies one job of a run: model `index` of an algorithm, or run `index` of one of its
/// groups of extra runs: a shadow-run plan of an attack (``ShadowRunPlan``, e.g. `ulira`), or
/// `reference`, the runs of the algorithm's own exact reference.
public struct JobID: Codable, Sendable, Hashable, CustomStringConvertible {
  public var algorithm: String
  public var index: Int
  /// The group of extra runs (a plan's name, or ``JobID/reference``); nil for an evaluated model.
  public var group: String?

  /// The group of an algorithm's own reference runs.
  public static let reference = "reference"

  public init(algorithm: String, index: Int, group: String? = nil) {
    self.algorithm = algorithm
    self.index = index
    self.group = group
  }

  public var description: String { group.map { "\(algorithm) \($0) #\(index)" } ?? "\(algorithm) #\(index)" }
}

/// A job that did not produce a model, and why.
public struct JobFailure: Codable, Sendable, Equatable {
  public var algorithm: String
  public var index: Int
  /// The group of extra runs, for a failed extra run.
  public var group: String?
  public var reason: String

  public init(_ job: JobID, reason: String) {
    algorithm = job.algorithm
    index = job.index
    group = job.group
    self.reason = reason
  }

  public var job: JobID { JobID(algorithm: algorithm, index: index, group: group) }
}

/// The record a finished job leaves (`job.json`, written last: it marks the job done).
public struct JobRecord: Codable, Sendable, Equatable {
  public var algorithm: String
  public var index: Int
  public var seed: UInt64
  /// Wall time of the algorithm's `unlearn` call in each deletion round (or of training, for the original).
  public var seconds: [Double]
  /// Fraction of the original training work redone in each round, when the algorithm reports it.
  public var workFraction: [Double]?
  /// ‖θ − θ_r*‖ / ‖θ_original − θ_r*‖ per round, θ_r* retrained on retain from the original's
  /// initialisation and seeds (single-network models only).
  public var weightDistance: [Double]? = nil
  /// What an external model's command declared (`backend.json`): deterministic unless every
  /// round said so, and where it ran.
  public var backend: BackendDeclaration? = nil
  /// True for a model imported with `unlearn import`: its logits were computed elsewhere, and
  /// its wall times are unknown (the time columns say "—").
  public var imported: Bool? = nil

  public init(algorithm: String, index: Int, seed: UInt64, seconds: [Double], workFraction: [Double]? = nil) {
    self.algorithm = algorithm
    self.index = index
    self.seed = seed
    self.seconds = seconds
    self.workFraction = workFraction
  }
}

/// The finished models of one role in one deletion round, with what the run measured
/// about each of them, and the jobs that did not finish.
///
/// Per-model arrays (`jobIndices`, `seconds`, `workFractions`, `weightDistances`) are
/// aligned with `models`. Only what was asked for is loaded (see ``MetricInputs``).
public struct Population: Sendable {
  public var role: Role
  /// True for the models of an external backend (`model.kind: external`): the harness has
  /// their logits and opaque checkpoints, never their weights.
  public var external = false
  /// exact / approximate; nil for the original models (not the result of unlearning).
  public var kind: UnlearningKind?
  public var models: [ModelOutputs]
  /// The job index of each model.
  public var jobIndices: [Int]
  /// Models the run asked for (finished and not).
  public var requested: Int
  /// Jobs that failed or did not finish.
  public var failures: [JobFailure]
  /// Wall time of each model's unlearning, seconds (nil when no unlearning ran, or not loaded).
  public var seconds: [Double]?
  /// Fraction of the original training work each model's unlearning redid (when the algorithm reports it).
  public var workFractions: [Double]?
  /// Normalised weight distance of each model to the same-initialisation retrained model (single networks).
  public var weightDistances: [Double]?
  /// Outputs of the shadow runs of an attack's ``ShadowRunPlan``, by plan name (when loaded).
  public var shadowRuns: [String: [ModelOutputs]] = [:]

  public init(
    role: Role, kind: UnlearningKind?, models: [ModelOutputs], jobIndices: [Int]? = nil, requested: Int? = nil,
    failures: [JobFailure] = [], seconds: [Double]? = nil
  ) {
    self.role = role
    self.kind = kind
    self.models = models
    self.jobIndices = jobIndices ?? Array(models.indices)
    self.requested = requested ?? models.count
    self.failures = failures
    self.seconds = seconds
  }

  /// The row name (``Role/name``).
  public var name: String { role.name }

  /// The models at `positions` (in that order, repeats allowed), with their per-model values.
  public func subset(_ positions: [Int]) -> Population {
    var p = self
    p.models = positions.map { models[$0] }
    p.jobIndices = positions.map { jobIndices[$0] }
    p.seconds = seconds.map { s in positions.map { s[$0] } }
    p.workFractions = workFractions.map { w in positions.map { w[$0] } }
    p.weightDistances = weightDistances.map { d in positions.map { d[$0] } }
    return p
  }

  /// Models `range` (for half-against-half comparisons).
  public func slice(_ range: Range<Int>) -> Population { subset(Array(range)) }

  /// Arg-max accuracy of every model on `split`.
  public func accuracies(_ split: Split, labels: [Int32]) throws -> [Double] {
    try models.map { Network.accuracy(logits: try $0.logits(split), labels: labels) }
  }

  /// `N` for tables: the finished models, and how many of those asked for did not finish.
  public var countText: String {
    let failed = failures.filter { $0.group == nil }.count
    return failed == 0 ? "\(models.count)" : "\(models.count) (\(failed) failed)"
  }

  /// Every model with only `rows` of its `split` logits, in that order (repeats allowed).
  public func gathering(_ rows: [Int], of split: Split) -> Population {
    var p = self
    func gather(_ m: ModelOutputs) -> ModelOutputs {
      var out = m
      out.logits[split] = m.logits[split].map { $0.gatherRows(rows) }
      return out
    }
    p.models = models.map(gather)
    p.shadowRuns = shadowRuns.mapValues { $0.map(gather) }
    return p
  }
}
