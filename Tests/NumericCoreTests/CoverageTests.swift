import Foundation
import NumericCore
import Testing

/// The coverage study behind the attack intervals (docs/STATISTICS.md): on simulated
/// populations whose true AUC is known, the two-way bootstrap's 95 % intervals cover it at
/// least 90 % of the time, and intervals that treat the pooled (model, example) pairs as
/// independent do not.
///
/// A pair's membership score is a random-effects sum, as in a per-example attack where every
/// forget example is scored under N unlearned models (members) and N retrained models
/// (non-members):
/// ```
/// member pair (i, x):     s = δ + a_x + b_i + e_ix
/// non-member pair (j, x): s =     a_x + c_j + e_jx
/// a_x ~ N(0, σa²) (the example), δ_x ~ N(δ, τ²) (how much the example leaks),
/// b_i, c_j ~ N(0, σb²) (the model), e ~ N(0, σe²)
/// ```
/// Over independently drawn examples and models, s_member − s_non-member ~ N(δ, 2V + τ²) with
/// V = σa² + σb² + σe², so AUC = Φ(δ / √(2V + τ²)). The pooled estimate also compares pairs of
/// the same example (a fraction 1/n of the comparisons), for which a_x cancels; its
/// expectation, the estimand of the study, is
/// (1 − 1/n)·Φ(δ/√(2V + τ²)) + (1/n)·Φ(δ/√(2(σb² + σe²) + τ²)).
@Suite struct CoverageTests {
  struct Scenario: Sendable, CustomStringConvertible {
    var name: String
    var delta: Double
    var sigmaExample: Double, sigmaModel: Double, sigmaNoise: Double
    /// τ, the spread of the leak over examples.
    var sigmaLeak = 0.0
    /// Whether intervals over pooled pairs are expected to fail here (coverage under 75 %).
    var pooledFails: Bool
    var models = 16, examples = 60

    var description: String { name }

    static func phi(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// The expected pooled AUC (see the suite's comment).
    var trueAUC: Double {
      let v = sigmaExample * sigmaExample + sigmaModel * sigmaModel + sigmaNoise * sigmaNoise
      let within = sigmaModel * sigmaModel + sigmaNoise * sigmaNoise, t2 = sigmaLeak * sigmaLeak
      let n = Double(examples)
      return (1 - 1 / n) * Self.phi(delta / (2 * v + t2).squareRoot())
        + (1 / n) * Self.phi(delta / (2 * within + t2).squareRoot())
    }

    /// One simulated run: members on model units 0..<N, non-members on N..<2N, examples shared.
    func draw(_ rng: inout Xoshiro256StarStar) -> ClusteredScores {
      let a = (0..<examples).map { _ in sigmaExample * rng.nextGaussian() }
      let leak = (0..<examples).map { _ in delta + sigmaLeak * rng.nextGaussian() }
      var s = ClusteredScores()
      for i in 0..<(2 * models) {
        let member = i < models
        let b = sigmaModel * rng.nextGaussian()
        for x in 0..<examples {
          s.append(
            (member ? leak[x] : 0) + a[x] + b + sigmaNoise * rng.nextGaussian(), member: member, model: i, example: x)
        }
      }
      return s
    }
  }

  /// Scores mostly determined by the example (as on digits, 97–98 %): an exact unlearner (δ = 0)
  /// and one that forgot nothing (δ = 1); one whose leak differs from example to example; and
  /// models that vary a lot (several originals, σb large). With the same examples on both sides
  /// and no leak, a_x cancels and pooled pairs happen to cover; with a leak that varies over
  /// examples or models that vary, they do not.
  static let scenarios = [
    Scenario(
      name: "retrain-like (δ = 0), example-dominated", delta: 0, sigmaExample: 2, sigmaModel: 0.2, sigmaNoise: 0.3,
      pooledFails: false),
    Scenario(
      name: "original-like (δ = 1), example-dominated", delta: 1, sigmaExample: 2, sigmaModel: 0.2, sigmaNoise: 0.3,
      pooledFails: false),
    Scenario(
      name: "leak varying over examples (δ = 1, τ = 1.5)", delta: 1, sigmaExample: 2, sigmaModel: 0.2, sigmaNoise: 0.3,
      sigmaLeak: 1.5, pooledFails: true),
    Scenario(
      name: "original-like (δ = 1), correlated models", delta: 1, sigmaExample: 1, sigmaModel: 0.8, sigmaNoise: 0.5,
      pooledFails: true),
  ]

