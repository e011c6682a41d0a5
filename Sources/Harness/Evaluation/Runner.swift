import Foundation
import Networks
import NumericCore
import Synchronization

/// The folder of one evaluation run:
/// ```
/// RUN/config.yaml              the resolved configuration of the latest invocation
/// RUN/identity.yaml            what the stored outputs depend on (checked when resuming)
/// RUN/splits.json              the split ids and their SHA-256
/// RUN/original/                model.safetensors, architecture.json, <split>.npy logits, job.json
/// RUN/jobs/<algorithm>/parameters.json           resolved hyper-parameters
/// RUN/jobs/<algorithm>/<index>/<split>.npy       logits [n, classes] of model <index> on each split
/// RUN/jobs/<algorithm>/<index>/job.json          seed and wall time; written last (marks the job done)
/// (with k > 1 deletion rounds, the logits of round r are in <index>/round-<r>/ and original/round-<r>/)
/// RUN/labels/<split>.npy                         int64 labels of each scored split (rows of the logits)
/// RUN/.work/<algorithm>/<index>/                 scratch of a job (external commands' work folders; kept when it fails)
/// RUN/results.json, table.md, table.csv, table.tex, report.html, plots/*.png     scores
/// ```
public struct RunFolder: Sendable {
  public var url: URL

  public init(_ url: URL) { self.url = url }

  public static let splitNames = ["forget", "retain", "test", "validation"]

  public var original: URL { url.appendingPathComponent("original") }
  public func algorithm(_ name: String) -> URL { url.appendingPathComponent("jobs").appendingPathComponent(name) }
  public func job(_ name: String, _ index: Int) -> URL {
    algorithm(name).appendingPathComponent(String(format: "%04d", index))
  }
  /// Scratch space of a job (external commands' work folders), outside what the manifest hashes.
  public func work(_ name: String, _ index: Int) -> URL {
    url.appendingPathComponent(".work").appendingPathComponent(name).appendingPathComponent(
      String(format: "%04d", index))
  }
  /// The outputs of deletion round `r` (0-based) under `base`: `base` itself for a single round, else `base/round-<r+1>`.
  public func round(_ base: URL, _ r: Int, of rounds: Int) -> URL {
    rounds == 1 ? base : base.appendingPathComponent("round-\(r + 1)")
  }
}

/// The record a finished job leaves (`job.json`).
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
}

/// One job: model `index` of `algorithm`.
public struct JobID: Codable, Sendable, Equatable, Hashable {
  public var algorithm: String
  public var index: Int
  public init(algorithm: String, index: Int) {
    self.algorithm = algorithm
    self.index = index
  }
}

/// A job that did not produce a model, and why.
public struct JobFailure: Codable, Sendable, Equatable {
  public var algorithm: String
  public var index: Int
  public var reason: String
}

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
      rounds.append(DeletionRound(forget: pick.sorted(), retain: retain.filter { !pick.contains($0) }))
      retain = rounds.last!.retain
    }
    return rounds
  }
}

/// Runs an evaluation: trains (or reloads) the original model, then every
/// algorithm's N seeds and N retrained references as independent jobs on the
/// worker pool, storing each job's logits on every split. With several deletion
/// rounds, a job runs the rounds in order, each starting from its previous
/// round's model. Finished jobs are skipped, so a killed run resumes where it
/// stopped; a job's outputs depend only on its seed, never on the number of
/// workers or the order of jobs.
public struct EvaluationRunner: Sendable {
  public var experiment: PreparedExperiment
  /// The reference (`retrain`) first, then the algorithms to evaluate.
  public var algorithms: [any UnlearningAlgorithm]
  public var models: Int
  public var workers: Int
  public var folder: RunFolder
  /// Seconds each unlearning job may take (nil: unlimited).
  public var timeBudget: Double?
  /// Sequential deletion requests (1: a single forget set).
  public var rounds: Int
  /// Models of ``OriginalSeeds`` to train (the IN references of LiRA and RMIA; 0: none).
  public var referenceOriginals: Int
  /// U-LiRA shadow runs per approximate algorithm (0: off; see ``ULiRAShadows``).
  public var uliraShadows: Int = 0
  /// Polled before each job: when it returns true no new job starts (SIGINT); finished jobs are kept.
  public var shouldStop: @Sendable () -> Bool = { false }
  /// Run only share `index` of `count` of the jobs (``ShardSpec``), and stop before loading and scoring:
  /// `unlearn merge` joins the shards' folders and scores them.
  public var shard: ShardSpec? = nil
  /// Called with (0, total) when the jobs start, then from the workers as each finishes; nil: a `progress` line every 10 %.
  public var onJobDone: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil

