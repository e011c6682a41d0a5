import Foundation
import Harness
import NumericCore
import TestSupport
import Testing

@testable import Attacks

@Suite struct StatisticsTests {
  @Test func roc_handMadeCase() {
    // Members 0.9, 0.8, 0.8, 0.4, 0.3; non-members 0.8, 0.5, 0.3, 0.2, 0.1, 0.1.
    // Pairs won: 6 + 2·5.5 + 4 + 3.5 = 24.5 of 30 → AUC 0.81667 (scikit-learn agrees).
    let roc = ROC(positives: [0.9, 0.8, 0.8, 0.4, 0.3], negatives: [0.8, 0.5, 0.3, 0.2, 0.1, 0.1])
    #expect(abs(roc.auc - 24.5 / 30) < 1e-12)
    // The same points as sklearn.metrics.roc_curve(drop_intermediate=False).
    let fpr: [Double] = [0, 0, 1.0 / 6, 2.0 / 6, 2.0 / 6, 3.0 / 6, 4.0 / 6, 1]
    let tpr: [Double] = [0, 0.2, 0.6, 0.6, 0.8, 1, 1, 1]
    #expect(roc.fpr == fpr)
    #expect(roc.tpr == tpr)
    // Best balanced accuracy: TPR 1 at FPR 1/2 → ½(1 + 1/2) = 0.75.
    #expect(abs(roc.bestBalancedAccuracy - 0.75) < 1e-12)
    let at = roc.tpr(atFPR: 0.2)
    #expect(at.tpr == 0.6 && abs(at.fpr - 1.0 / 6) < 1e-12)
    #expect(ROC(positives: [1, 2], negatives: [1, 2]).auc == 0.5)
    #expect(ROC(positives: [3, 4], negatives: [1, 2]).auc == 1)
  }

  @Test(arguments: [
    (500, 10_000, 0.045809942198770603, 0.054454527028358866),
    (10, 500, 0.00963142958643335, 0.03647240829220982),
    (5, 500, 0.003254721407030503, 0.023181388069659612),
    (0, 1000, 0.0, 0.003682083896639526),
    (10, 10_000, 0.00047963972376422837, 0.0018382641342490629),
    (25, 25_000, 0.0006472485418091521, 0.0014758457601770768),
    (3, 3, 0.2924017738212867, 1.0),
    (1, 2, 0.01257911709367899, 0.987420882906321),
  ])
  func clopperPearson_matchesSciPy(_ k: Int, _ n: Int, _ lo: Double, _ hi: Double) {
    // scipy.stats.binomtest(k, n).proportion_ci(0.95, method="exact").
    let ci = ClopperPearson.interval(k, n)
    #expect(abs(ci.lowerBound - lo) < 1e-9 && abs(ci.upperBound - hi) < 1e-9, "\(k)/\(n): \(ci)")
  }

  @Test func svc_separatesAToyProblem_andMatchesSklearnsDecision() {
    // Two separable clusters in 2-D; every training point is classified correctly.
    let x: [[Double]] = [[0, 0], [0.2, 0.1], [0.1, 0.3], [2, 2], [2.2, 1.9], [1.8, 2.1]]
    let y = [false, false, false, true, true, true]
    let svc = SVC.fit(x, labels: y, c: 3, gamma: 0.5)
    #expect(x.map(svc.predict) == y)
    #expect(svc.predict([2.5, 2.5]) && !svc.predict([-0.5, 0]))
    // sklearn.svm.SVC(C=3, gamma=0.5).fit(x, y).decision_function: [1, 1] → −0.11367585, [2.5, 2.5] → 0.81974317.
    #expect(abs(svc.decision([1, 1]) - (-0.11367585172126177)) < 1e-3, "\(svc.decision([1, 1]))")
    #expect(abs(svc.decision([2.5, 2.5]) - 0.81974317) < 1e-3)
  }
}

