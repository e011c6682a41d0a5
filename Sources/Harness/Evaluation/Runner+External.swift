import Foundation
import Networks
import NumericCore

/// The runner's path for an external model (`model.kind: external`): the originals, `retrain`
/// and `original-seeds` are the backend command's `train` calls, and every other algorithm is a
/// command (``CommandAlgorithm``) called with `unlearn` on the previous round's checkpoint.
/// Checkpoints are stored unread next to the logits (`checkpoint/`), hashed by the manifest.
extension EvaluationRunner {
  /// Refuses what needs the harness's own networks: built-in algorithms, and the attacks' shadow runs.
  public static func checkExternal(
    _ algorithms: [any UnlearningAlgorithm], shadowPlans: [any ShadowRunPlan], _ spec: ExperimentSpec
  ) throws {
    let applicable = "retrain, original-seeds (both through model.command) and algorithms with kind: external"
    for a in algorithms where !(a is any CommandAlgorithm) && a.name != Role.retrain.name {
      guard a.name != OriginalSeeds.name else { continue }
      throw HarnessError(
        "algorithm \(a.name)",
        "is built into unlearn and needs the harness's own networks, but model.kind is external; the algorithms "
          + "that apply to an external model are \(applicable)")
    }
    for plan in shadowPlans {
      for a in algorithms where plan.count(algorithm: a.name, kind: a.kind, spec: spec) > 0 {
        throw HarnessError(
          "evaluation.ulira_shadows",
          "\(plan.title) trains the harness's own networks, which an external model does not have; set it to 0")
      }
    }
  }

  /// Every id a model of round `r` is scored on.
  func scoredIDs(_ prepared: PreparedRun, rounds range: ClosedRange<Int>) -> [Int] {
    var ids = Set(experiment.splits.test + experiment.splits.validation + experiment.splits.audit)
    for r in range { ids.formUnion(prepared.deletions[r].forget + prepared.deletions[r].retain) }
    return ids.sorted()
  }

  /// A call of the model's command or an algorithm's, with what every call shares.
  func call(
    _ action: ExternalModelCall.Action, name: String, seed: UInt64, ids: [String: [Int]], predict: [Int],
    from checkpoint: URL?, _ prepared: PreparedRun, algorithm: (any CommandAlgorithm)? = nil
  ) -> ExternalModelCall {
    let model = experiment.spec.model
    return ExternalModelCall(
      action: action, command: algorithm?.command ?? model.command,
      timeout: algorithm?.effectiveTimeout(timeBudget) ?? model.trainingTimeout,
      passEnvironment: algorithm?.passEnvironment ?? model.passEnvironment,
      timeoutHint: algorithm.map { "algorithms.\($0.name).timeout" } ?? "model.timeout", name: name, seed: seed,
      hyperParameters: algorithm?.parameters ?? model.parameters.values, modelParameters: model.parameters.values,
      training: experiment.spec.training, ids: ids, predict: predict, checkpoint: checkpoint,
      data: prepared.externalData!, timeBudget: algorithm == nil ? nil : timeBudget)
  }

