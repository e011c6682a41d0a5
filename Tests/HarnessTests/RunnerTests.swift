import Foundation
import Networks
import NumericCore
import TestSupport
import Testing

@testable import Harness

/// A quick run: digits, MLP 64-16-10, 4 epochs, 3 models of each fake algorithm.
enum QuickRun {
  static func runner(
    _ spec: ExperimentSpec = TestSupport.quickSpec(), workers: Int, dir: URL,
    algorithms: [any UnlearningAlgorithm] = [Fake.Retrain(), Fake.Noise(), Fake.Noise(name: "noise-big", scale: 0.05)]
  ) throws -> EvaluationRunner {
    EvaluationRunner(
      experiment: try PreparedExperiment(spec: spec), algorithms: algorithms, models: spec.evaluation.models,
      workers: workers, store: RunStore(dir, rounds: spec.evaluation.rounds),
      referenceOriginals: spec.evaluation.referenceOriginals)
  }
}

@Suite(.serialized) struct RunnerTests {
  @Test func oneAndTwoWorkers_writeIdenticalBytes() throws {
    let a = TestSupport.temporaryDirectory("w1"), b = TestSupport.temporaryDirectory("w2")
    let ra = try QuickRun.runner(workers: 1, dir: a).run()
    _ = try QuickRun.runner(workers: 2, dir: b).run()
    let oa = try TestSupport.outputs(a), ob = try TestSupport.outputs(b)
    // 5 labels, the original's weights and logits; the logits of 9 jobs and 2 original-seeds
    #expect(oa.count == 5 + 1 + 1 + (3 * 3 + 2))
    #expect(oa == ob)
    #expect(ra.failures.isEmpty && ra.jobsRun == 11)
    #expect(ra.populations[0].map(\.name) == ["original", "retrain", "original-seeds", "noise", "noise-big"])
    #expect(
      ra.populations[0].map(\.role) == [
        .original, .retrain, .originalSeeds, .algorithm("noise"), .algorithm("noise-big"),
      ])
  }

  /// With evaluation.originals: K, K originals are trained with different seeds and model i of
  /// every algorithm starts from original i mod K; the bytes do not depend on the workers.
  @Test func severalOriginals_modelIStartsFromOriginalIModK() throws {
    var spec = TestSupport.quickSpec(models: 4)
    spec.evaluation.originals = 2
    let a = TestSupport.temporaryDirectory("k2a"), b = TestSupport.temporaryDirectory("k2b")
    let run = try QuickRun.runner(spec, workers: 2, dir: a).run()
    _ = try QuickRun.runner(spec, workers: 1, dir: b).run()
    #expect(try TestSupport.outputs(a) == TestSupport.outputs(b))
    let originals = try #require(run.populations[0].first { $0.role == .original })
    #expect(originals.models.count == 2)
    let z0 = try originals.models[0].logits(.test).scalars, z1 = try originals.models[1].logits(.test).scalars
    #expect(z0 != z1)
    let noise = try #require(run.populations[0].first { $0.role == .algorithm("noise") })
    func distance(_ x: [Float], _ y: [Float]) -> Float { zip(x, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
    for (i, m) in noise.models.enumerated() {
      let z = try m.logits(.test).scalars
      let (own, other) = i % 2 == 0 ? (z0, z1) : (z1, z0)
      #expect(distance(z, own) < distance(z, other) / 10, "model \(i)")
    }
  }

  @Test func aRestartedRun_recomputesOnlyUnfinishedJobs_andEndsWithTheSameBytes() throws {
    let whole = TestSupport.temporaryDirectory("whole"), broken = TestSupport.temporaryDirectory("broken")
    _ = try QuickRun.runner(workers: 2, dir: whole).run()
    _ = try QuickRun.runner(workers: 2, dir: broken).run()
    // Simulate a kill: one job lost its marker after writing some logits, one
    // was cut off mid-file, one never started.
    let store = RunStore(broken), fm = FileManager.default
    try fm.removeItem(at: store.jobDirectory(JobID(algorithm: "noise", index: 1)).appendingPathComponent("job.json"))
    let retrain2 = store.jobDirectory(JobID(algorithm: "retrain", index: 2))
    try fm.removeItem(at: retrain2.appendingPathComponent("job.json"))
    try Data([0x50, 0x4b]).write(to: retrain2.appendingPathComponent(RunStore.logitsFile))
    try fm.removeItem(at: store.jobDirectory(JobID(algorithm: "noise-big", index: 0)))
    let again = try QuickRun.runner(workers: 2, dir: broken).run()
    #expect(again.jobsRun == 3 && again.jobsSkipped == 8)
    #expect(try TestSupport.outputs(whole) == TestSupport.outputs(broken))
  }

  @Test func aFolderOfAnotherExperiment_isRefused() throws {
    let dir = TestSupport.temporaryDirectory("other")
    _ = try QuickRun.runner(workers: 2, dir: dir).run()
    var other = TestSupport.quickSpec()
    other.seed = 5
    #expect(throws: HarnessError.self) { try QuickRun.runner(other, workers: 2, dir: dir).run() }
    let changed: [any UnlearningAlgorithm] = [
      Fake.Retrain(), Fake.Noise(scale: 0.02), Fake.Noise(name: "noise-big", scale: 0.05),
    ]
    #expect {
      try QuickRun.runner(workers: 2, dir: dir, algorithms: changed).run()
    } throws: { "\($0)".contains("noise ran here with other hyper-parameters") }
    // More models later reuse the finished ones.
    let more = TestSupport.quickSpec(models: 4)
    let r = try QuickRun.runner(more, workers: 2, dir: dir).run()
    #expect(r.jobsRun == 3 && r.jobsSkipped == 11)
  }

  @Test func invalidHyperParameters_failBeforeAnyJobRuns() throws {
    let dir = TestSupport.temporaryDirectory("invalid")
    #expect {
      try QuickRun.runner(workers: 2, dir: dir, algorithms: [Fake.Retrain(), Fake.Noise(scale: -1)]).run()
    } throws: { "\($0)".contains("algorithms.noise.scale") }
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("original").path))
  }

  /// A job that throws is recorded as failed in the store; the population keeps the models
  /// that finished and says which did not; a resumed run retries it.
  @Test func aFailedJob_isRecorded_andThePopulationKeepsTheOthers() throws {
    let dir = TestSupport.temporaryDirectory("failing")
    let algorithms: [any UnlearningAlgorithm] = [Fake.Retrain(), Fake.Failing(failing: [0])]
    let outcome = try QuickRun.runner(workers: 2, dir: dir, algorithms: algorithms).run()
    #expect(outcome.failures.map(\.job) == [JobID(algorithm: "failing", index: 0)])
    let failing = try #require(outcome.populations[0].first { $0.role == .algorithm("failing") })
    #expect(failing.models.count == 2 && failing.jobIndices == [1, 2] && failing.requested == 3)
    #expect(failing.failures.count == 1 && failing.failures[0].reason.contains("failed on purpose"))
    #expect(failing.countText == "2 (1 failed)")
    // The failure is on disk: a later load (a leaderboard, a merge) sees it too.
    let store = RunStore(dir)
    #expect(try store.failure(JobID(algorithm: "failing", index: 0))?.reason.contains("failed on purpose") == true)
    let loaded = try store.population(
      PopulationEntry(role: .algorithm("failing"), kind: .approximate, requested: 3), round: 0,
      request: LoadRequest(splits: [.forget]))
    #expect(loaded.jobIndices == [1, 2] && loaded.failures.map(\.index) == [0])
    #expect(loaded.models[0].logits.forget != nil && loaded.models[0].logits.test == nil)
    // Resuming with an algorithm that now works clears the failure.
    let fixed: [any UnlearningAlgorithm] = [Fake.Retrain(), Fake.Failing(failing: [])]
    let again = try QuickRun.runner(workers: 2, dir: dir, algorithms: fixed).run()
    #expect(again.jobsRun == 1 && again.failures.isEmpty)
    #expect(try store.failure(JobID(algorithm: "failing", index: 0)) == nil)
  }

  @Test func sequentialRounds_areDisjoint_deterministic_andStoredPerRound() throws {
    var spec = TestSupport.quickSpec(models: 2, referenceOriginals: 0)
    spec.split.forget.fraction = 0.002  // 3 examples a round
    spec.evaluation.rounds = 3
    let exp = try PreparedExperiment(spec: spec)
    let rounds = try exp.deletionRounds(3)
    #expect(rounds[0].forget == exp.splits.forget)
    for r in 1..<3 {
      #expect(Set(rounds[r].forget).isSubset(of: Set(rounds[r - 1].retain)))
      #expect(rounds[r].forget.count == rounds[0].forget.count)
      #expect(Set(rounds[r].retain).isDisjoint(with: rounds[r].forget))
      #expect(rounds[r].retain.count == rounds[r - 1].retain.count - rounds[0].forget.count)
    }
    let a = TestSupport.temporaryDirectory("rounds1"), b = TestSupport.temporaryDirectory("rounds2")
    let outcome = try QuickRun.runner(spec, workers: 1, dir: a).run()
    _ = try QuickRun.runner(spec, workers: 2, dir: b).run()
    #expect(try TestSupport.outputs(a) == TestSupport.outputs(b))
    let store = RunStore(a, rounds: 3)
    #expect(
      FileManager.default.fileExists(
        atPath: store.outputsDirectory(.algorithm("noise"), index: 1, round: 2).appendingPathComponent(
          RunStore.logitsFile
        )
        .path))
    #expect(outcome.populations.count == 3)
    #expect(outcome.populations[2].first { $0.role == .algorithm("noise") }?.seconds?.count == 2)
    // Each round's labels are its own forget batch.
    let labels = try store.labels(round: 2)
    #expect(labels.forget?.count == 3 && labels.retain?.count == rounds[2].retain.count)
  }
}

