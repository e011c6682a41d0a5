import CKernels
import Foundation
import Harness
import NumericCore
import TestSupport
import Testing

@testable import Attacks

/// ε of one example through the public path.
private func eps(_ u: [Double], _ r: [Double]) throws -> (epsilon: Double, degenerate: Bool) {
  let e = try ChallengeScore.epsilon(unlearned: u, retrained: r, table: ChallengeScore.RuleTable(models: u.count))
  return (e.epsilon, e.degenerate)
}

/// float32 ε̂ of one rule by hand: max(log((1−δ−FPR)/FNR), log((1−δ−FNR)/FPR)) with float32 rates.
private func handEpsilon(fpr: Float, fnr: Float) -> Float {
  let one = Float(1 - 1e-5)
  let e1 = Float(log(Double(one - fpr))) - Float(log(Double(fnr)))
  let e2 = Float(log(Double(one - fnr))) - Float(log(Double(fpr)))
  return max(e1, e2)
}

@Suite struct ChallengeRuleTests {
  @Test func ruleTable_coversEveryOutcome() {
    let t = ChallengeScore.RuleTable(models: 4)
    // Perfect separation: all positives in, no negatives in.
    #expect(t.epsilon(positives: 4, negatives: 0) == .infinity)
    // Exactly one error rate is 0: discarded (FNR = 0, FPR > 0; FPR = 0, FNR > 0).
    #expect(t.epsilon(positives: 4, negatives: 1) == -1)
    #expect(t.epsilon(positives: 3, negatives: 0) == -1)
    // TPR 3/4, FPR 1/4: log((1 − δ − 1/4)/(1/4)) = log(2.99996).
    #expect(t.epsilon(positives: 3, negatives: 1) == handEpsilon(fpr: 0.25, fnr: 0.25))
    #expect(abs(Double(t.epsilon(positives: 3, negatives: 1)) - log(2.99996)) < 1e-6)
    // Rates 1/4 and 3/4 both ways: both logs negative, clipped to 0.
    #expect(t.epsilon(positives: 1, negatives: 3) == 0)
    // FPR = 1 makes log(1 − δ − 1) NaN; the other side −0.69 is kept and clipped to 0.
    #expect(t.epsilon(positives: 2, negatives: 4) == 0)
    // FPR = 1 and FNR = 1: both logs NaN, discarded.
    #expect(t.epsilon(positives: 0, negatives: 4) == -1)
    // TPR 2/4, FPR 1/4: max(log(0.74999/0.5), log(0.49999/0.25)) = log(1.99996).
    #expect(abs(Double(t.epsilon(positives: 2, negatives: 1)) - log(1.99996)) < 1e-6)
  }

  @Test func largestFiniteEpsilon_isLogOfNMinusOne() {
    // Rates of 1/N: ln(N − 1 − Nδ); for N = 512 about 6.236.
    let t = ChallengeScore.RuleTable(models: 512)
    let e = Double(t.epsilon(positives: 511, negatives: 1))
    #expect(abs(e - log(511 - 512e-5)) < 1e-5)
    #expect(abs(e - 6.236) < 1e-3)
  }

  @Test func bins_dependOnN() {
    #expect(ChallengeScore.binCount(models: 512) == 14)  // ⌈ln 511⌉ = 7
    #expect(ChallengeScore.binCount(models: 64) == 10)  // ⌈ln 63⌉ = 5
    #expect(ChallengeScore.binCount(models: 100) == 10)  // ⌈ln 99⌉ = 5
    #expect(ChallengeScore.binCount(models: 3) == 2)  // ⌈ln 2⌉ = 1
    #expect(ChallengeScore.binCount(models: 2) == 0)  // ln 1 = 0: no bins
    #expect(ChallengeScore.binCount(models: 4) == 4)  // ⌈ln 3⌉ = 2
  }

  @Test func points_halvePerBin() {
    #expect(ChallengeScore.points(epsilon: 0, models: 512) == 1)
    #expect(ChallengeScore.points(epsilon: 0.49999, models: 512) == 1)
    #expect(ChallengeScore.points(epsilon: 0.5, models: 512) == 0.5)
    #expect(ChallengeScore.points(epsilon: 1.7, models: 512) == 0.125)
    #expect(ChallengeScore.points(epsilon: 6.9, models: 512) == 1.0 / 8192)
    #expect(ChallengeScore.points(epsilon: 7, models: 512) == 0)
    #expect(ChallengeScore.points(epsilon: 50, models: 512) == 0)
    // N = 64: 10 bins, so ε ∈ [4.5, 5) is the last scoring bin.
    #expect(ChallengeScore.points(epsilon: 4.7, models: 64) == 1.0 / 512)
    #expect(ChallengeScore.points(epsilon: 5.0, models: 64) == 0)
  }