/// Populations of 2-class models whose logits are [0, φ] with label 1, so the
/// logit-scaled confidence of every example is exactly φ.
enum Synthetic {
  static func tensor(_ phi: [Double]) -> Tensor {
    Tensor(shape: [phi.count, 2], scalars: phi.flatMap { [Float(0), Float($0)] })
  }

  /// One model: forget examples at `phi`, the other splits (non-members for every model) at `population`.
  static func model(_ phi: [Double], population: [Double]) -> ModelOutputs {
    let z = tensor(population)
    return ModelOutputs(PerSplit(forget: tensor(phi), retain: z, test: z, validation: z, audit: z))
  }

  /// K models: forget example x at μ_x (+ shift) plus unit noise; the population split unshifted.
  static func population(_ name: String, models k: Int, means: [Double], shift: Double, rng: inout Xoshiro256StarStar)
    -> Population
  {
    Population(
      role: Role(rowName: name), kind: .approximate,
      models: (0..<k).map { _ in
        model(means.map { $0 + shift + rng.nextGaussian() }, population: means.map { $0 + rng.nextGaussian() })
      })
  }

  /// What a metric gets to score `population` (every split's labels: class 1).
  static func input(_ population: Population, retrained: Population, originals: Population? = nil, n: Int)
    -> MetricInput
  {
    let labels = [Int32](repeating: 1, count: n)
    var input = MetricInput(
      population: population, reference: retrained, originals: originals,
      labels: PerSplit(forget: labels, retain: labels, test: labels, validation: labels, audit: labels), seed: 1,
      workers: 2)
    input.shadowRuns = population.shadowRuns["ulira"]
    return input
  }
}

@Suite struct ReferenceAttackTests {
  @Test func lira_findsAShiftOnSyntheticGaussians_andNothingWithoutOne() throws {
    var rng = Xoshiro256StarStar(seed: 4)
    let n = 300
    let means = (0..<n).map { _ in 2 * rng.nextGaussian() }
    let retrained = Synthetic.population("retrain", models: 64, means: means, shift: 0, rng: &rng)
    let originals = Synthetic.population("original-seeds", models: 16, means: means, shift: 3, rng: &rng)
    let leaky = Synthetic.population("leaky", models: 16, means: means, shift: 3, rng: &rng)
    let clean = Synthetic.population("clean", models: 16, means: means, shift: 0, rng: &rng)
    func input(_ p: Population) -> MetricInput { Synthetic.input(p, retrained: retrained, originals: originals, n: n) }
    // Two unit Gaussians 3 apart: the optimal AUC is Φ(3/√2) ≈ 0.983.
    let optimal = 0.5 * erfc(-(3 / 2.0.squareRoot()) / 2.0.squareRoot())
    let l = try LiRAAttack().evaluate(input(leaky))
    for v in ["lira_offline", "lira_offline_pe", "lira_online", "lira_online_pe"] {
      let auc = try #require(l["\(v)_auc"]?.mean)
      #expect(abs(auc - 0.983) < 0.02, "\(v): \(auc) vs \(optimal)")
    }
    let c = try LiRAAttack().evaluate(input(clean))
    for v in ["lira_offline", "lira_online"] {
      let auc = try #require(c["\(v)_auc"]?.mean)
      #expect(abs(auc - 0.5) < 0.03, "\(v): \(auc)")
    }
    // The retrained population against itself sits at chance.
    let r = try LiRAAttack().evaluate(input(retrained))
    #expect(abs(r["lira_online_auc"]!.mean! - 0.5) < 0.04)
    // TPR at 1 % FPR comes with a two-way bootstrap interval around it.
    let tpr = try #require(l["lira_online_tpr_at_1pct_fpr"])
    #expect(tpr.interval![0] <= tpr.mean! && tpr.mean! <= tpr.interval![1] && tpr.mean! > 0.5)
  }