  public init(
    experiment: PreparedExperiment, algorithms: [any UnlearningAlgorithm], models: Int, workers: Int, folder: RunFolder,
    timeBudget: Double? = nil, rounds: Int = 1, referenceOriginals: Int = 0
  ) {
    self.experiment = experiment
    self.algorithms = algorithms
    self.models = models
    self.workers = workers
    self.folder = folder
    self.timeBudget = timeBudget
    self.rounds = rounds
    self.referenceOriginals = referenceOriginals
    if referenceOriginals > 0 {
      let train = experiment.examples(experiment.splits.train)
      self.algorithms.insert(OriginalSeeds(train: train), at: Swift.min(1, self.algorithms.count))
    }
  }

  /// Models to run for `algorithm`.
  func count(_ algorithm: any UnlearningAlgorithm) -> Int {
    algorithm.name == OriginalSeeds.name ? referenceOriginals : models
  }

  /// The seed of job `index` of `algorithm`: a hash of (experiment seed, "job", algorithm, index).
  public func seed(_ algorithm: String, _ index: Int) -> UInt64 {
    Seeds.derive(experiment.spec.seed, "job", algorithm, String(index))
  }

  /// The seed of one round of a job (round 0 uses the job's seed).
  static func roundSeed(_ seed: UInt64, _ round: Int) -> UInt64 {
    round == 0 ? seed : Seeds.derive(seed, "round", String(round))
  }

  /// What happened, for the report.
  public struct Outcome: Sendable {
    /// The deletion rounds, and per round the populations scored (original first).
    public var rounds: [DeletionRound]
    public var populations: [[Population]]
    public var failures: [JobFailure]
    public var jobsRun: Int
    public var jobsSkipped: Int
    public var originalSHA256: String
    /// The jobs this invocation was responsible for (all of them, or a shard's share).
    public var assigned: [JobID] = []
  }

