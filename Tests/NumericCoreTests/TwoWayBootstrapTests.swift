import Foundation
import Testing

@testable import NumericCore

/// The bootstrap's walk against brute force: a replicate weighs each (model, example) pair by
/// its model's draw count times its example's, so its ROC is the ROC of the data with every
/// pair repeated that many times. The oracle repeats the pairs and compares every member with
/// every non-member, and tries every threshold.
@Suite struct TwoWayBootstrapTests {
  /// AUC, best balanced accuracy and TPR at each FPR level of weighted scores, by definition.
  static func bruteForce(_ s: ClusteredScores, wm: [Int32], wx: [Int32], fprs: [Double]) -> [Double] {
    let w = s.scores.indices.map { Double(wm[s.model[$0]]) * Double(wx[s.example[$0]]) }
    let members = s.scores.indices.filter { s.member[$0] }, others = s.scores.indices.filter { !s.member[$0] }
    let p = members.reduce(0) { $0 + w[$1] }, n = others.reduce(0) { $0 + w[$1] }
    var wins = 0.0
    for i in members {
      for j in others {
        let beat = s.scores[i] > s.scores[j] ? 1 : s.scores[i] == s.scores[j] ? 0.5 : 0
        wins += w[i] * w[j] * beat
      }
    }
    // Predict "member" at score ≥ t, for t at every score and above them all.
    var balanced = 0.0
    var tpr = [Double](repeating: 0, count: fprs.count)
    for t in s.scores + [.infinity] {
      let tp = members.filter { s.scores[$0] >= t }.reduce(0) { $0 + w[$1] } / p
      let fp = others.filter { s.scores[$0] >= t }.reduce(0) { $0 + w[$1] } / n
      balanced = max(balanced, 0.5 * (tp + 1 - fp))
      for (k, alpha) in fprs.enumerated() where fp <= alpha { tpr[k] = max(tpr[k], tp) }
    }
    return [wins / (p * n), balanced] + tpr
  }

  @Test func walk_equalsBruteForce_onTiedScoresAndZeroWeights() throws {
    var rng = Xoshiro256StarStar(seed: 5)
    let fprs = [0.2, 0.05, 0.5]  // not in order: the walk sorts them
    for trial in 0..<200 {
      var s = ClusteredScores()
      let models = 2 + trial % 5, examples = 3 + trial % 11
      let grid = trial % 3 == 0 ? 3 : 1000  // heavy ties on every third trial
      for i in 0..<models {
        for x in 0..<examples where rng.nextIndex(below: 5) > 0 {
          let member = (i + x) % 2 == 0
          s.append(Double(rng.nextIndex(below: grid) + (member ? 1 : 0)), member: member, model: i, example: x)
        }
      }
      guard s.hasBothSides else { continue }
      let walk = TwoWayBootstrap.Walk(s, points: Array(s.scores.indices))
      // Five replicates, drawn with counts of 0 to 3 as a replicate's: one walk with three lanes unused.
      let draws = (0..<5).map { _ in
        (
          wm: (0..<models).map { _ in Int32(rng.nextIndex(below: 4)) },
          wx: (0..<examples).map { _ in Int32(rng.nextIndex(below: 4)) }
        )
      }
      var lanes = TwoWayBootstrap.Walk.Lanes(models: models, examples: examples)
      for (wm, wx) in draws { lanes.append(wm: wm, wx: wx) }
      let all = walk.statistics(lanes, fprs: fprs)
      #expect(all.count == draws.count)
      // The vector build and the portable one agree bit for bit (exact integer arithmetic).
      #expect(walk.statistics(lanes, fprs: fprs, portable: true).map { $0 ?? [] } == all.map { $0 ?? [] })
      for ((wm, wx), got) in zip(draws, all) {
        let weighted = s.scores.indices.map { Int(wm[s.model[$0]] * wx[s.example[$0]]) }
        let hasBoth =
          s.scores.indices.contains { s.member[$0] && weighted[$0] > 0 }
          && s.scores.indices.contains { !s.member[$0] && weighted[$0] > 0 }
        guard hasBoth else {
          #expect(got == nil)
          continue
        }
        let want = Self.bruteForce(s, wm: wm, wx: wx, fprs: fprs)
        let have = try #require(got)
        for (a, b) in zip(have, want) { #expect(abs(a - b) < 1e-12, "trial \(trial): \(have) vs \(want)") }
      }
    }
  }

  /// With every weight 1 the walk is the pooled ROC's point estimate.
  @Test func walk_withUnitWeights_isThePooledROC() throws {
    var rng = Xoshiro256StarStar(seed: 9)
    var s = ClusteredScores()
    for i in 0..<6 {
      for x in 0..<40 { s.append(rng.nextGaussian() + (i < 3 ? 0.5 : 0), member: i < 3, model: i, example: x) }
    }
    let ci = try #require(TwoWayBootstrap.intervals(s, fprs: [0.01], replicates: 20, seed: 1))
    let roc = s.roc
    #expect(ci.auc.contains(roc.auc))
    let walk = TwoWayBootstrap.Walk(s, points: Array(s.scores.indices))
    let point = try #require(
      walk.statistics(wm: [Int32](repeating: 1, count: 6), wx: [Int32](repeating: 1, count: 40), fprs: [0.01]))
    #expect(abs(point[0] - roc.auc) < 1e-12)
    #expect(abs(point[1] - roc.bestBalancedAccuracy) < 1e-12)
    #expect(abs(point[2] - roc.tpr(atFPR: 0.01).tpr) < 1e-12)
  }
}