@Suite struct DataModelTests {
  /// A model's logits come back from its `logits.npz`; a folder of the earlier layout (a `.npy` per
  /// split) is refused with what to do, a missing file with the system's reason.
  @Test func theStore_readsLogitsNPZ_andRefusesTheEarlierLayoutSayingSo() throws {
    let dir = TestSupport.temporaryDirectory("store")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = RunStore(dir), model = dir.appendingPathComponent("jobs/retrain/0000")
    let forget = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), test = Tensor(shape: [1, 3], scalars: [0, -1, 2])
    var logits = PerSplit<Tensor?> { _ in nil }
    logits[.forget] = forget
    logits[.test] = test
    try store.writeLogits(logits, in: model)
    let back = try store.outputs(in: model, splits: [.forget, .test])
    #expect(back.logits[.forget] == forget && back.logits[.test] == test && back.logits[.retain] == nil)
    #expect(throws: HarnessError.self) { try store.outputs(in: model, splits: [.retain]) }

    let old = dir.appendingPathComponent("jobs/retrain/0001")
    try FileManager.default.createDirectory(at: old, withIntermediateDirectories: true)
    try NPYArray(forget).encoded().write(to: old.appendingPathComponent("forget.npy"))
    #expect {
      try store.outputs(in: old, splits: [.forget])
    } throws: { "\($0)".contains("the layout of unlearn before 0.2") && "\($0)".contains("into a new folder") }
    #expect {
      try store.outputs(in: dir.appendingPathComponent("jobs/retrain/0002"), splits: [.forget])
    } throws: { "\($0)".contains("logits.npz") && !"\($0)".contains("before 0.2") }
  }

  @Test func perSplit_mapsAndSubscriptsEverySplit() {
    var p = PerSplit { $0.rawValue }
    #expect(p[.validation] == "validation" && p.all.map(\.split) == Split.allCases)
    p[.test] = "held out"
    #expect(p.test == "held out" && p.map(\.count).forget == 6)
  }

  @Test func roles_roundTripThroughTheirRowNames() throws {
    let roles: [Role] = [.original, .retrain, .originalSeeds, .ownOriginal("sisa"), .algorithm("finetune")]
    #expect(roles.map(\.name) == ["original", "retrain", "original-seeds", "sisa (original)", "finetune"])
    for r in roles { #expect(Role(rowName: r.name) == r) }
    #expect(roles.map(\.isReference) == [true, true, true, true, false])
    #expect(Role(algorithm: "retrain") == .retrain && Role(algorithm: "original-seeds") == .originalSeeds)
    let data = try JSONEncoder().encode(roles)
    #expect(try JSONDecoder().decode([Role].self, from: data) == roles)
  }

  @Test func population_subsetKeepsPerModelValuesAligned() {
    let z = Tensor(shape: [1, 2], scalars: [0, 1])
    var p = Population(
      role: .algorithm("a"), kind: .approximate, models: (0..<3).map { _ in ModelOutputs(PerSplit { _ in z }) },
      jobIndices: [0, 2, 5], requested: 6, seconds: [1, 2, 3])
    p.weightDistances = [0.1, 0.2, 0.3]
    let s = p.subset([2, 2, 0])
    #expect(s.jobIndices == [5, 5, 0] && s.seconds == [3, 3, 1] && s.weightDistances == [0.3, 0.3, 0.1])
    #expect(s.requested == 6)
  }
}
