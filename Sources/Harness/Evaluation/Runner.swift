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
/// RUN/results.json, table.md, table.csv          scores
/// ```
public struct RunFolder: Sendable {
  public var url: URL

  public init(_ url: URL) { self.url = url }

  public static let splitNames = ["forget", "retain", "test", "validation"]

  public var original: URL { url.appendingPathComponent("original") }
  public func algorithm(_ name: String) -> URL { url.appendingPathComponent("jobs").appendingPathComponent(name) }
  public func job(_ name: String, _ index: Int) -> URL { algorithm(name).appendingPathComponent(String(format: "%04d", index)) }
}

/// The record a finished job leaves (`job.json`).
public struct JobRecord: Codable, Sendable, Equatable {
  public var algorithm: String
  public var index: Int
  public var seed: UInt64
  /// Wall time of the algorithm's `unlearn` call (or of training, for the original).
  public var seconds: Double
  /// Fraction of the original training work redone, when the algorithm reports it.
  public var workFraction: Double?
}

/// A job that did not produce a model, and why.
public struct JobFailure: Codable, Sendable, Equatable {
  public var algorithm: String
  public var index: Int
  public var reason: String
}

/// Runs an evaluation: trains (or reloads) the original model, then every
/// algorithm's N seeds and N retrained references as independent jobs on the
/// worker pool, storing each job's logits on every split. Finished jobs are
/// skipped, so a killed run resumes where it stopped; a job's outputs depend
/// only on its seed, never on the number of workers or the order of jobs.
public struct EvaluationRunner: Sendable {
  public var experiment: PreparedExperiment
  /// The reference (`retrain`) first, then the algorithms to evaluate.
  public var algorithms: [any UnlearningAlgorithm]
  public var models: Int
  public var workers: Int
  public var folder: RunFolder
  /// Seconds each unlearning job may take (nil: unlimited).
  public var timeBudget: Double?

  public init(
    experiment: PreparedExperiment, algorithms: [any UnlearningAlgorithm], models: Int, workers: Int, folder: RunFolder,
    timeBudget: Double? = nil
  ) {
    self.experiment = experiment
    self.algorithms = algorithms
    self.models = models
    self.workers = workers
    self.folder = folder
    self.timeBudget = timeBudget
  }

  /// The seed of job `index` of `algorithm`: a hash of (experiment seed, "job", algorithm, index).
  public func seed(_ algorithm: String, _ index: Int) -> UInt64 { Seeds.derive(experiment.spec.seed, "job", algorithm, String(index)) }

  /// What happened, for the report.
  public struct Outcome: Sendable {
    public var populations: [Population]
    public var failures: [JobFailure]
    public var jobsRun: Int
    public var jobsSkipped: Int
    public var originalSHA256: String
  }