  /// The K originals: each trained by the model's command on the training split (seed: the
  /// original's initialisation seed), or found in the store. A stored original without a
  /// checkpoint (imported logits) is nil: algorithms that start from it fail their jobs.
  func originalCheckpoints(_ prepared: PreparedRun, progress: (String) -> Void) throws -> [URL?] {
    let k = experiment.spec.evaluation.originals, store = self.store
    if (0..<k).contains(where: { (try? store.originalRecord($0)) == nil }) {
      progress(k == 1 ? "training the original model (external)" : "training the \(k) original models (external)")
    }
    let predict = scoredIDs(prepared, rounds: 0...(rounds - 1)), runner = self
    return try WorkerPool.map(count: k, workers: workers) { i -> URL? in
      let directory = store.originalDirectory(i)
      let checkpoint = store.checkpointDirectory(directory)
      if try store.originalRecord(i) != nil {
        return FileManager.default.fileExists(atPath: checkpoint.path) ? checkpoint : nil
      }
      let seed = runner.experiment.originalSeeds(index: i).initialisation
      let call = runner.call(
        .train, name: Role.original.name, seed: seed, ids: ["train": runner.experiment.splits.train],
        predict: predict, from: nil, prepared)
      let work = store.root.appendingPathComponent(".work/original").appendingPathComponent(String(format: "%04d", i))
      let (result, seconds): (ExternalModelCall.Result, Double)
      do { (result, seconds) = try runner.perform(call, work: work, in: directory) } catch let e as HarnessError {
        throw HarnessError(k == 1 ? "original" : "original \(i)", "training failed: \(e.subject) \(e.message)")
      }
      for r in 0..<runner.rounds {
        try store.writeLogits(
          runner.splitLogits(result, prepared, round: r), in: store.outputsDirectory(.original, index: i, round: r))
      }
      var record = JobRecord(algorithm: Role.original.name, index: i, seed: seed, seconds: [seconds])
      record.backend = result.declaration
      try store.writeOriginalRecord(record, i)
      return checkpoint
    }
  }

  /// Runs `call` in `work` (its log in `directory`), timed; on success stores its checkpoint in
  /// `directory/checkpoint/` and removes the work folder (kept when the call fails).
  func perform(_ call: ExternalModelCall, work: URL, in directory: URL) throws -> (ExternalModelCall.Result, Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try call.run(
      work: work, log: directory.appendingPathComponent("external.log"), cancel: shouldStop,
      keepNote: "; its work folder is kept in \(work.path)")
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    try store.keepCheckpoint(result.checkpoint, in: directory)
    try? FileManager.default.removeItem(at: work)
    return (result, seconds)
  }

  /// The logits of round `r`'s scored splits, cut from a call's predictions.
  func splitLogits(_ result: ExternalModelCall.Result, _ prepared: PreparedRun, round r: Int) -> PerSplit<Tensor?> {
    let d = prepared.deletions[r], s = experiment.splits
    return PerSplit(
      forget: result.logits(of: d.forget), retain: result.logits(of: d.retain), test: result.logits(of: s.test),
      validation: result.logits(of: s.validation), audit: result.logits(of: s.audit))
  }

  /// Every deletion round of one model of an external model: `retrain` trains on the round's
  /// retain set from scratch, `original-seeds` trains once on the training split, and an
  /// algorithm unlearns the round's forget set from the previous round's checkpoint.
  func runExternalModel(_ job: Job, _ prepared: PreparedRun) throws {
    let algo = algorithm(job.id.algorithm)
    var current = prepared.checkpoints[job.id.index % prepared.checkpoints.count]
    var seconds = [Double](), declarations = [BackendDeclaration]()
    let jobDirectory = store.jobDirectory(job.id)
    var trainedOnce: ExternalModelCall.Result? = nil
    for r in 0..<rounds {
      let d = prepared.deletions[r], directory = store.inRound(jobDirectory, r)
      let seed = r == 0 ? job.seed : Seeds.derive(job.seed, "round", String(r))
      let what = rounds > 1 ? "\(job.id), round \(r + 1)" : "\(job.id)"
      if algo.name == OriginalSeeds.name, let trainedOnce {  // later rounds: the same model
        try store.writeLogits(splitLogits(trainedOnce, prepared, round: r), in: directory)
        seconds.append(0)
        continue
      }
      let call: ExternalModelCall
      if let command = algo as? any CommandAlgorithm {
        guard let current else {
          throw HarnessError(
            what,
            "the original has no checkpoint (its logits were imported without one), so there is nothing to unlearn")
        }
        call = self.call(
          .unlearn, name: algo.name, seed: seed,
          ids: ["forget": d.forget, "retain": d.retain, "validation": experiment.splits.validation],
          predict: scoredIDs(prepared, rounds: r...r), from: current, prepared, algorithm: command)
      } else {
        let originalSeeds = algo.name == OriginalSeeds.name
        call = self.call(
          .train, name: algo.name, seed: seed, ids: ["train": originalSeeds ? experiment.splits.train : d.retain],
          predict: scoredIDs(prepared, rounds: originalSeeds ? 0...(rounds - 1) : r...r), from: nil, prepared)
      }
      let (result, time): (ExternalModelCall.Result, Double)
      do {
        (result, time) = try perform(call, work: store.workDirectory(job.id, round: r), in: directory)
      } catch let e as HarnessError where rounds > 1 {
        throw HarnessError("\(e.subject) (round \(r + 1))", e.message)
      }
      seconds.append(time)
      try store.writeLogits(splitLogits(result, prepared, round: r), in: directory)
      declarations.append(result.declaration)
      current = store.checkpointDirectory(directory)
      if algo.name == OriginalSeeds.name { trainedOnce = result }
    }
    var record = JobRecord(algorithm: algo.name, index: job.id.index, seed: job.seed, seconds: seconds)
    record.backend = BackendDeclaration.combined(declarations)
    try store.writeRecord(record, for: job.id)
  }
}

