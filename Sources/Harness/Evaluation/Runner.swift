import Foundation
import Networks
import NumericCore

/// One deletion request: the examples forgotten in this round and the retain set after it.
public struct DeletionRound: Sendable, Equatable {
  public var forget: [Int]
  public var retain: [Int]
}

extension PreparedExperiment {
  /// Sequential deletion requests. Round 1 forgets the configured forget set;
  /// every later round forgets a new batch of the same size drawn at random from
  /// what is still retained (seeded by the experiment seed and the round).
  public func deletionRounds(_ count: Int) throws -> [DeletionRound] {
    var rounds = [DeletionRound(forget: splits.forget, retain: splits.retain)]
    var retain = splits.retain
    for r in 1..<Swift.max(count, 1) {
      let size = splits.forget.count
      guard retain.count > size else {
        throw HarnessError(
          "evaluation.rounds",
          "round \(r + 1) would forget \(size) of the \(retain.count) examples left; use fewer rounds")
      }
      var rng = Xoshiro256StarStar(seed: Seeds.derive(spec.seed, "deletion-round", String(r)))
      let pick = Set(rng.permutation(retain.count).prefix(size).map { retain[$0] })
      retain = retain.filter { !pick.contains($0) }
      rounds.append(DeletionRound(forget: pick.sorted(), retain: retain))
    }
    return rounds
  }

  /// The four scored splits of a deletion round: its forget and retain sets, test and validation.
  public func examples(_ round: DeletionRound) -> PerSplit<LabeledExamples> {
    PerSplit(
      forget: examples(round.forget), retain: examples(round.retain), test: examples(splits.test),
      validation: examples(splits.validation), audit: examples(splits.audit))
  }
}

/// One job of a run: a model of an algorithm (every deletion round of it, in order:
/// round r starts from round r − 1's model), or a shadow run of an attack's plan.
public struct Job: Sendable, Hashable {
  public var id: JobID
  /// All of the job's randomness comes from this seed.
  public var seed: UInt64
}

/// Runs an evaluation in phases: **prepare** (the run folder, its identity, the
/// labels and the original model), **schedule** (a ``Job`` per model and shadow
/// run, in a fixed order, of which a shard takes its share), **execute** (the
/// pending jobs on the worker pool, each storing its logits on every split), and
/// **load** (every finished model back from the store). Scoring is the
/// ``Scorer``'s. Finished jobs are skipped, so a killed run resumes where it
/// stopped; a job's outputs depend only on its seed, never on the number of
/// workers, the order of jobs or the shard that ran it.
public struct EvaluationRunner: Sendable {
  public var experiment: PreparedExperiment
  /// The reference (`retrain`) first, then the algorithms to evaluate (``OriginalSeeds`` is added after retrain).
  public var algorithms: [any UnlearningAlgorithm]
  public var models: Int
  public var workers: Int
  public var store: RunStore
  /// Seconds each unlearning job may take (nil: unlimited).
  public var timeBudget: Double?
  /// Models of ``OriginalSeeds`` to train (the IN references of LiRA and RMIA; 0: none).
  public var referenceOriginals: Int
  /// The attacks' extra model runs (``ShadowRunPlan``), scheduled after the models.
  public var shadowPlans: [any ShadowRunPlan] = []
  /// Polled before each job: when it returns true no new job starts (SIGINT); finished jobs are kept.
  public var shouldStop: @Sendable () -> Bool = { false }
  /// Run only share `index` of `count` of the jobs (``ShardSpec``), and stop before loading:
  /// `unlearn merge` joins the shards' folders and scores them.
  public var shard: ShardSpec? = nil
  /// Called with (0, total) when the jobs start, then from the workers as each finishes;
  /// nil: a `progress` line every 10 %.
  public var onJobDone: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil

  public init(
    experiment: PreparedExperiment, algorithms: [any UnlearningAlgorithm], models: Int, workers: Int,
    store: RunStore, timeBudget: Double? = nil, referenceOriginals: Int = 0
  ) {
    self.experiment = experiment
    self.algorithms = algorithms
    self.models = models
    self.workers = workers
    self.store = store
    self.timeBudget = timeBudget
    self.referenceOriginals = referenceOriginals
    if referenceOriginals > 0 {
      let train = experiment.examples(experiment.splits.train)
      self.algorithms.insert(OriginalSeeds(train: train), at: Swift.min(1, self.algorithms.count))
    }
  }

  /// Deletion rounds (1: a single forget set).
  public var rounds: Int { store.rounds }