  @Test func grids_followNumPyAndTorchCUDA() {
    let g = ChallengeScore.numpyLinspace(0.1, 0.7, count: 4)
    #expect(g == [0.1, 0.1 + 0.19999999999999998, 2 * 0.19999999999999998 + 0.1, 0.7])
    #expect(ChallengeScore.numpyLinspace(3, 5, count: 1) == [3])
    #expect(ChallengeScore.numpyLinspace(3, 5, count: 0).isEmpty)
    // float32: step (1.3 − 0.1)/4 in float32; the second half counts back from the end.
    let s = Float(0.1), e = Float(1.3), step = (e - s) / 4
    let t = ChallengeScore.torchLinspaceFloat32(0.1, 1.3, count: 5)
    #expect(t == [s, s + step, e - step * 2, e - step, e])
    #expect(ChallengeScore.torchLinspaceFloat32(2, 2, count: 1) == [2])
  }
}

@Suite struct ChallengeEpsilonTests {
  @Test func peakyGuard_capsAtFifty() throws {
    // Range ratio 0 (a constant sample) < 1%: ε = 50 without looking at rules.
    #expect(try eps([1, 1, 1, 1], [0, 1, 2, 3]) == (50, false))
    // Ratio 0.009: capped; ratio 0.011: not capped (the narrow sample straddles 5, so nothing separates).
    let wide = [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 10]
    let narrow9 = wide.map { 4.95 + $0 * 0.009 }, narrow11 = wide.map { 4.95 + $0 * 0.011 }
    #expect(try eps(narrow9, wide).epsilon == 50)
    #expect(try eps(narrow11, wide).epsilon < 50)
    // The guard is reported, so deterministic outputs can be flagged.
    let table = ChallengeScore.RuleTable(models: 10)
    #expect(try ChallengeScore.epsilon(unlearned: narrow9, retrained: wide, table: table).guarded)
    #expect(try !ChallengeScore.epsilon(unlearned: narrow11, retrained: wide, table: table).guarded)
    let result = try ChallengeScore.evaluate(
      unlearned: zip(narrow9, narrow11).flatMap { [$0, $1] }, retrained: wide.flatMap { [$0, $0] }, models: 10,
      examples: 2)
    #expect(result.guardedExamples == [0])
  }

  @Test func bothConstant_isNotPeakyButDegenerate() throws {
    // 0/0 is NaN and passes the guard; identical constants leave no surviving rule.
    let r = try eps([2, 2, 2, 2], [2, 2, 2, 2])
    #expect(r == (0, true))
  }

  @Test func perfectSeparation_byASingleThreshold() throws {
    #expect(try eps([0, 1, 2, 3], [10, 11, 12, 13]) == (50, false))
    #expect(try eps([10, 11, 12, 13], [0, 1, 2, 3]) == (50, false))
  }

  @Test func perfectSeparation_byAWindowOnly() throws {
    // The unlearned sample sits inside the retrained one's range: no threshold
    // separates them (every t keeps one of ±1 with the four), but the window
    // [−0.5, 0.3] holds all of the narrow sample and none of the wide one.
    let u = [0, 0.1, 0.2, 0.3], r = [-5.0, -1, 1, 5]
    #expect(try eps(u, r) == (50, false))
  }

  @Test func finiteEpsilon_byHand() throws {
    // u = 0,1,2,3 and r = 1.5,2.5,3.5,4.5: HI = r (larger median). The best rules
    // (threshold in (2, 2.5], or the window [0, 2]) err once on each side:
    // FPR = FNR = 1/4, ε = log((1 − δ − 1/4)/(1/4)) = log(2.99996); nothing separates perfectly.
    let r = try eps([0, 1, 2, 3], [1.5, 2.5, 3.5, 4.5])
    #expect(!r.degenerate)
    #expect(r.epsilon == Double(handEpsilon(fpr: 0.25, fnr: 0.25)))
    // ε ∈ [1, 1.5): third bin; N = 4 has ⌈ln 3⌉ = 2, so 4 bins.
    #expect(ChallengeScore.points(epsilon: r.epsilon, models: 4) == 0.25)
  }