  @Test func rmia_findsAShift_andNothingWithoutOne() throws {
    var rng = Xoshiro256StarStar(seed: 5)
    let n = 300
    let means = (0..<n).map { _ in rng.nextGaussian() }
    let retrained = Synthetic.population("retrain", models: 32, means: means, shift: 0, rng: &rng)
    let originals = Synthetic.population("original-seeds", models: 8, means: means, shift: 2, rng: &rng)
    func input(_ p: Population) -> MetricInput { Synthetic.input(p, retrained: retrained, originals: originals, n: n) }
    let leaky = try RMIAAttack().evaluate(
      input(Synthetic.population("leaky", models: 16, means: means, shift: 2, rng: &rng)))
    let clean = try RMIAAttack().evaluate(
      input(Synthetic.population("clean", models: 16, means: means, shift: 0, rng: &rng)))
    #expect(leaky["rmia_offline_auc"]!.mean! > 0.8 && leaky["rmia_online_auc"]!.mean! > 0.8)
    #expect(abs(clean["rmia_offline_auc"]!.mean! - 0.5) < 0.04)
  }
}

/// The statistics the per-example attacks fit, against values by hand (NumPy's conventions).
@Suite struct ReferenceStatisticsTests {
  /// LiRA: per-example median and np.var over the references, and the fixed variance: one
  /// np.var over every reference confidence (Carlini et al.'s `fix_variance`).
  @Test func lira_perExampleAndGlobalVariance() {
    let r = LiRAAttack.Reference([[1, 2], [3, 6], [2, 10]])
    #expect(r.median == [2, 6])
    #expect(abs(r.variance[0] - 2.0 / 3) < 1e-12 && abs(r.variance[1] - 32.0 / 3) < 1e-12)
    // [1, 2, 3, 6, 2, 10]: mean 4, squared deviations 9 + 4 + 1 + 4 + 4 + 36 = 58.
    #expect(abs(r.globalVariance - 58.0 / 6) < 1e-12)
  }

  /// RMIA's Pr(x): online ½(mean_IN + mean_OUT) whatever the sizes of the two sets; offline
  /// ½((1 + a)·mean_OUT + (1 − a)).
  @Test func rmia_priorWeighsInAndOutEqually() {
    let attack = RMIAAttack(gamma: 1, a: 0.3)
    let out = [[0.2], [0.4], [0.6]], inn = [[0.9]]
    #expect(abs(attack.prior(out, inn, true)[0] - 0.5 * (0.9 + 0.4)) < 1e-12)
    #expect(abs(attack.prior(out, nil, false)[0] - 0.5 * (1.3 * 0.4 + 0.7)) < 1e-12)
    // score(x) = share of z with (p_x / Pr(x)) / (p_z / Pr(z)) ≥ γ: ratios of z are 1, 2, 4; x's is 2.
    let s = attack.scores([0.5], [0.25, 0.5, 1], priorX: [0.25], priorZ: [0.25, 0.25, 0.25])
    #expect(s == [2.0 / 3])
    #expect(
      RMIAAttack(gamma: 2, a: 0.3).scores([0.5], [0.25, 0.5, 1], priorX: [0.25], priorZ: [0.25, 0.25, 0.25]) == [
        1.0 / 3
      ])
  }
}