  /// The interval of the old report: the pooled pairs bootstrapped as if independent.
  static func pooledPairsAUCInterval(_ s: ClusteredScores, replicates: Int, rng: inout Xoshiro256StarStar)
    -> ClosedRange<Double>
  {
    let pos = s.scores.indices.filter { s.member[$0] }.map { s.scores[$0] }
    let neg = s.scores.indices.filter { !s.member[$0] }.map { s.scores[$0] }
    let aucs = (0..<replicates).map { _ in
      ROC(
        positives: pos.map { _ in pos[rng.nextIndex(below: pos.count)] },
        negatives: neg.map { _ in neg[rng.nextIndex(below: neg.count)] }
      ).auc
    }
    return Summary.interval95(aucs)!
  }

  @Test(arguments: scenarios)
  func twoWayIntervals_coverTheTruth_pooledOnesDoNot(_ scenario: Scenario) throws {
    var rng = Xoshiro256StarStar(seed: Seeds.derive(11, scenario.name))
    let simulations = 300
    var twoWay = 0, pooled = 0, meanEstimate = 0.0
    for k in 0..<simulations {
      let s = scenario.draw(&rng)
      meanEstimate += s.roc.auc / Double(simulations)
      let ci = try #require(TwoWayBootstrap.intervals(s, fprs: [], replicates: 400, seed: UInt64(k)))
      if ci.auc.contains(scenario.trueAUC) { twoWay += 1 }
      if Self.pooledPairsAUCInterval(s, replicates: 100, rng: &rng).contains(scenario.trueAUC) { pooled += 1 }
    }
    // The point estimate is unbiased for the estimand (standard error of the mean under 0.01).
    #expect(abs(meanEstimate - scenario.trueAUC) < 0.02, "\(meanEstimate) vs \(scenario.trueAUC)")
    let twoWayCoverage = Double(twoWay) / Double(simulations), pooledCoverage = Double(pooled) / Double(simulations)
    #expect(twoWayCoverage >= 0.90, "two-way coverage \(twoWayCoverage)")
    if scenario.pooledFails { #expect(pooledCoverage < 0.75, "pooled-pairs coverage \(pooledCoverage)") }
    print("coverage \(scenario.name): two-way \(twoWayCoverage), pooled pairs \(pooledCoverage)")
  }

  /// Clopper–Pearson on pooled pairs, the old TPR-at-FPR interval, against the two-way bootstrap.
  @Test func tprAtFPR_twoWayCovers_clopperPearsonOnPairsDoesNot() throws {
    let scenario = Self.scenarios[1]
    let v = pow(scenario.sigmaExample, 2) + pow(scenario.sigmaModel, 2) + pow(scenario.sigmaNoise, 2)
    // Non-member scores ~ N(0, V) marginally, members ~ N(δ, V): TPR at FPR α is 1 − Φ(z_{1−α} − δ/√V).
    let alpha = 0.1, z90 = 1.2815515655446004
    let truth = 1 - Scenario.phi(z90 - scenario.delta / v.squareRoot())
    var rng = Xoshiro256StarStar(seed: 12)
    let simulations = 300
    var twoWay = 0, exact = 0
    for k in 0..<simulations {
      let s = scenario.draw(&rng)
      let ci = try #require(TwoWayBootstrap.intervals(s, fprs: [alpha], replicates: 400, seed: UInt64(k)))
      if ci.tprAtFPR[0].contains(truth) { twoWay += 1 }
      if s.roc.tpr(atFPR: alpha).tprInterval.contains(truth) { exact += 1 }
    }
    let twoWayCoverage = Double(twoWay) / Double(simulations), exactCoverage = Double(exact) / Double(simulations)
    #expect(twoWayCoverage >= 0.90, "two-way coverage \(twoWayCoverage)")
    #expect(exactCoverage < 0.6, "Clopper–Pearson on pooled pairs: coverage \(exactCoverage)")
    print("coverage TPR@10%: two-way \(twoWayCoverage), Clopper–Pearson on pairs \(exactCoverage)")
  }

  /// Small, tied, separable and skewed inputs: every interval is well formed and within [0, 1].
  @Test func intervals_areWellFormed_onDegenerateScores() throws {
    var rng = Xoshiro256StarStar(seed: 13)
    for trial in 0..<60 {
      var s = ClusteredScores()
      let models = 1 + trial % 4, examples = 2 + trial % 7
      for i in 0..<(2 * models) {
        for x in 0..<examples {
          let member = i < models
          // Heavy ties (scores on a grid of 3 values), sometimes perfect separation.
          let base = Double(rng.nextIndex(below: 3)) + (member && trial % 5 == 0 ? 10 : 0)
          s.append(base, member: member, model: i, example: x)
        }
      }
      let ci = try #require(
        TwoWayBootstrap.intervals(s, fprs: [0.001, 0.01, 0.1], replicates: 50, seed: UInt64(trial)))
      for r in [ci.auc, ci.bestBalancedAccuracy] + ci.tprAtFPR {
        #expect(r.lowerBound >= 0 && r.upperBound <= 1, "trial \(trial): \(r)")
      }
    }
  }
}