  @Test func orientation_followsMediansNotArgumentOrder() throws {
    // With distinct medians, swapping the two populations changes nothing.
    var rng = Xoshiro256StarStar(seed: 7)
    for _ in 0..<5 {
      let u = (0..<16).map { _ in rng.nextGaussian() + 0.7 }, r = (0..<16).map { _ in rng.nextGaussian() * 1.5 }
      #expect(try eps(u, r) == eps(r, u))
    }
  }

  @Test func tiedMedians_makeTheUnlearnedSampleHI() throws {
    // Both medians are 2.75, so HI = the unlearned argument, and the order matters.
    // u = 1.5, 2, 3.5, 3.5 as unlearned: the window [2, 3] holds three of r and one of u
    // (FPR = FNR = 1/4, ε = log(2.99996)); no threshold "u ≥ t" does better than 0.
    // Swapped, HI = 1, 2.5, 3, 3: the best rules (t ∈ (2, 2.5], or the window [1.5, 2.5])
    // reach FNR 1/2, FPR 1/4 or the mirror image: ε = log(0.49999/0.25) = log(1.99996).
    let u = [1.5, 2, 3.5, 3.5], r = [1.0, 2.5, 3, 3]
    #expect(try eps(u, r) == (Double(handEpsilon(fpr: 0.25, fnr: 0.25)), false))
    #expect(try eps(r, u) == (Double(handEpsilon(fpr: 0.25, fnr: 0.5)), false))
    #expect(abs(try eps(r, u).epsilon - log(1.99996)) < 1e-6)
  }

  @Test func score_multipliesUtilityRatios() {
    let s = ChallengeScore.score(
      forgettingQuality: 0.2, retainAccuracyUnlearned: 99, retainAccuracyRetrained: 100,
      testAccuracyUnlearned: 90, testAccuracyRetrained: 80)
    #expect(abs(s - 0.2 * 0.99 * 1.125) < 1e-15)  // no clipping of a ratio above 1
  }

  @Test func evaluate_rejectsBadInput() {
    #expect(throws: AttackError.self) {
      try ChallengeScore.evaluate(unlearned: [1], retrained: [1], models: 1, examples: 1)
    }
    #expect(throws: AttackError.self) {
      try ChallengeScore.evaluate(unlearned: [1, .nan], retrained: [1, 2], models: 2, examples: 1)
    }
    #expect(throws: AttackError.self) {
      try ChallengeScore.evaluate(unlearned: [1, 2, 3], retrained: [1, 2], models: 2, examples: 1)
    }
  }
}

/// Bit-for-bit agreement with `scripts/challenge_oracle.py`, an independent
/// brute-force implementation that materialises every rule (N = 3 … 512, ties,
/// heavy tails, narrow-inside-wide samples).
@Suite struct ChallengeOracleTests {
  struct Expected: Decodable {
    var numModels: Int
    var epsilons: [Double]
    var points: [Double]
    var forgettingQuality: Double
    var degenerateExamples: [Int]

    enum CodingKeys: String, CodingKey {
      case numModels = "num_models"
      case epsilons, points
      case forgettingQuality = "forgetting_quality"
      case degenerateExamples = "degenerate_examples"
    }
  }

  @Test(arguments: ["same512", "shift64", "far64", "narrow100", "tiny3", "cauchy128", "lattice32"])
  func matchesTheOracle(_ name: String) throws {
    let dir = TestSupport.fixtures.appendingPathComponent("challenge")
    let all = try JSONDecoder().decode(
      [String: Expected].self, from: Data(contentsOf: dir.appendingPathComponent("expected.json")))
    let expected = try #require(all[name])
    let u = try NPYArray.read(dir.appendingPathComponent("\(name)_U.npy"))
    let r = try NPYArray.read(dir.appendingPathComponent("\(name)_R.npy"))
    let result = try ChallengeScore.evaluate(
      unlearned: u.doubles, retrained: r.doubles, models: u.shape[0], examples: u.shape[1], workers: 2)
    #expect(result.numModels == expected.numModels)
    #expect(result.epsilons == expected.epsilons)
    #expect(result.points == expected.points)
    #expect(result.forgettingQuality == expected.forgettingQuality)
    #expect(result.degenerateExamples == expected.degenerateExamples)
  }
}

@Suite struct ChallengeFloorTests {
  /// Per-example means and spreads like digits' logit-scaled confidences.
  static func shape(_ examples: Int, seed: UInt64) -> (means: [Double], stds: [Double]) {
    var rng = Xoshiro256StarStar(seed: seed)
    return (
      (0..<examples).map { _ in 3 + 2 * rng.nextGaussian() }, (0..<examples).map { _ in 0.5 + rng.nextUnitDouble() }
    )
  }