@Suite struct PopulationAttackTests {
  @Test func songMittal_thresholdAndFeatures() {
    // Members 3, 4, 5 and non-members 1, 2, 3: τ = 3 flags all members and 1 of 3 non-members
    // (½(1 + 2/3)); τ = 4 flags 2 members, no non-member (½(2/3 + 1)): the first maximiser, 3, is kept.
    #expect(SongMittalAttacks.threshold(members: [3, 4, 5], nonMembers: [1, 2, 3]) == 3)
    let p = [0.7, 0.2, 0.1]
    #expect(SongMittalAttacks.feature(.confidence, p[...], 0) == 0.7)
    #expect(SongMittalAttacks.feature(.correctness, p[...], 1) == 0)
    #expect(
      abs(SongMittalAttacks.feature(.entropy, p[...], 0) - (0.7 * log(0.7) + 0.2 * log(0.2) + 0.1 * log(0.1))) < 1e-12)
    // Modified entropy, Song & Mittal: −[−(1 − p_y) log p_y − Σ_{i≠y} p_i log(1 − p_i)].
    let expected = 0.3 * log(0.7) + 0.2 * log(0.8) + 0.1 * log(0.9)
    #expect(abs(SongMittalAttacks.feature(.modifiedEntropy, p[...], 0) - expected) < 1e-12)
  }

  @Test func divergences_byHand() {
    let p = [0.5, 0.5], q = [0.9, 0.1]
    #expect(abs(RetrainDistance.kl(p, q) - (0.5 * log(0.5 / 0.9) + 0.5 * log(0.5 / 0.1))) < 1e-12)
    #expect(RetrainDistance.js(p, p) == 0)
    #expect(
      RetrainDistance.js([1, 0], [0, 1]) <= log(2) + 1e-9 && RetrainDistance.js([1, 0], [0, 1]) > log(2) - 1e-6)
  }

  /// The metric's means over examples (every logarithm of the matrices at once) against the
  /// definitions row by row, with zero probabilities (the 1e-12 clipping) among them.
  @Test func meanDistances_matchTheRowByRowDefinitions() {
    var rng = Xoshiro256StarStar(seed: 17)
    let rows = 37, k = 10
    func matrix() -> [[Double]] {
      (0..<rows).map { _ in
        let w = (0..<k).map { _ in rng.nextUnitDouble() < 0.2 ? 0 : rng.nextUnitDouble() }
        let s = w.reduce(0, +)
        return w.map { $0 / s }
      }
    }
    let p = matrix(), q = matrix()
    let d = RetrainDistance.meanDistances(p.flatMap { $0 }, q.flatMap { $0 }, classes: k)
    let kl = (0..<rows).reduce(0.0) { $0 + RetrainDistance.kl(p[$1], q[$1]) } / Double(rows)
    let js = (0..<rows).reduce(0.0) { $0 + RetrainDistance.js(p[$1], q[$1]) } / Double(rows)
    var l2 = 0.0
    for x in 0..<rows {
      var s = 0.0
      for c in 0..<k { s += (p[x][c] - q[x][c]) * (p[x][c] - q[x][c]) }
      l2 += s.squareRoot()
    }
    l2 /= Double(rows)
    #expect(TestSupport.close(d.kl, kl, rtol: 1e-13, atol: 0) && TestSupport.close(d.js, js, rtol: 1e-13, atol: 0))
    #expect(d.l2 == l2)
  }

  @Test func miaEfficacy_countsForgetExamplesCalledNonMembers() throws {
    // Retain (members) confident at 0.99, test (non-members) at 0.6: forget at 0.98 looks like a
    // member (efficacy 0), forget at 0.55 like a non-member (efficacy 1).
    func z(_ p: Double, _ n: Int) -> Tensor {
      Tensor(shape: [n, 2], scalars: (0..<n).flatMap { _ in [Float(0), Float(log(p / (1 - p)))] })
    }
    let y = [Int32](repeating: 1, count: 40)
    let labels = PerSplit(forget: y, retain: y, test: y, validation: y, audit: y)
    func model(forget p: Double) -> ModelOutputs {
      ModelOutputs(
        PerSplit(forget: z(p, 40), retain: z(0.99, 40), test: z(0.6, 40), validation: z(0.6, 40), audit: z(0.6, 40)))
    }
    let member = try MIAEfficacy.efficacy(model(forget: 0.98), labels: labels)
    let nonMember = try MIAEfficacy.efficacy(model(forget: 0.55), labels: labels)
    #expect(member == 0 && nonMember == 1)
  }
}

