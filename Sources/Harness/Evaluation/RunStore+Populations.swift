import Foundation
import Networks
import NumericCore

/// One population a run holds: its role, kind and how many models were asked for.
public struct PopulationEntry: Sendable, Equatable {
  public var role: Role
  public var kind: UnlearningKind?
  public var requested: Int

  public init(role: Role, kind: UnlearningKind?, requested: Int) {
    self.role = role
    self.kind = kind
    self.requested = requested
  }
}

/// What to read of a run: the logits of which splits, and which shadow runs.
public struct LoadRequest: Sendable, Equatable {
  /// Logits (and labels) of these splits.
  public var splits: Set<Split>
  /// Shadow-run plans to load: runs per algorithm (by algorithm name) and the splits they stored.
  public var shadows: [ShadowLoad]

  public struct ShadowLoad: Sendable, Equatable {
    public var plan: String
    public var splits: Set<Split>
    /// Runs of each algorithm (absent: none).
    public var counts: [String: Int]

    public init(plan: String, splits: Set<Split>, counts: [String: Int]) {
      self.plan = plan
      self.splits = splits
      self.counts = counts
    }
  }

  /// Jobs read in parallel on this many threads (the populations come out the same).
  public var workers: Int

  public init(splits: Set<Split> = Set(Split.allCases), shadows: [ShadowLoad] = [], workers: Int = 1) {
    self.splits = splits
    self.shadows = shadows
    self.workers = workers
  }
}

extension RunStore {
  /// The populations of `entries` in deletion round `round` (0-based), each with the
  /// models that finished and the jobs that did not. Own originals exist in round 0 only.
  public func populations(_ entries: [PopulationEntry], round: Int, request: LoadRequest) throws -> [Population] {
    try entries.filter { round == 0 || !$0.role.isOwnOriginal }.map { entry in
      try population(entry, round: round, request: request)
    }
  }

  /// One population in round `round`: every finished model of the entry, its record's
  /// wall times, work fractions and weight distances, and a failure for every job that
  /// did not finish (the recorded reason, or "did not finish").
  public func population(_ entry: PopulationEntry, round: Int, request: LoadRequest) throws -> Population {
    switch entry.role {
    case .original, .ownOriginal:
      let models = try (0..<entry.requested).map { k in
        try outputs(in: outputsDirectory(entry.role, index: k, round: round), splits: request.splits)
      }
      return Population(role: entry.role, kind: entry.kind, models: models)
    case .ownReference(let a):
      return try jobs(entry, algorithm: a, group: JobID.reference, round: round, request: request)
    case .retrain, .originalSeeds, .algorithm(_):
      var p = try jobs(entry, algorithm: entry.role.name, group: nil, round: round, request: request)
      for shadow in request.shadows {
        let (runs, failed) = try shadowRuns(shadow, algorithm: entry.role.name)
        if let runs { p.shadowRuns[shadow.plan] = runs }
        p.failures += failed
      }
      return p
    }
  }

  /// The models of jobs `0..<entry.requested` of `algorithm` (in `group`) in round `round`.
  func jobs(_ entry: PopulationEntry, algorithm: String, group: String?, round: Int, request: LoadRequest) throws
    -> Population
  {
    // Each job's record and outputs are read in parallel, then taken in job order (the first
    // error in job order is the one thrown, as a sequential read would).
    let read = WorkerPool.mapResults(count: entry.requested, workers: request.workers) { i in
      let job = JobID(algorithm: algorithm, index: i, group: group)
      guard let record = try record(job) else {
        return (job, JobRecord?.none, ModelOutputs?.none)
      }
      guard record.seconds.indices.contains(round) || record.imported == true else {
        throw HarnessError(
          jobDirectory(job).path, "job.json has no round \(round + 1); delete the folder to recompute it")
      }
      return (job, record, try outputs(in: inRound(jobDirectory(job), round), splits: request.splits))
    }
    var models = [ModelOutputs](), indices = [Int](), failures = [JobFailure]()
    var seconds = [Double](), work = [Double](), distances = [Double](), imported = false
    for (i, result) in read.enumerated() {
      let (job, record, outputs) = try result.get()
      guard let record, let outputs else {
        failures.append(try failure(job) ?? JobFailure(job, reason: "did not finish (no job.json)"))
        continue
      }
      imported = imported || record.imported == true
      models.append(outputs)
      indices.append(i)
      if record.seconds.indices.contains(round) { seconds.append(record.seconds[round]) }
      if let w = record.workFraction, w.indices.contains(round) { work.append(w[round]) }
      if let d = record.weightDistance, d.indices.contains(round) { distances.append(d[round]) }
    }
    var p = Population(
      role: entry.role, kind: entry.kind, models: models, jobIndices: indices, requested: entry.requested,
      failures: failures, seconds: imported ? nil : seconds)
    if !work.isEmpty && work.count == models.count { p.workFractions = work }
    if !distances.isEmpty && distances.count == models.count { p.weightDistances = distances }
    return p
  }

  /// The shadow runs of one plan for `algorithm`: all of them, or nil and the failures.
  func shadowRuns(_ load: LoadRequest.ShadowLoad, algorithm: String) throws -> ([ModelOutputs]?, [JobFailure]) {
    guard let count = load.counts[algorithm], count > 0 else { return (nil, []) }
    var runs = [ModelOutputs](), failures = [JobFailure]()
    for s in 0..<count {
      let job = JobID(algorithm: algorithm, index: s, group: load.plan)
      if isFinished(job) {
        runs.append(try outputs(in: jobDirectory(job), splits: load.splits))
      } else {
        failures.append(try failure(job) ?? JobFailure(job, reason: "did not finish (no job.json)"))
      }
    }
    return (failures.isEmpty ? runs : nil, failures)
  }
}

extension Role {
  var isOwnOriginal: Bool {
    if case .ownOriginal = self { return true }
    return false
  }
}