  /// Models to run for `algorithm`.
  func count(_ algorithm: any UnlearningAlgorithm) -> Int {
    algorithm.name == OriginalSeeds.name ? referenceOriginals : models
  }

  /// The seed of job `index` of `algorithm`: a hash of (experiment seed, "job", algorithm, index).
  public func seed(_ algorithm: String, _ index: Int) -> UInt64 {
    Seeds.derive(experiment.spec.seed, "job", algorithm, String(index))
  }

  /// What happened, for the report.
  public struct Outcome: Sendable {
    /// The deletion rounds, and per round the populations loaded (original first).
    public var rounds: [DeletionRound]
    public var populations: [[Population]]
    /// The jobs of this invocation that failed.
    public var failures: [JobFailure]
    public var jobsRun: Int
    public var jobsSkipped: Int
    /// The jobs this invocation was responsible for (all of them, or a shard's share).
    public var assigned: [JobID]
  }

  /// Prepares the folder, runs every missing job and, unless this is a shard or the run
  /// was stopped, loads what `request` asks for (default: everything) of every population.
  public func run(load request: LoadRequest? = nil, progress: @escaping @Sendable (String) -> Void = { _ in })
    throws -> Outcome
  {
    let prepared = try profiled("prepare") { try prepare(progress: progress) }
    let schedule = try self.schedule()
    if !schedule.pending.isEmpty {
      progress(
        "running \(schedule.pending.count) jobs on \(workers) worker\(workers == 1 ? "" : "s") "
          + "(\(schedule.skipped) already done)")
    }
    let failures = try profiled("jobs") { try execute(schedule.pending, prepared, progress: progress) }
    var outcome = Outcome(
      rounds: prepared.deletions, populations: [], failures: failures, jobsRun: schedule.pending.count,
      jobsSkipped: schedule.skipped, assigned: schedule.assigned.map(\.id))
    if shouldStop() || shard != nil { return outcome }
    outcome.populations = try profiled("load") { try load(request ?? fullLoad) }
    return outcome
  }

  /// Only the prepare phase: the folder described and the originals trained (or found).
  public func prepareOnly(progress: @escaping @Sendable (String) -> Void = { _ in }) throws {
    _ = try prepare(progress: progress)
  }

  // MARK: Load

  /// The populations of the run, in report order: the originals, the algorithms' own
  /// originals (round 1), the references (retrain, original-seeds, the algorithms' own exact
  /// references), then every evaluated algorithm.
  public var entries: [PopulationEntry] {
    let k = experiment.spec.evaluation.originals
    var out = [PopulationEntry(role: .original, kind: nil, requested: k)]
    for a in algorithms where store.hasOwnOriginal(a.name) {
      out.append(PopulationEntry(role: .ownOriginal(a.name), kind: nil, requested: k))
    }
    let references = algorithms.filter { Role(algorithm: $0.name).isReference }
    for a in references {
      out.append(PopulationEntry(role: Role(algorithm: a.name), kind: a.kind, requested: count(a)))
    }
    for a in algorithms where a.hasOwnReference {
      out.append(PopulationEntry(role: .ownReference(a.name), kind: a.kind, requested: models))
    }
    for a in algorithms where !Role(algorithm: a.name).isReference {
      out.append(PopulationEntry(role: Role(algorithm: a.name), kind: a.kind, requested: count(a)))
    }
    return out
  }

  /// Everything: the logits of every split and every shadow run.
  public var fullLoad: LoadRequest {
    LoadRequest(splits: Set(Split.allCases), shadows: shadowPlans.map(shadowLoad), workers: workers)
  }

  /// How to load the runs of `plan`.
  func shadowLoad(_ plan: any ShadowRunPlan) -> LoadRequest.ShadowLoad {
    var counts = [String: Int]()
    for a in algorithms { counts[a.name] = plan.count(algorithm: a.name, kind: a.kind, spec: experiment.spec) }
    return LoadRequest.ShadowLoad(plan: plan.name, splits: plan.splits, counts: counts)
  }

  /// Every population of every round, from the store.
  public func load(_ request: LoadRequest) throws -> [[Population]] {
    let external = experiment.isExternal
    return try (0..<rounds).map { r in
      var populations = try store.populations(entries, round: r, request: request)
      for i in populations.indices { populations[i].external = external }
      return populations
    }
  }
}

extension RunStore {
  /// True when the algorithm called `name` has stored its own original (e.g. SISA's ensemble).
  public func hasOwnOriginal(_ name: String) -> Bool {
    FileManager.default.fileExists(
      atPath: ownOriginalDirectory(name).appendingPathComponent(Self.logitsFile).path)
  }
}