extension BackendDeclaration {
  /// One declaration for several calls: deterministic only if every call said so (nil if none
  /// declared), and the devices named.
  static func combined(_ all: [BackendDeclaration]) -> BackendDeclaration? {
    let said = all.compactMap(\.deterministic), devices = Array(Set(all.compactMap(\.device))).sorted()
    guard !said.isEmpty || !devices.isEmpty else { return nil }
    return BackendDeclaration(
      deterministic: said.isEmpty ? nil : said.allSatisfy { $0 },
      device: devices.isEmpty ? nil : devices.joined(separator: ", "))
  }
}

extension RunStore {
  /// `directory/checkpoint/`: an external model's stored checkpoint.
  public func checkpointDirectory(_ directory: URL) -> URL { directory.appendingPathComponent("checkpoint") }

  /// Moves a command's `checkpoint/` (checked) into `directory/checkpoint/`, replacing an older one.
  public func keepCheckpoint(_ source: URL, in directory: URL) throws {
    let fm = FileManager.default, target = checkpointDirectory(directory)
    try fm.createDirectory(at: directory, withIntermediateDirectories: true)
    try? fm.removeItem(at: target)
    try fm.moveItem(at: source, to: target)
  }

  /// Writes the dataset for external commands once (`.work/data/`); see ``ExternalData``.
  public func writeExternalData(_ experiment: PreparedExperiment) throws -> ExternalData {
    let dir = root.appendingPathComponent(".work/data")
    let features = dir.appendingPathComponent("features.npy"), labels = dir.appendingPathComponent("labels.npy")
    let dataset = experiment.dataset, n = dataset.count
    let fm = FileManager.default
    if !fm.fileExists(atPath: features.path) || !fm.fileExists(atPath: labels.path) {
      try fm.createDirectory(at: dir, withIntermediateDirectories: true)
      var y = dataset.examples.labels.map(Int64.init)
      for id in experiment.splits.test + experiment.splits.audit { y[id] = -1 }
      try writeAtomically(NPYArray(shape: [n], storage: .int64(y)).encoded(), to: labels)
      try writeAtomically(
        NPYArray(shape: [n] + dataset.shape, storage: .float32(dataset.examples.features.scalars)).encoded(),
        to: features)
    }
    return ExternalData(
      features: features, labels: labels, count: n, inputShape: dataset.shape, numClasses: dataset.numClasses)
  }

  /// SHA-256 of a stored checkpoint: of its listing, a line `<relative path>\t<SHA-256>` per file, sorted.
  public func checkpointSHA256(_ checkpoint: URL) throws -> String {
    let base = checkpoint.standardizedFileURL.path
    var lines = [String]()
    let e = FileManager.default.enumerator(at: checkpoint, includingPropertiesForKeys: [.isRegularFileKey])
    while let url = e?.nextObject() as? URL {
      guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
      let rel = String(url.standardizedFileURL.path.dropFirst(base.count + 1))
      lines.append("\(rel)\t\(try SHA256.hex(fileAt: url))\n")
    }
    return SHA256.hex(Data(lines.sorted().joined().utf8))
  }
}
