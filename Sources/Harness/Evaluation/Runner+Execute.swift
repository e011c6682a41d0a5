import Foundation
import Networks
import NumericCore
import Synchronization

/// What every job of an invocation shares, computed once when there are jobs to run.
struct JobInputs: Sendable {
  var prepared: PreparedRun
  /// Per original k and round r: the model retrained on round r's retain set from original k's
  /// initialisation and seeds, the reference of the weight distance.
  var sameInitialisation: [[ModelWeights]]
  /// The algorithms' own originals (SISA's shards and checkpoints), one per original, by algorithm name.
  var owns: [String: [TrainedOriginal]]
}

extension EvaluationRunner {
  /// Phase 3: trains the algorithms' own originals that are needed, then runs `jobs` on the
  /// worker pool. A job that throws is recorded as failed in the store (the run goes on).
  func execute(_ jobs: [Job], _ prepared: PreparedRun, progress: @escaping @Sendable (String) -> Void) throws
    -> [JobFailure]
  {
    let external = experiment.isExternal
    let owns = external ? [:] : try ownOriginals(for: jobs, prepared)
    guard !jobs.isEmpty else { return [] }
    let needsReference = !external && jobs.contains { $0.id.group == nil }  // models report a weight distance
    let inputs = JobInputs(
      prepared: prepared, sameInitialisation: needsReference ? try sameInitialisation(prepared) : [], owns: owns)
    let done = Mutex(0), total = jobs.count, step = Swift.max(1, total / 10)
    let onJobDone = self.onJobDone
    if total > 0 { onJobDone?(0, total) }
    let runner = self
    let results = WorkerPool.mapResults(count: total, workers: workers) { j in
      if runner.shouldStop() { throw HarnessError("\(jobs[j].id)", "not started: the run was interrupted") }
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
      try runner.run(jobs[j], inputs)
    }
    var failures = [JobFailure]()
    for (job, result) in zip(jobs, results) {
      guard case .failure(let error) = result else { continue }
      let failure = JobFailure(job.id, reason: failureReason(job.id, error))
      try? store.writeFailure(failure)
      failures.append(failure)
    }
    return failures
  }

  func failureReason(_ job: JobID, _ error: any Error) -> String {
    guard let plan = job.group, let title = shadowPlans.first(where: { $0.name == plan })?.title else {
      return "\(error)"
    }
    return "\(title): \(error)"
  }

  func algorithm(_ name: String) -> any UnlearningAlgorithm {
    guard let a = algorithms.first(where: { $0.name == name }) else { preconditionFailure("no algorithm \(name)") }
    return a
  }

  /// The own originals (one per original) of the algorithms that have pending jobs or have not
  /// stored theirs yet (deterministic, so recomputing them never changes a byte); their logits on
  /// round 1's splits go to `jobs/<algorithm>/original/`.
  func ownOriginals(for jobs: [Job], _ prepared: PreparedRun) throws -> [String: [TrainedOriginal]] {
    let store = self.store, examples = prepared.examples[0], experiment = self.experiment
    let needed = algorithms.filter { a in
      !store.hasOwnOriginal(a.name)
        || jobs.contains { $0.id.algorithm == a.name && ($0.id.group == nil || $0.id.group == JobID.reference) }
    }
    let k = prepared.originals.count
    let trained = try WorkerPool.map(count: needed.count * k) { n -> TrainedOriginal? in
      let (a, original) = (needed[n / k], n % k)
      let request = OriginalTrainingRequest(
        architecture: experiment.architecture, train: experiment.examples(experiment.splits.train),
        trainIDs: experiment.splits.train, training: experiment.spec.training,
        seed: experiment.originalSeeds(index: original).initialisation)
      guard let own = try a.trainOriginal(request) else { return nil }
      try store.writeLogits(of: own.model, on: examples.map { $0 }, in: store.ownOriginalDirectory(a.name, original))
      return own
    }
    var out = [String: [TrainedOriginal]]()
    for (a, name) in needed.map(\.name).enumerated() {
      let own = trained[(a * k)..<((a + 1) * k)].compactMap { $0 }
      if own.count == k { out[name] = own }
    }
    return out
  }

  /// Per original and round, the model retrained from the original's initialisation and seeds on
  /// that round's retain set.
  func sameInitialisation(_ prepared: PreparedRun) throws -> [[ModelWeights]] {
    try prepared.originals.indices.map { k in
      let seeds = experiment.originalSeeds(index: k)
      return try prepared.examples.map { ex in
        try Trainer.fromScratch(
          experiment.architecture, on: ex.retain, config: experiment.spec.training, initSeed: seeds.initialisation,
          shuffleSeed: seeds.shuffle)
      }
    }
  }

  /// Runs one job and stores its outputs; `job.json` is written last.
  func run(_ job: Job, _ inputs: JobInputs) throws {
    switch job.id.group {
    case nil where experiment.isExternal: try runExternalModel(job, inputs.prepared)
    case nil: try runModel(job, inputs)
    case JobID.reference?: try runReference(job, inputs)
    case let plan?: try runShadow(job, plan: plan, inputs)
    }
  }