  @Test func expectedFloor_isReproducible_andMatchesIndependentDraws() throws {
    let (means, stds) = Self.shape(200, seed: 1)
    let a = try ChallengeScore.expectedFloor(means: means, stds: stds, models: 8, replicates: 4, seed: 3, workers: 2)
    let b = try ChallengeScore.expectedFloor(means: means, stds: stds, models: 8, replicates: 4, seed: 3, workers: 1)
    #expect(a == b)
    // F of fresh, independently drawn identically distributed populations (another generator) agrees
    // within Monte Carlo error (points have sd ≤ ½; 800 and 1,600 examples: a few hundredths).
    var rng = Xoshiro256StarStar(seed: 99)
    var total = 0.0
    for _ in 0..<2 {
      let u = (0..<8).flatMap { _ in means.indices.map { means[$0] + stds[$0] * rng.nextGaussian() } }
      let r = (0..<8).flatMap { _ in means.indices.map { means[$0] + stds[$0] * rng.nextGaussian() } }
      total += try ChallengeScore.evaluate(unlearned: u, retrained: r, models: 8, examples: 200).forgettingQuality
    }
    #expect(abs(total / 2 - a) < 0.05, "\(total / 2) vs \(a)")
  }

  @Test func smallN_raisesTheFloor() throws {
    // Four models per side: the floor the issue measured on digits with --models 8 (0.266); 32 per side: lower.
    let (means, stds) = Self.shape(300, seed: 2)
    let f4 = try ChallengeScore.expectedFloor(means: means, stds: stds, models: 4, replicates: 4, seed: 5, workers: 2)
    let f32 = try ChallengeScore.expectedFloor(means: means, stds: stds, models: 32, replicates: 2, seed: 5, workers: 2)
    #expect(abs(f4 - 0.266) < 0.04, "\(f4)")
    #expect(f32 < f4 - 0.04, "\(f32) vs \(f4)")
  }
}

/// ChallengeMetric on synthetic populations (``Synthetic``: confidences are exactly φ).
@Suite struct ChallengeMetricTests {
  static let n = 60

  static func population(_ name: String, models: Int, means: [Double], noise: Double, rng: inout Xoshiro256StarStar)
    -> Population
  {
    Population(
      role: Role(rowName: name), kind: name == "original" ? nil : .approximate,
      models: (0..<models).map { _ in
        Synthetic.model(means.map { $0 + noise * rng.nextGaussian() }, population: means)
      })
  }

  @Test func deterministicModels_areFlagged_andOthersAreNot() throws {
    var rng = Xoshiro256StarStar(seed: 7)
    let means = (0..<Self.n).map { _ in rng.nextGaussian() }
    let retrain = Self.population("retrain", models: 16, means: means, noise: 1, rng: &rng)
    let same = Self.population("influence", models: 1, means: means, noise: 0.3, rng: &rng).subset(
      Array(repeating: 0, count: 16))
    let fresh = Self.population("finetune", models: 16, means: means, noise: 1, rng: &rng)
    let flagged = try ChallengeMetric().evaluate(Synthetic.input(same, retrained: retrain, n: Self.n))
    #expect(flagged["forgetting_quality"]?.mean == 0)
    #expect(flagged["forgetting_quality"]?.flag?.hasPrefix("F not informative: deterministic outputs") == true)
    #expect(flagged["challenge_score"]?.flag != nil)
    let clean = try ChallengeMetric().evaluate(Synthetic.input(fresh, retrained: retrain, n: Self.n))
    let f = try #require(clean["forgetting_quality"])
    #expect(f.flag == nil && f.mean! > 0.05)
    // The interval over forget examples holds the value and has width.
    let i = try #require(f.interval)
    #expect(i[0] <= f.mean! && f.mean! <= i[1] && i[0] < i[1])
    #expect(f.note?.contains("F expected of identically distributed models at 16 models per side") == true)
    // The retrain row reads its floor at half and at its full N.
    let floor = try ChallengeMetric().evaluate(Synthetic.input(retrain, retrained: retrain, n: Self.n))
    #expect(floor["forgetting_quality"]?.note?.contains("at 8 models per side") == true)
    #expect(floor["forgetting_quality"]?.note?.contains("at 16, the evaluated rows' N") == true)
  }