@Suite struct ULiRATests {
  @Test func inclusion_isBalanced() {
    let m = ULiRAShadowRuns.inclusion(shadows: 8, candidates: 50, seed: 3)
    for x in 0..<50 { #expect(m.filter { $0[x] }.count == 4) }
    #expect(m == ULiRAShadowRuns.inclusion(shadows: 8, candidates: 50, seed: 3))
  }

  /// A shadow run trains on retain and its included candidates, then forgets as many examples as
  /// the evaluated run: those candidates and random retain examples (Hayes et al.: the shadow
  /// pipeline is the evaluated one).
  @Test func shadowRuns_forgetAsManyExamplesAsTheTarget() {
    let candidates = Array(0..<20), retain = Array(100..<300)
    let inclusion = ULiRAShadowRuns.inclusion(shadows: 6, candidates: candidates.count, seed: 2)
    for s in 0..<6 {
      let (train, forget) = ULiRAShadowRuns.sets(
        index: s, inclusion: inclusion, candidates: candidates, retain: retain, seed: UInt64(s))
      let included = Set(candidates.filter { inclusion[s][$0] })
      #expect(forget.count == candidates.count && Set(forget).count == forget.count)
      #expect(Set(forget).intersection(Set(candidates)) == included)
      #expect(Set(forget).isSubset(of: Set(train)) && Set(train) == Set(retain).union(included))
    }
  }

  @Test func ulira_seesAnUnlearnedShift_andNothingWithout() throws {
    var rng = Xoshiro256StarStar(seed: 9)
    let n = 200, s = 16
    let means = (0..<n).map { _ in 2 * rng.nextGaussian() }
    let inclusion = ULiRAShadowRuns.inclusion(shadows: s, candidates: n, seed: 1)
    // Shadow runs of the pipeline: with a leaky unlearner, a candidate that was trained on, then
    // unlearned, keeps a shift of 2; with a clean one, nothing of it is left.
    func shadows(shift: Double) -> [ModelOutputs] {
      (0..<s).map { k in
        Synthetic.model(
          means.indices.map { means[$0] + (inclusion[k][$0] ? shift : 0) + rng.nextGaussian() }, population: means)
      }
    }
    let retrained = Synthetic.population("retrain", models: 16, means: means, shift: 0, rng: &rng)
    var leaky = Synthetic.population("leaky", models: 16, means: means, shift: 2, rng: &rng)
    var clean = Synthetic.population("clean", models: 16, means: means, shift: 0, rng: &rng)
    leaky.shadowRuns["ulira"] = shadows(shift: 2)
    clean.shadowRuns["ulira"] = shadows(shift: 0)
    func input(_ p: Population) -> MetricInput {
      var i = Synthetic.input(p, retrained: retrained, n: n)
      i.experimentSeed = 1
      return i
    }
    #expect(try ULiRAAttack().evaluate(input(leaky))["ulira_auc"]!.mean! > 0.85)
    #expect(abs(try ULiRAAttack().evaluate(input(clean))["ulira_auc"]!.mean! - 0.5) < 0.04)
  }
}

@Suite struct SongMittalFeatureTests {
  /// All four features of a set at once (its logarithms taken together) against the definition
  /// row by row, with ties for the largest probability and zero probabilities (the clipping).
  @Test func features_matchTheDefinitionRowByRow() {
    var rng = Xoshiro256StarStar(seed: 23)
    let rows = 41, k = 10
    let probabilities = (0..<rows).map { r -> [Double] in
      if r % 7 == 0 { return [0.3, 0.3, 0.2, 0.2] + [Double](repeating: 0, count: k - 4) }
      let w = (0..<k).map { _ in rng.nextUnitDouble() < 0.2 ? 0 : rng.nextUnitDouble() }
      let s = w.reduce(0, +)
      return w.map { $0 / s }
    }
    let labels = (0..<rows).map { $0 % 3 == 0 ? 1 : rng.nextIndex(below: k) }
    let set = SongMittalAttacks.LabeledProbabilities(probabilities: probabilities, labels: labels)
    let all = SongMittalAttacks.features(set)
    for kind in SongMittalAttacks.Kind.allCases {
      for r in 0..<rows {
        let want = SongMittalAttacks.feature(kind, probabilities[r][...], labels[r]), got = all[kind]![r]
        #expect(TestSupport.close(got, want, rtol: 1e-14, atol: 1e-300), "\(kind) row \(r): \(got) vs \(want)")
      }
    }
  }
}
