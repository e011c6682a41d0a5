import Foundation
import Networks
import NumericCore

/// What the prepare phase leaves for the jobs.
struct PreparedRun: Sendable {
  var deletions: [DeletionRound]
  /// The scored splits of every round.
  var examples: [PerSplit<LabeledExamples>]
  /// The K original models (trained, or reloaded from the store); model i unlearns from original i mod K.
  var originals: [ModelWeights]
  /// External models: the K originals' stored checkpoints (nil: imported logits without one),
  /// and the data the commands read.
  var checkpoints: [URL?] = []
  var externalData: ExternalData? = nil
}

/// One scheduled run: every job in the fixed order, this invocation's share, and what is left to do.
struct Schedule: Sendable {
  var assigned: [Job]
  var pending: [Job]
  var skipped: Int
}

extension EvaluationRunner {
  /// Phase 1: describes the experiment in the folder (refusing another experiment's folder or
  /// changed hyper-parameters), writes every round's labels, and trains or reloads the original.
  func prepare(progress: (String) -> Void) throws -> PreparedRun {
    for a in algorithms { try a.validate() }
    if experiment.isExternal { try Self.checkExternal(algorithms, shadowPlans: shadowPlans, experiment.spec) }
    try store.describe(experiment)
    for a in algorithms { try store.checkParameters(a) }
    let deletions = try experiment.deletionRounds(rounds)
    let examples = deletions.map(experiment.examples)
    for (r, ex) in examples.enumerated() { try store.writeLabels(ex.map(\.labels), round: r) }
    if experiment.isExternal {
      let data = try store.writeExternalData(experiment)
      var prepared = PreparedRun(deletions: deletions, examples: examples, originals: [], externalData: data)
      prepared.checkpoints = try originalCheckpoints(prepared, progress: progress)
      return prepared
    }
    let originals = try originalModels(examples, progress: progress)
    return PreparedRun(deletions: deletions, examples: examples, originals: originals)
  }

  /// The K originals: each reloaded if a previous invocation trained it, else trained (in
  /// parallel) and stored with its logits on every round's splits and its training record.
  func originalModels(_ examples: [PerSplit<LabeledExamples>], progress: (String) -> Void) throws -> [ModelWeights] {
    let k = experiment.spec.evaluation.originals
    let store = self.store, experiment = self.experiment
    if (0..<k).contains(where: { (try? store.originalRecord($0)) == nil }) {
      progress(k == 1 ? "training the original model" : "training the \(k) original models")
    }
    return try WorkerPool.map(count: k, workers: workers) { i in
      let weightsFile = store.originalDirectory(i).appendingPathComponent("model.safetensors")
      if try store.originalRecord(i) != nil {
        return try ModelFiles.load(weightsFile, architecture: experiment.architecture)
      }
      let start = DispatchTime.now().uptimeNanoseconds
      let weights = try experiment.trainOriginal(index: i)
      guard weights.allFinite else {
        throw HarnessError(
          k == 1 ? "original" : "original \(i)",
          "training diverged: its weights are not finite (NaN or infinity); lower training.learning_rate "
            + "(\(experiment.spec.training.learningRate)) and run again")
      }
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      try FileManager.default.createDirectory(at: store.originalDirectory(i), withIntermediateDirectories: true)
      try ModelFiles.save(weights, to: store.originalDirectory(i))
      for (r, ex) in examples.enumerated() {
        try store.writeLogits(
          of: UnlearnedModel(weights), on: ex.map { $0 }, in: store.outputsDirectory(.original, index: i, round: r))
      }
      let record = JobRecord(
        algorithm: Role.original.name, index: i, seed: experiment.originalSeeds(index: i).initialisation,
        seconds: [seconds])
      try store.writeOriginalRecord(record, i)
      return weights
    }
  }

  /// Phase 2: every job in a fixed order (each algorithm's models by index, the reference
  /// first; then the shadow runs of every plan), the share of this shard (every n-th job
  /// of that order), and the jobs of it that have not finished.
  func schedule() throws -> Schedule {
    var all = [Job]()
    for a in algorithms {
      for i in 0..<count(a) { all.append(Job(id: JobID(algorithm: a.name, index: i), seed: seed(a.name, i))) }
    }
    for a in algorithms where a.hasOwnReference {
      for i in 0..<models {
        let id = JobID(algorithm: a.name, index: i, group: JobID.reference)
        all.append(Job(id: id, seed: Seeds.derive(experiment.spec.seed, JobID.reference, a.name, String(i))))
      }
    }
    for plan in shadowPlans {
      for a in algorithms {
        for s in 0..<plan.count(algorithm: a.name, kind: a.kind, spec: experiment.spec) {
          let id = JobID(algorithm: a.name, index: s, group: plan.name)
          all.append(Job(id: id, seed: Seeds.derive(experiment.spec.seed, plan.name, a.name, String(s))))
        }
      }
    }
    let assigned = shard.map { s in all.indices.filter { $0 % s.count == s.index }.map { all[$0] } } ?? all
    let pending = assigned.filter { !store.isFinished($0.id) }
    return Schedule(assigned: assigned, pending: pending, skipped: assigned.count - pending.count)
  }
}