  @Test func originals_areCycled_andNotFlagged() throws {
    var rng = Xoshiro256StarStar(seed: 8)
    let means = (0..<Self.n).map { _ in rng.nextGaussian() }
    let retrain = Self.population("retrain", models: 8, means: means, noise: 1, rng: &rng)
    let originals = Self.population("original", models: 2, means: means.map { $0 + 1 }, noise: 1, rng: &rng)
    let v = try ChallengeMetric().evaluate(Synthetic.input(originals, retrained: retrain, n: Self.n))
    #expect(v["forgetting_quality"]?.note?.hasPrefix("the 2 originals, cycled") == true)
    #expect(v["forgetting_quality"]?.flag == nil)
    // Scored as originals 0, 1, 0, 1, … against the 8 retrained models: the same as that subset by hand.
    let cycled = originals.subset((0..<8).map { $0 % 2 })
    let u = cycled.models.flatMap { m in
      (try? logitScaledConfidences(logits: m.logits(.forget), labels: Array(repeating: 1, count: Self.n))) ?? []
    }
    let r = retrain.models.flatMap { m in
      (try? logitScaledConfidences(logits: m.logits(.forget), labels: Array(repeating: 1, count: Self.n))) ?? []
    }
    let byHand = try ChallengeScore.evaluate(unlearned: u, retrained: r, models: 8, examples: Self.n)
    #expect(v["forgetting_quality"]?.mean == byHand.forgettingQuality)
  }

  @Test func smallN_warns() {
    #expect(ChallengeMetric().warnings(models: 16).count == 1)
    #expect(ChallengeMetric().warnings(models: 32).isEmpty)
  }
}

/// The window rules' sweep (in C, with pointers that move forward, eight left ends that share
/// one rule when no point lies among them, and right ends left early when the bounds say no rule
/// can beat the best so far) against the rules enumerated one by one, with every count taken from
/// scratch. A table of random values makes the largest one a single rule's, so a skipped or
/// miscounted rule shows; a high best to start from makes the bounds stop often.
@Suite struct ChallengeWindowSweepTests {
  static func naive(p: [Double], q: [Double], rights: [Double], width: Double, table: [Float]) -> Float {
    let n = p.count, buffer = ChallengeScore.windowBuffer
    var best: Float = -1
    for right in rights {
      let lefts = ChallengeScore.numpyLinspace(
        (right - width) - buffer, (right - width) + buffer, count: ChallengeScore.leftThresholds)
      for left in lefts {
        let tp = p.filter { $0 >= left && $0 <= right }.count, fp = q.filter { $0 >= left && $0 <= right }.count
        best = max(best, table[tp * (n + 1) + fp])
      }
    }
    return best
  }

  @Test(arguments: [3, 16, 37])
  func sweep_equalsEveryRuleCountedFromScratch(models n: Int) {
    var rng = Xoshiro256StarStar(seed: UInt64(n))
    for trial in 0..<9 {
      // Continuous, on a coarse lattice (ties, and points exactly on left ends), and far apart.
      let draw = { (shift: Double) -> Double in
        switch trial % 3 {
        case 0: return rng.nextGaussian() * 1.5 + shift
        case 1: return (rng.nextGaussian() * 20).rounded() / 100 + shift
        default: return rng.nextGaussian() * 0.3 + 3 * shift
        }
      }
      let p = (0..<n).map { _ in draw(0) }.sorted(), q = (0..<n).map { _ in draw(0.4) }.sorted()
      // Random values, or the real table's shape (rising with tp, falling with fp) with noise.
      let table = (0..<((n + 1) * (n + 1))).map { k in
        trial < 5 ? rng.nextUnitFloat() : Float(k / (n + 1)) - 1.5 * Float(k % (n + 1)) + rng.nextUnitFloat()
      }
      let width = p[n - 1] - p[0], buffer = ChallengeScore.windowBuffer
      let minR = (p[0] + width) - buffer, maxR = p[n - 1] + buffer
      let rights = ChallengeScore.numpyLinspace(
        minR, maxR, count: Int(((maxR - minR) * ChallengeScore.thresholdsPerUnit).rounded(.up)))
      let naive = Self.naive(p: p, q: q, rights: rights, width: width, table: table)
      let bounds = ChallengeScore.RuleTable.bounds(table, models: n), sortedTable = table.sorted()
      // From no rule yet, and from a best so far that lets the bounds stop many right ends early.
      for start in [-1, sortedTable[sortedTable.count / 2], sortedTable[sortedTable.count * 9 / 10]] {
        let swept = unlearn_window_rules(
          n, p + [.infinity], q + [.infinity], rights.count, rights, width, buffer, ChallengeScore.leftThresholds,
          table, bounds, start)
        #expect(swept == max(naive, start), "N = \(n), trial \(trial), from \(start)")
      }
    }
  }
}
