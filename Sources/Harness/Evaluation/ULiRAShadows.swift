import Foundation
import Networks
import NumericCore
import Synchronization

/// The shadow runs of U-LiRA (Hayes, Shumailov, Triantafillou, Khalifa &
/// Papernot, SaTML 2025; spec `attacks-and-metrics.md` §4), opt-in with
/// `evaluation.ulira_shadows: S`.
///
/// The candidates are the forget examples. A balanced inclusion matrix puts every
/// candidate in exactly half of the S shadow runs (ranks of uniform draws, as the
/// LiRA code). Shadow run s trains a model from scratch on retain ∪ {candidates
/// included in s} (with the algorithm's own original training when it has one),
/// then unlearns the included candidates with the same algorithm and
/// hyper-parameters, and stores the logits of every candidate. For candidate x,
/// the runs that included it give the "trained, then unlearned" distribution and
/// the others the "never seen" one. Outputs: `RUN/jobs/<algorithm>/ulira/<s>/forget.npy`.
public enum ULiRAShadows {
  /// inclusion[s][x]: candidate x is trained on (then unlearned) in shadow run s.
  public static func inclusion(shadows s: Int, candidates n: Int, seed: UInt64) -> [[Bool]] {
    var rng = Xoshiro256StarStar(seed: Seeds.derive(seed, "ulira", "inclusion"))
    var out = [[Bool]](repeating: [Bool](repeating: false, count: n), count: s)
    for x in 0..<n {
      let draws = (0..<s).map { _ in rng.nextUnitDouble() }
      let order = draws.indices.sorted { draws[$0] < draws[$1] }
      for (rank, shadow) in order.enumerated() where rank < s / 2 { out[shadow][x] = true }
    }
    return out
  }

  static func directory(_ folder: RunFolder, _ algorithm: String, _ s: Int) -> URL {
    folder.algorithm(algorithm).appendingPathComponent("ulira").appendingPathComponent(String(format: "%04d", s))
  }

  /// Runs the missing shadow runs of `algorithms` and returns, per algorithm, the stored shadow outputs.
  static func run(
    _ runner: EvaluationRunner, algorithms: [any UnlearningAlgorithm], shadows: Int,
    progress: @escaping @Sendable (String) -> Void
  ) throws -> (outputs: [String: [ModelOutputs]], inclusion: [[Bool]], failures: [JobFailure]) {
    let exp = runner.experiment, splits = exp.splits, folder = runner.folder
    let inclusion = Self.inclusion(shadows: shadows, candidates: splits.forget.count, seed: exp.spec.seed)
    var pending = [(Int, Int)]()
    for (a, algo) in algorithms.enumerated() {
      for s in 0..<shadows
      where !FileManager.default.fileExists(
        atPath: directory(folder, algo.name, s).appendingPathComponent("job.json").path)
      {
        pending.append((a, s))
      }
    }
    if !pending.isEmpty { progress("running \(pending.count) U-LiRA shadow runs (train, then unlearn)") }
    let jobs = pending, recipe = exp.spec.training
    let done = Mutex(0), onJobDone = runner.onJobDone
    if !jobs.isEmpty { onJobDone?(0, jobs.count) }
    let results = WorkerPool.mapResults(count: jobs.count, workers: runner.workers) { j in
      defer {
        let n = done.withLock { n -> Int in
          n += 1
          return n
        }
        onJobDone?(n, jobs.count)
      }
      let (a, s) = jobs[j]
      let algo = algorithms[a]
      let seed = Seeds.derive(exp.spec.seed, "ulira", algo.name, String(s))
      let included = splits.forget.indices.filter { inclusion[s][$0] }.map { splits.forget[$0] }
      let trainIDs = (splits.retain + included).sorted()
      let net = try Network(architecture: exp.architecture, maxBatch: Swift.max(recipe.batchSize, 256))
      net.initialize(seed: Seeds.derive(seed, "init"))
      try Trainer.train(net, on: exp.examples(trainIDs), config: recipe, seed: Seeds.derive(seed, "shuffle"))
      let own = try algo.trainOriginal(
        OriginalTrainingRequest(
          architecture: exp.architecture, train: exp.examples(trainIDs), trainIDs: trainIDs, training: recipe,
          seed: seed))
      let request = UnlearningRequest(
        original: net.weights, forget: exp.examples(included), retain: exp.examples(splits.retain),
        validation: exp.examples(splits.validation), forgetIDs: included, retainIDs: splits.retain, training: recipe,
        seed: Seeds.derive(seed, "unlearn"), own: own)
      let model = try algo.unlearn(request)
      guard model.allFinite else {
        throw HarnessError("\(algo.name) U-LiRA shadow #\(s)", "returned non-finite weights")
      }
      let dir = directory(folder, algo.name, s)
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      try writeAtomically(
        NPYArray(try model.logits(exp.examples(splits.forget).features)).encoded(),
        to: dir.appendingPathComponent("forget.npy"))
      try writeAtomically(
        Data("{\"algorithm\": \"\(algo.name)\", \"shadow\": \(s)}\n".utf8), to: dir.appendingPathComponent("job.json"))
    }
    var failures = [JobFailure]()
    for (j, r) in results.enumerated() {
      if case .failure(let e) = r {
        failures.append(
          JobFailure(algorithm: algorithms[jobs[j].0].name, index: jobs[j].1, reason: "U-LiRA shadow: \(e)"))
      }
    }
    var outputs = [String: [ModelOutputs]]()
    for algo in algorithms where failures.allSatisfy({ $0.algorithm != algo.name }) {
      outputs[algo.name] = try (0..<shadows).map { s in
        let a = try NPYArray.read(directory(folder, algo.name, s).appendingPathComponent("forget.npy"))
        guard case .float32(let v) = a.storage else {
          throw HarnessError("U-LiRA shadow outputs", "expected float32 logits")
        }
        return ModelOutputs(logits: ["forget": Tensor(shape: a.shape, scalars: v)])
      }
    }
    return (outputs, inclusion, failures)
  }
}
