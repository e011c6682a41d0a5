import Foundation
import Harness
import Networks
import NumericCore

/// U-LiRA (Hayes, Shumailov, Triantafillou, Khalifa & Papernot, "Inexact
/// Unlearning Needs More Careful Evaluations to Avoid a False Sense of Privacy",
/// SaTML 2025): LiRA whose two hypotheses are "x was trained on, then unlearned by
/// this algorithm" and "x was never seen", fitted per example on shadow runs of the
/// whole train → unlearn pipeline with the same hyper-parameters (opt-in:
/// `evaluation.ulira_shadows`; see ``ULiRAShadowRuns``).
///
/// ```
/// IN_x  = { φ_s(x) : shadow run s trained on x, then unlearned it }
/// OUT_x = { φ_s(x) : shadow run s never saw x (it unlearned other examples) }
/// s(x) = log N(φ; median IN_x, σ²) − log N(φ; median OUT_x, σ²),   σ = std of all IN values
/// ```
/// The attack is on the pipeline, so its targets are runs of the pipeline: every shadow
/// run in turn, its Gaussians fitted on the other runs (leave one out), its candidates
/// scored as members (trained, then unlearned) or non-members (never seen: the run
/// unlearned as many other examples). Both sides went through the same unlearning, so an
/// ideal unlearner scores AUC 0.5. σ is fixed (one global standard deviation of the IN
/// values, as Carlini et al.'s code with `fix_variance`), since each example has only
/// S/2 runs per side.
public struct ULiRAAttack: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    AttackReport.columns(
      "ulira", "U-LiRA",
      "Hayes et al., SaTML 2025: per-example Gaussians from shadow train-then-unlearn runs of the same algorithm; "
        + "each run scored by the others (leave one out).",
      tableAUC: false)
  }

  public var inputs: MetricInputs { .logits(.forget) + .shadowRuns }

  public var shadowRuns: (any ShadowRunPlan)? { ULiRAShadowRuns() }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let f = try input.labels(.forget)
    guard let shadows = input.shadowRuns, shadows.count >= 4, !f.isEmpty else {
      return missing(
        "no shadow runs: U-LiRA runs for approximate algorithms in a run of one deletion round, opt-in with "
          + "evaluation.ulira_shadows ≥ 4")
    }
    let inclusion = ULiRAShadowRuns.inclusion(shadows: shadows.count, candidates: f.count, seed: input.experimentSeed)
    let phi = try shadows.map { logitScaledConfidences(logits: try $0.logits(.forget), labels: f) }
    var scores = ClusteredScores()
    for target in phi.indices {
      let fit = phi.indices.filter { $0 != target }
      guard let model = Self.fit(phi, inclusion, runs: fit) else {
        return missing("every candidate needs shadow runs with and without it")
      }
      for x in f.indices {
        let v =
          LiRAAttack.logNormal(phi[target][x], model.muIn[x], model.variance)
          - LiRAAttack.logNormal(phi[target][x], model.muOut[x], model.variance)
        scores.append(v, member: inclusion[target][x], model: target, example: x)
      }
    }
    return AttackReport.values("ulira", scores, seed: input.seed)
  }

  /// Per-example medians of the IN and OUT runs among `runs`, and the global variance of the IN values.
  static func fit(_ phi: [[Double]], _ inclusion: [[Bool]], runs: [Int]) -> (
    muIn: [Double], muOut: [Double], variance: Double
  )? {
    var muIn = [Double](), muOut = [Double](), all = [Double]()
    for x in phi[0].indices {
      let inn = runs.filter { inclusion[$0][x] }.map { phi[$0][x] }
      let out = runs.filter { !inclusion[$0][x] }.map { phi[$0][x] }
      guard !inn.isEmpty, !out.isEmpty else { return nil }
      muIn.append(Summary.median(inn))
      muOut.append(Summary.median(out))
      all += inn
    }
    return (muIn, muOut, Summary.variance(all))
  }
}

/// The shadow runs of U-LiRA, opt-in with `evaluation.ulira_shadows: S` (S ≥ 4; every
/// approximate algorithm, one deletion round).
///
/// The candidates are the forget examples. A balanced inclusion matrix puts every
/// candidate in exactly half of the S shadow runs (ranks of uniform draws, as the LiRA
/// code does). Shadow run s trains a model from scratch on retain ∪ {candidates included
/// in s} (with the algorithm's own original training when it has one), then unlearns a
/// forget set as large as the evaluated one: the included candidates plus as many other
/// retain examples as it takes, drawn at random, all with the same algorithm and
/// hyper-parameters. It stores the logits of every candidate.
public struct ULiRAShadowRuns: ShadowRunPlan {
  public init() {}

  public var name: String { "ulira" }
  public var title: String { "U-LiRA shadow" }
  public var splits: Set<Split> { [.forget] }

  public func count(algorithm: String, kind: UnlearningKind, spec: ExperimentSpec) -> Int {
    let s = spec.evaluation.uliraShadows
    return s >= 4 && spec.evaluation.rounds == 1 && kind == .approximate ? s : 0
  }

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

  /// Shadow run `index`'s training set (retain and the candidates it includes) and its forget set
  /// (those candidates and random retain examples, as many as the evaluated forget set), sorted.
  public static func sets(
    index: Int, inclusion: [[Bool]], candidates: [Int], retain: [Int], seed: UInt64
  ) -> (train: [Int], forget: [Int]) {
    let included = candidates.indices.filter { inclusion[index][$0] }.map { candidates[$0] }
    var rng = Xoshiro256StarStar(seed: Seeds.derive(seed, "others"))
    let others = rng.permutation(retain.count).prefix(candidates.count - included.count).map { retain[$0] }
    return ((retain + included).sorted(), (included + others).sorted())
  }

  public func run(_ index: Int, of algorithm: any UnlearningAlgorithm, in experiment: PreparedExperiment, seed: UInt64)
    throws -> UnlearnedModel
  {
    let splits = experiment.splits, recipe = experiment.spec.training
    let shadows = count(algorithm: algorithm.name, kind: algorithm.kind, spec: experiment.spec)
    let inclusion = Self.inclusion(shadows: shadows, candidates: splits.forget.count, seed: experiment.spec.seed)
    let (trainIDs, forgetIDs) = Self.sets(
      index: index, inclusion: inclusion, candidates: splits.forget, retain: splits.retain, seed: seed)
    let train = experiment.examples(trainIDs)
    let weights = try Trainer.fromScratch(
      experiment.architecture, on: train, config: recipe, initSeed: Seeds.derive(seed, "init"),
      shuffleSeed: Seeds.derive(seed, "shuffle"))
    let own = try algorithm.trainOriginal(
      OriginalTrainingRequest(
        architecture: experiment.architecture, train: train, trainIDs: trainIDs, training: recipe, seed: seed))
    let forgotten = Set(forgetIDs)
    let retainIDs = trainIDs.filter { !forgotten.contains($0) }
    let request = UnlearningRequest(
      original: weights, forget: experiment.examples(forgetIDs), retain: experiment.examples(retainIDs),
      validation: experiment.examples(splits.validation), forgetIDs: forgetIDs, retainIDs: retainIDs,
      training: recipe, seed: Seeds.derive(seed, "unlearn"), own: own)
    return try algorithm.unlearn(request)
  }
}