  /// Prepares the folder, runs every missing job, and loads all outputs.
  public func run(progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> Outcome {
    let fm = FileManager.default
    try fm.createDirectory(at: folder.url, withIntermediateDirectories: true)
    try checkIdentity()
    try writeAtomically(Data(experiment.spec.yaml.utf8), to: folder.url.appendingPathComponent("config.yaml"))
    try writeAtomically(
      try experiment.splits.jsonData(
        numExamples: experiment.dataset.count, datasetSHA256: experiment.dataset.fileListSHA256,
        config: experiment.spec.split),
      to: folder.url.appendingPathComponent("splits.json"))
    for a in algorithms { try checkParameters(a) }

    let deletions = try experiment.deletionRounds(rounds)
    let nRounds = deletions.count
    let splits = experiment.splits
    let exp = experiment
    /// The four scored splits of round r: forget, retain, test, validation.
    let roundExamples = deletions.map { d in
      [d.forget, d.retain, splits.test, splits.validation].map { exp.examples($0) }
    }
    let original = try originalModel(rounds: roundExamples, progress: progress)
    // Retrained from the original's initialisation and seeds, per round: the reference of the weight distance.
    let sameInit = try deletions.map { d -> ModelWeights in
      let net = try Network(architecture: exp.architecture, maxBatch: Swift.max(exp.spec.training.batchSize, 256))
      net.initialize(seed: Seeds.derive(exp.spec.seed, "original", "init", "0"))
      try Trainer.train(
        net, on: exp.examples(d.retain), config: exp.spec.training,
        seed: Seeds.derive(exp.spec.seed, "original", "shuffle", "0"))
      return net.weights
    }
    // The labels of every scored split, so that a run folder can be re-scored without the dataset.
    for (r, ex) in roundExamples.enumerated() {
      let dir = folder.round(folder.url.appendingPathComponent("labels"), r, of: nRounds)
      try fm.createDirectory(at: dir, withIntermediateDirectories: true)
      for (name, e) in zip(RunFolder.splitNames, ex) {
        try writeAtomically(
          NPYArray(shape: [e.count], storage: .int64(e.labels.map(Int64.init))).encoded(),
          to: dir.appendingPathComponent("\(name).npy"))
      }
    }

    // Algorithms that own their original (SISA) train it now; its outputs are stored
    // under jobs/<algorithm>/original/ (recomputed on every invocation: it is deterministic).
    let trainRequest = OriginalTrainingRequest(
      architecture: experiment.architecture, train: experiment.examples(splits.train), trainIDs: splits.train,
      training: experiment.spec.training, seed: Seeds.derive(experiment.spec.seed, "original", "init", "0"))
    let algos = algorithms, folder = folder
    let owns = try WorkerPool.map(count: algos.count, workers: workers) { a -> TrainedOriginal? in
      guard let own = try algos[a].trainOriginal(trainRequest) else { return nil }
      try Self.store(
        own.model, examples: roundExamples[0], in: folder.algorithm(algos[a].name).appendingPathComponent("original"))
      return own
    }

    // Pending jobs, reference first, in index order; a shard takes every count-th job of that order.
    var pending = [(algorithm: Int, index: Int)]()
    var assigned = [JobID]()
    var skipped = 0
    var position = 0
    for (a, algo) in algorithms.enumerated() {
      for i in 0..<count(algo) {
        defer { position += 1 }
        if let shard, position % shard.count != shard.index { continue }
        assigned.append(JobID(algorithm: algo.name, index: i))
        if fm.fileExists(atPath: folder.job(algo.name, i).appendingPathComponent("job.json").path) {
          skipped += 1
        } else {
          pending.append((a, i))
        }
      }
    }
    if !pending.isEmpty {
      progress("running \(pending.count) jobs on \(workers) worker\(workers == 1 ? "" : "s") (\(skipped) already done)")
    }
    let done = Mutex(0)
    let total = pending.count
    let step = Swift.max(1, total / 10)
    let jobs = pending
    let jobSeeds = jobs.map { seed(algos[$0.algorithm].name, $0.index) }
    let budget = timeBudget, recipe = experiment.spec.training
    let stop = shouldStop
    let onJobDone = self.onJobDone
    if total > 0 { onJobDone?(0, total) }
    let results = WorkerPool.mapResults(count: jobs.count, workers: workers) { j in
      let (a, i) = jobs[j]
      let algo = algos[a]
      if stop() { throw HarnessError("\(algo.name) #\(i)", "not started: the run was interrupted") }
      defer {
        let n = done.withLock { n -> Int in
          n += 1
          return n
        }
        if let onJobDone {
          onJobDone(n, total)
        } else if n % step == 0 || n == total {
          progress("  \(n)/\(total) jobs done")
        }
      }
      var current = original, own = owns[a]
      var seconds = [Double](), work = [Double?](), distance = [Double]()
      for (r, d) in deletions.enumerated() {
        let ex = roundExamples[r]
        var req = UnlearningRequest(
          original: current, forget: ex[0], retain: ex[1], validation: ex[3], forgetIDs: d.forget, retainIDs: d.retain,
          training: recipe, seed: Self.roundSeed(jobSeeds[j], r), timeBudget: budget, own: own)
        req.deadline = budget.map { Deadline(seconds: $0) }
        req.jobDirectory = folder.round(folder.job(algo.name, i), r, of: nRounds)
        req.scratchDirectory = folder.round(folder.work(algo.name, i), r, of: nRounds)
        req.isCancelled = stop
        let what = nRounds > 1 ? "\(algo.name) #\(i), round \(r + 1)" : "\(algo.name) #\(i)"
        let start = DispatchTime.now().uptimeNanoseconds
        let model: UnlearnedModel
        do { model = try algo.unlearn(req) } catch NetworkError.deadlineExceeded {
          throw HarnessError(what, "ran out of its time budget of \(budget ?? 0) s")
        }
        seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        work.append(model.workFraction)
        guard
          model.members.allSatisfy({
            $0.architecture == original.architecture && $0.parameters.count == original.parameters.count
          })
        else { throw HarnessError(what, "returned a model of another architecture") }
        guard model.allFinite else { throw HarnessError(what, "returned non-finite weights (NaN or infinity)") }
        try Self.store(model, examples: ex, in: folder.round(folder.job(algo.name, i), r, of: nRounds))
        if model.members.count == 1 {
          let base = original.distance(to: sameInit[r])
          distance.append(base > 0 ? model.members[0].distance(to: sameInit[r]) / base : .nan)
        }
        current = model.members[0]
        if let state = model.state { own = TrainedOriginal(model: model, state: state) }
      }
      var record = JobRecord(
        algorithm: algo.name, index: i, seed: jobSeeds[j], seconds: seconds,
        workFraction: work.contains(nil) ? nil : work.map { $0! })
      if distance.count == nRounds { record.weightDistance = distance }
      try writeAtomically(try Self.json(record), to: folder.job(algo.name, i).appendingPathComponent("job.json"))
    }
    var failures = [JobFailure]()
    for (j, r) in results.enumerated() {
      if case .failure(let e) = r {
        failures.append(
          JobFailure(algorithm: algorithms[pending[j].algorithm].name, index: pending[j].index, reason: "\(e)"))
      }
    }

    if shouldStop() || shard != nil {
      return Outcome(
        rounds: deletions, populations: [], failures: failures, jobsRun: pending.count, jobsSkipped: skipped,
        originalSHA256: "",
        assigned: assigned)
    }
    // Load every finished job (this run's and earlier ones') from disk, per round.
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    var records = [String: [Int: JobRecord]]()
    for algo in algorithms {
      for i in 0..<count(algo) where !failures.contains(where: { $0.algorithm == algo.name && $0.index == i }) {
        let url = folder.job(algo.name, i).appendingPathComponent("job.json")
        records[algo.name, default: [:]][i] = try decoder.decode(JobRecord.self, from: Data(contentsOf: url))
      }
    }
    var populations = [[Population]]()
    for r in 0..<nRounds {
      var round = [Population]()
      round.append(
        Population(
          algorithm: "original", kind: nil,
          models: [try Self.loadOutputs(folder.round(folder.original, r, of: nRounds))], seconds: nil))
      if r == 0 {
        for (a, algo) in algorithms.enumerated() where owns[a] != nil {
          let dir = folder.algorithm(algo.name).appendingPathComponent("original")
          round.append(
            Population(
              algorithm: "\(algo.name) (original)", kind: nil, models: [try Self.loadOutputs(dir)], seconds: nil))
        }
      }
      for algo in algorithms {
        var outs = [ModelOutputs](), secs = [Double](), work = [Double](), dist = [Double]()
        for i in 0..<count(algo) {
          guard let record = records[algo.name]?[i] else { continue }
          outs.append(try Self.loadOutputs(folder.round(folder.job(algo.name, i), r, of: nRounds)))
          secs.append(record.seconds[r])
          if let w = record.workFraction { work.append(w[r]) }
          if let d = record.weightDistance { dist.append(d[r]) }
        }
        var p = Population(algorithm: algo.name, kind: algo.kind, models: outs, seconds: secs)
        if !work.isEmpty && work.count == outs.count { p.workFractions = work }
        if !dist.isEmpty && dist.count == outs.count { p.weightDistances = dist }
        round.append(p)
      }
      populations.append(round)
    }
    // U-LiRA (opt-in, single deletion round): shadow train-then-unlearn runs of every approximate algorithm.
    if uliraShadows >= 2 && nRounds == 1 {
      let targets = algorithms.filter { $0.kind == .approximate }
      let shadows = try ULiRAShadows.run(self, algorithms: targets, shadows: uliraShadows, progress: progress)
      failures += shadows.failures
      for k in populations[0].indices {
        if let out = shadows.outputs[populations[0][k].algorithm] {
          populations[0][k].shadows = out
          populations[0][k].shadowInclusion = shadows.inclusion
        }
      }
    }
    let sha = try SHA256.hex(Data(contentsOf: folder.original.appendingPathComponent("model.safetensors")))
    return Outcome(
      rounds: deletions, populations: populations, failures: failures, jobsRun: pending.count, jobsSkipped: skipped,
      originalSHA256: sha,
      assigned: assigned)
  }

  /// The original model: reloaded if a previous invocation trained it, else trained and stored
  /// with its logits on every round's splits.
  func originalModel(rounds: [[LabeledExamples]], progress: (String) -> Void) throws -> ModelWeights {
    let marker = folder.original.appendingPathComponent("job.json")
    let weightsFile = folder.original.appendingPathComponent("model.safetensors")
    if FileManager.default.fileExists(atPath: marker.path) {
      return try ModelFiles.load(weightsFile, architecture: experiment.architecture)
    }
    progress("training the original model")
    BLASThreads.setSingleThreaded()
    let start = DispatchTime.now().uptimeNanoseconds
    let weights = try experiment.trainOriginal()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    try FileManager.default.createDirectory(at: folder.original, withIntermediateDirectories: true)
    try ModelFiles.save(weights, to: folder.original)
    for (r, ex) in rounds.enumerated() {
      try Self.store(UnlearnedModel(weights), examples: ex, in: folder.round(folder.original, r, of: rounds.count))
    }
    let record = JobRecord(
      algorithm: "original", index: 0, seed: Seeds.derive(experiment.spec.seed, "original", "init", "0"),
      seconds: [seconds], workFraction: nil)
    try writeAtomically(try Self.json(record), to: marker)
    return weights
  }

  /// Writes the model's logits on every split as `<split>.npy`.
  static func store(_ model: UnlearnedModel, examples: [LabeledExamples], in dir: URL) throws {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (name, ex) in zip(RunFolder.splitNames, examples) {
      try writeAtomically(
        NPYArray(try model.logits(ex.features)).encoded(), to: dir.appendingPathComponent("\(name).npy"))
    }
  }

  public static func loadOutputs(_ dir: URL) throws -> ModelOutputs {
    var logits = [String: Tensor]()
    for name in RunFolder.splitNames {
      let a = try NPYArray.read(dir.appendingPathComponent("\(name).npy"))
      guard case .float32(let v) = a.storage, a.shape.count == 2 else {
        throw HarnessError(
          dir.appendingPathComponent("\(name).npy").path, "expected float32 logits of shape [examples, classes]")
      }
      logits[name] = Tensor(shape: a.shape, scalars: v)
    }
    return ModelOutputs(logits: logits)
  }

  static func json<T: Encodable>(_ value: T) throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    enc.keyEncodingStrategy = .convertToSnakeCase
    return try enc.encode(value)
  }

