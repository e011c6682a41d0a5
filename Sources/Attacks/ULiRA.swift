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
/// OUT_x = { φ_s(x) : shadow run s never saw x }
/// s(x) = log N(φ_obs; median IN_x, σ_in²) − log N(φ_obs; median OUT_x, σ_out²)   (σ² pooled over examples)
/// ```
/// Members are the forget examples under the algorithm's evaluated models (trained
/// on, then unlearned); non-members the same examples under the retrained models
/// (never seen). An ideal unlearner scores AUC 0.5.
public struct ULiRAAttack: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    AttackReport.columns(
      "ulira", "U-LiRA",
      "Hayes et al., SaTML 2025: per-example Gaussians from shadow train-then-unlearn runs of the same algorithm.",
      tableAUC: false)
  }

  public var inputs: MetricInputs { .logits(.forget) + .shadowRuns }

  public var shadowRuns: (any ShadowRunPlan)? { ULiRAShadowRuns() }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let f = try input.labels(.forget)
    guard let shadows = input.shadowRuns, !f.isEmpty else {
      return missing("opt-in: set evaluation.ulira_shadows ≥ 2 (approximate algorithms, one deletion round)")
    }
    let inclusion = ULiRAShadowRuns.inclusion(shadows: shadows.count, candidates: f.count, seed: input.experimentSeed)
    let phi = try shadows.map { logitScaledConfidences(logits: try $0.logits(.forget), labels: f) }
    var muIn = [Double](), muOut = [Double](), varIn = 0.0, varOut = 0.0
    for x in f.indices {
      let inn = phi.indices.filter { inclusion[$0][x] }.map { phi[$0][x] }
      let out = phi.indices.filter { !inclusion[$0][x] }.map { phi[$0][x] }
      guard !inn.isEmpty, !out.isEmpty else { return missing("every candidate needs shadow runs with and without it") }
      muIn.append(Summary.median(inn))
      muOut.append(Summary.median(out))
      varIn += Summary.variance(inn) / Double(f.count)
      varOut += Summary.variance(out) / Double(f.count)
    }
    func score(_ m: ModelOutputs) throws -> [Double] {
      let p = logitScaledConfidences(logits: try m.logits(.forget), labels: f)
      return p.indices.map {
        LiRAAttack.logNormal(p[$0], muIn[$0], varIn) - LiRAAttack.logNormal(p[$0], muOut[$0], varOut)
      }
    }
    let pos = try input.population.models.flatMap(score), neg = try input.retrained.models.flatMap(score)
    guard !pos.isEmpty, !neg.isEmpty else { return missing("needs evaluated and retrained models") }
    return AttackReport.values("ulira", ROC(positives: pos, negatives: neg))
  }
}

/// The shadow runs of U-LiRA, opt-in with `evaluation.ulira_shadows: S` (S ≥ 2; every
/// approximate algorithm, one deletion round).
///
/// The candidates are the forget examples. A balanced inclusion matrix puts every
/// candidate in exactly half of the S shadow runs (ranks of uniform draws, as the
/// LiRA code does). Shadow run s trains a model from scratch on retain ∪ {candidates
/// included in s} (with the algorithm's own original training when it has one), then
/// unlearns the included candidates with the same algorithm and hyper-parameters,
/// and stores the logits of every candidate. For candidate x, the runs that included
/// it give the "trained, then unlearned" distribution and the others the "never seen" one.
public struct ULiRAShadowRuns: ShadowRunPlan {
  public init() {}

  public var name: String { "ulira" }
  public var title: String { "U-LiRA shadow" }
  public var splits: Set<Split> { [.forget] }

  public func count(algorithm: String, kind: UnlearningKind, spec: ExperimentSpec) -> Int {
    let s = spec.evaluation.uliraShadows
    return s >= 2 && spec.evaluation.rounds == 1 && kind == .approximate ? s : 0
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

  public func run(_ index: Int, of algorithm: any UnlearningAlgorithm, in experiment: PreparedExperiment, seed: UInt64)
    throws -> UnlearnedModel
  {
    let splits = experiment.splits, recipe = experiment.spec.training
    let shadows = count(algorithm: algorithm.name, kind: algorithm.kind, spec: experiment.spec)
    let inclusion = Self.inclusion(shadows: shadows, candidates: splits.forget.count, seed: experiment.spec.seed)
    let included = splits.forget.indices.filter { inclusion[index][$0] }.map { splits.forget[$0] }
    let trainIDs = (splits.retain + included).sorted()
    let train = experiment.examples(trainIDs)
    let weights = try Trainer.fromScratch(
      experiment.architecture, on: train, config: recipe, initSeed: Seeds.derive(seed, "init"),
      shuffleSeed: Seeds.derive(seed, "shuffle"))
    let own = try algorithm.trainOriginal(
      OriginalTrainingRequest(
        architecture: experiment.architecture, train: train, trainIDs: trainIDs, training: recipe, seed: seed))
    let request = UnlearningRequest(
      original: weights, forget: experiment.examples(included), retain: experiment.examples(splits.retain),
      validation: experiment.examples(splits.validation), forgetIDs: included, retainIDs: splits.retain,
      training: recipe, seed: Seeds.derive(seed, "unlearn"), own: own)
    return try algorithm.unlearn(request)
  }
}