  /// Every deletion round of one model, in order, each from the previous round's model.
  func runModel(_ job: Job, _ inputs: JobInputs) throws {
    let algo = algorithm(job.id.algorithm)
    let k = job.id.index % inputs.prepared.originals.count
    let original = inputs.prepared.originals[k]
    var current = original, own = inputs.owns[algo.name]?[k]
    var seconds = [Double](), work = [Double?](), distance = [Double]()
    for r in 0..<rounds {
      let (model, time) = try unlearn(job, algo, round: r, from: current, own: own, inputs)
      try store.writeLogits(
        of: model, on: inputs.prepared.examples[r].map { $0 }, in: store.inRound(store.jobDirectory(job.id), r))
      seconds.append(time)
      work.append(model.workFraction)
      if model.members.count == 1 {
        let reference = inputs.sameInitialisation[k][r], base = original.distance(to: reference)
        distance.append(base > 0 ? model.members[0].distance(to: reference) / base : .nan)
      }
      current = model.members[0]
      if let state = model.state { own = TrainedOriginal(model: model, state: state) }
    }
    var record = JobRecord(
      algorithm: algo.name, index: job.id.index, seed: job.seed, seconds: seconds,
      workFraction: work.contains(nil) ? nil : work.map { $0 ?? 0 })
    if distance.count == rounds { record.weightDistance = distance }
    try store.writeRecord(record, for: job.id)
  }

  /// One round of one model: the algorithm's call, timed, and its result checked.
  func unlearn(
    _ job: Job, _ algo: any UnlearningAlgorithm, round r: Int, from current: ModelWeights, own: TrainedOriginal?,
    _ inputs: JobInputs
  ) throws -> (UnlearnedModel, seconds: Double) {
    let ex = inputs.prepared.examples[r], d = inputs.prepared.deletions[r]
    var request = UnlearningRequest(
      original: current, forget: ex.forget, retain: ex.retain, validation: ex.validation, forgetIDs: d.forget,
      retainIDs: d.retain, training: experiment.spec.training,
      seed: r == 0 ? job.seed : Seeds.derive(job.seed, "round", String(r)),
      timeBudget: timeBudget, own: own)
    request.deadline = timeBudget.map { Deadline(seconds: $0) }
    request.jobDirectory = store.inRound(store.jobDirectory(job.id), r)
    request.scratchDirectory = store.workDirectory(job.id, round: r)
    request.isCancelled = shouldStop
    let what = rounds > 1 ? "\(job.id), round \(r + 1)" : "\(job.id)"
    let start = DispatchTime.now().uptimeNanoseconds
    let model: UnlearnedModel
    do { model = try algo.unlearn(request) } catch NetworkError.deadlineExceeded {
      throw HarnessError(what, "ran out of its time budget of \(timeBudget ?? 0) s")
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let architecture = current.architecture, size = current.parameters.count
    guard model.members.allSatisfy({ $0.architecture == architecture && $0.parameters.count == size }) else {
      throw HarnessError(what, "returned a model of another architecture")
    }
    guard model.allFinite else { throw HarnessError(what, "returned non-finite weights (NaN or infinity)") }
    return (model, seconds)
  }

  /// One model of an algorithm's own exact reference: its own training from scratch on every
  /// round's retain set (each round from scratch, with that round's seed).
  func runReference(_ job: Job, _ inputs: JobInputs) throws {
    let algo = algorithm(job.id.algorithm)
    guard let originals = inputs.owns[algo.name], !originals.isEmpty else {
      throw HarnessError("\(job.id)", "\(algo.name) declares its own reference but trains no original of its own")
    }
    var seconds = [Double]()
    for r in 0..<rounds {
      let ex = inputs.prepared.examples[r]
      let request = ReferenceTrainingRequest(
        architecture: experiment.architecture, retain: ex.retain, retainIDs: inputs.prepared.deletions[r].retain,
        forgetRounds: inputs.prepared.deletions[0...r].map(\.forget), training: experiment.spec.training,
        roundSeeds: (0...r).map { $0 == 0 ? job.seed : Seeds.derive(job.seed, "round", String($0)) },
        own: originals[job.id.index % originals.count])
      let start = DispatchTime.now().uptimeNanoseconds
      let model = try algo.trainReference(request)
      seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
      guard model.allFinite else { throw HarnessError("\(job.id)", "trained non-finite weights") }
      try store.writeLogits(of: model, on: ex.map { $0 }, in: store.inRound(store.jobDirectory(job.id), r))
    }
    try store.writeRecord(
      JobRecord(algorithm: algo.name, index: job.id.index, seed: job.seed, seconds: seconds), for: job.id)
  }

  /// One shadow run of an attack's plan: its model's logits on the plan's splits of round 1.
  func runShadow(_ job: Job, plan name: String, _ inputs: JobInputs) throws {
    guard let plan = shadowPlans.first(where: { $0.name == name }) else { preconditionFailure("no plan \(name)") }
    let algo = algorithm(job.id.algorithm)
    let start = DispatchTime.now().uptimeNanoseconds
    let model = try plan.run(job.id.index, of: algo, in: experiment, seed: job.seed)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    guard model.allFinite else { throw HarnessError("\(job.id)", "returned non-finite weights") }
    let examples = inputs.prepared.examples[0]
    try store.writeLogits(
      of: model, on: PerSplit { plan.splits.contains($0) ? examples[$0] : nil }, in: store.jobDirectory(job.id))
    try store.writeRecord(
      JobRecord(algorithm: algo.name, index: job.id.index, seed: job.seed, seconds: [seconds]), for: job.id)
  }
}