  /// Refuses to mix outputs of different experiments in one folder.
  func checkIdentity() throws {
    var core = experiment.spec
    core.evaluation = EvaluationSpec(rounds: rounds)
    core.algorithms = [:]
    let identity =
      "# Everything the stored outputs depend on; a run folder only resumes the same experiment.\n" + core.yaml
    let url = folder.url.appendingPathComponent("identity.yaml")
    if let old = FileManager.default.contents(atPath: url.path) {
      guard String(decoding: old, as: UTF8.self) == identity else {
        throw HarnessError(
          folder.url.path,
          "holds a run of a different experiment (see its identity.yaml); choose another --out folder or delete this one"
        )
      }
    } else {
      try writeAtomically(Data(identity.utf8), to: url)
    }
  }

  /// Refuses to resume an algorithm whose hyper-parameters changed.
  func checkParameters(_ algo: any UnlearningAlgorithm) throws {
    let url = folder.algorithm(algo.name).appendingPathComponent("parameters.json")
    let data = try Self.json(algo.hyperParameters)
    if let old = FileManager.default.contents(atPath: url.path) {
      guard old == data else {
        throw HarnessError(
          url.path,
          "\(algo.name) ran here with other hyper-parameters; choose another --out folder, or delete \(folder.algorithm(algo.name).path) to recompute it"
        )
      }
    } else {
      try FileManager.default.createDirectory(at: folder.algorithm(algo.name), withIntermediateDirectories: true)
      try writeAtomically(data, to: url)
    }
  }
}