  /// Prepares the folder, runs every missing job, and loads all outputs.
  public func run(progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> Outcome {
    let fm = FileManager.default
    try fm.createDirectory(at: folder.url, withIntermediateDirectories: true)
    try checkIdentity()
    try writeAtomically(Data(experiment.spec.yaml.utf8), to: folder.url.appendingPathComponent("config.yaml"))
    try writeAtomically(
      try experiment.splits.jsonData(
        numExamples: experiment.dataset.count, datasetSHA256: experiment.dataset.fileListSHA256, config: experiment.spec.split),
      to: folder.url.appendingPathComponent("splits.json"))
    for a in algorithms { try checkParameters(a) }

    let original = try originalModel(progress: progress)
    let splits = experiment.splits
    let request = UnlearningRequest(
      original: original, forget: experiment.examples(splits.forget), retain: experiment.examples(splits.retain),
      validation: experiment.examples(splits.validation), forgetIDs: splits.forget, retainIDs: splits.retain,
      training: experiment.spec.training, seed: 0, timeBudget: timeBudget)
    let splitExamples = RunFolder.splitNames.map { experiment.examples(ids(of: $0)) }

    // Algorithms that own their original (SISA) train it now; its outputs are stored
    // under jobs/<algorithm>/original/ (recomputed on every invocation: it is deterministic).
    let trainRequest = OriginalTrainingRequest(
      architecture: experiment.architecture, train: experiment.examples(splits.train), trainIDs: splits.train,
      training: experiment.spec.training, seed: Seeds.derive(experiment.spec.seed, "original", "init", "0"))
    let algos = algorithms, folder = folder
    let owns = try WorkerPool.map(count: algos.count, workers: workers) { a -> TrainedOriginal? in
      guard let own = try algos[a].trainOriginal(trainRequest) else { return nil }
      try Self.store(own.model, examples: splitExamples, in: folder.algorithm(algos[a].name).appendingPathComponent("original"))
      return own
    }

    // Pending jobs, reference first, in index order.
    var pending = [(algorithm: Int, index: Int)]()
    var skipped = 0
    for (a, algo) in algorithms.enumerated() {
      for i in 0..<models {
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
    let results = WorkerPool.mapResults(count: jobs.count, workers: workers) { j in
      let (a, i) = jobs[j]
      let algo = algos[a]
      defer {
        let n = done.withLock { n -> Int in
          n += 1
          return n
        }
        if n % step == 0 || n == total { progress("  \(n)/\(total) jobs done") }
      }
      var req = request
      req.seed = jobSeeds[j]
      req.own = owns[a]
      req.deadline = req.timeBudget.map { Deadline(seconds: $0) }
      let start = DispatchTime.now().uptimeNanoseconds
      let model: UnlearnedModel
      do { model = try algo.unlearn(req) } catch NetworkError.deadlineExceeded {
        throw HarnessError("\(algo.name) #\(i)", "ran out of its time budget of \(req.timeBudget ?? 0) s")
      }
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      guard model.members.allSatisfy({ $0.architecture == original.architecture && $0.parameters.count == original.parameters.count })
      else {
        throw HarnessError("\(algo.name) #\(i)", "returned a model of another architecture")
      }
      guard model.allFinite else { throw HarnessError("\(algo.name) #\(i)", "returned non-finite weights (NaN or infinity)") }
      try Self.store(model, examples: splitExamples, in: folder.job(algo.name, i))
      let record = JobRecord(algorithm: algo.name, index: i, seed: jobSeeds[j], seconds: seconds, workFraction: model.workFraction)
      try writeAtomically(try Self.json(record), to: folder.job(algo.name, i).appendingPathComponent("job.json"))
    }
    var failures = [JobFailure]()
    for (j, r) in results.enumerated() {
      if case .failure(let e) = r { failures.append(JobFailure(algorithm: algorithms[pending[j].algorithm].name, index: pending[j].index, reason: "\(e)")) }
    }

    // Load every finished job (this run's and earlier ones') from disk.
    var populations = [Population]()
    populations.append(
      Population(algorithm: "original", kind: nil, models: [try Self.loadOutputs(folder.original)], seconds: nil))
    for (a, algo) in algorithms.enumerated() where owns[a] != nil {
      let dir = folder.algorithm(algo.name).appendingPathComponent("original")
      populations.append(Population(algorithm: "\(algo.name) (original)", kind: nil, models: [try Self.loadOutputs(dir)], seconds: nil))
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    for algo in algorithms {
      var outs = [ModelOutputs](), secs = [Double](), work = [Double]()
      for i in 0..<models where !failures.contains(where: { $0.algorithm == algo.name && $0.index == i }) {
        let dir = folder.job(algo.name, i)
        let record = try decoder.decode(JobRecord.self, from: Data(contentsOf: dir.appendingPathComponent("job.json")))
        outs.append(try Self.loadOutputs(dir))
        secs.append(record.seconds)
        if let w = record.workFraction { work.append(w) }
      }
      var p = Population(algorithm: algo.name, kind: algo.kind, models: outs, seconds: secs)
      if !work.isEmpty && work.count == outs.count { p.workFractions = work }
      populations.append(p)
    }
    let sha = try SHA256.hex(Data(contentsOf: folder.original.appendingPathComponent("model.safetensors")))
    return Outcome(populations: populations, failures: failures, jobsRun: pending.count, jobsSkipped: skipped, originalSHA256: sha)
  }

  func ids(of split: String) -> [Int] {
    switch split {
    case "forget": experiment.splits.forget
    case "retain": experiment.splits.retain
    case "test": experiment.splits.test
    default: experiment.splits.validation
    }
  }

  /// The original model: reloaded if a previous invocation trained it, else trained and stored.
  func originalModel(progress: (String) -> Void) throws -> ModelWeights {
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
    try Self.store(UnlearnedModel(weights), examples: RunFolder.splitNames.map { experiment.examples(ids(of: $0)) }, in: folder.original)
    let record = JobRecord(algorithm: "original", index: 0, seed: Seeds.derive(experiment.spec.seed, "original", "init", "0"), seconds: seconds)
    try writeAtomically(try Self.json(record), to: marker)
    return weights
  }

  /// Writes the model's logits on every split as `<split>.npy`.
  static func store(_ model: UnlearnedModel, examples: [LabeledExamples], in dir: URL) throws {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (name, ex) in zip(RunFolder.splitNames, examples) {
      try writeAtomically(NPYArray(try model.logits(ex.features)).encoded(), to: dir.appendingPathComponent("\(name).npy"))
    }
  }

  static func loadOutputs(_ dir: URL) throws -> ModelOutputs {
    var logits = [String: Tensor]()
    for name in RunFolder.splitNames {
      let a = try NPYArray.read(dir.appendingPathComponent("\(name).npy"))
      guard case .float32(let v) = a.storage, a.shape.count == 2 else {
        throw HarnessError(dir.appendingPathComponent("\(name).npy").path, "expected float32 logits of shape [examples, classes]")
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
    core.evaluation = EvaluationSpec()
    core.algorithms = [:]
    let identity = "# Everything the stored outputs depend on; a run folder only resumes the same experiment.\n" + core.yaml
    let url = folder.url.appendingPathComponent("identity.yaml")
    if let old = FileManager.default.contents(atPath: url.path) {
      guard String(decoding: old, as: UTF8.self) == identity else {
        throw HarnessError(
          folder.url.path,
          "holds a run of a different experiment (see its identity.yaml); choose another --out folder or delete this one")
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
          "\(algo.name) ran here with other hyper-parameters; choose another --out folder, or delete \(folder.algorithm(algo.name).path) to recompute it")
      }
    } else {
      try FileManager.default.createDirectory(at: folder.algorithm(algo.name), withIntermediateDirectories: true)
      try writeAtomically(data, to: url)
    }
  }
}
