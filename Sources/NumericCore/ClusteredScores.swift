import Foundation

/// Membership scores together with the units they come from: every score is one (model,
/// example) pair, and neither the models nor the examples are independent draws of the
/// pairs. A per-example attack pools N models × n examples into one ROC, but the score of
/// a pair is mostly determined by its example, so the pairs are far from N·n independent
/// samples: an interval must resample the units, not the pairs.
public struct ClusteredScores: Sendable, Equatable {
  public private(set) var scores: [Double] = []
  public private(set) var member: [Bool] = []
  public private(set) var model: [Int] = []
  public private(set) var example: [Int] = []

  public init() {}

  /// Adds the score of `example` under `model` (unit ids from 0; shared ids are shared units).
  public mutating func append(_ score: Double, member: Bool, model: Int, example: Int) {
    scores.append(score)
    self.member.append(member)
    self.model.append(model)
    self.example.append(example)
  }

  /// Model units (the largest id + 1).
  public var models: Int { (model.max() ?? -1) + 1 }
  /// Example units (the largest id + 1).
  public var examples: Int { (example.max() ?? -1) + 1 }

  /// The pooled ROC of every pair (the point estimate).
  public var roc: ROC {
    ROC(
      positives: scores.indices.filter { member[$0] }.map { scores[$0] },
      negatives: scores.indices.filter { !member[$0] }.map { scores[$0] })
  }

  public var hasBothSides: Bool { member.contains(true) && member.contains(false) }

  /// Distinct examples among the non-members: how finely a false-positive rate can be resolved.
  public var distinctNegativeExamples: Int { Set(scores.indices.filter { !member[$0] }.map { example[$0] }).count }
}

/// Percentile intervals of a ROC's summary statistics from a two-way bootstrap.
public struct ROCIntervals: Sendable, Equatable {
  public var auc: ClosedRange<Double>
  public var bestBalancedAccuracy: ClosedRange<Double>
  /// For each requested FPR level, the interval of the TPR at FPR ≤ level.
  public var tprAtFPR: [ClosedRange<Double>]
  public var replicates: Int
  /// The mean of the replicates of AUC, best balanced accuracy and each TPR, in that order.
  public var replicateMeans: [Double]
}

/// The two-way ("pigeonhole") bootstrap of Owen (Annals of Applied Statistics, 2007) and
/// McCullagh (Bernoulli, 2000): each replicate draws the models with replacement and,
/// independently, the examples with replacement, and weighs every (model, example) pair by
/// the product of how often its model and its example were drawn. It keeps the dependence
/// among pairs that share a model or an example, which a bootstrap (or a binomial
/// interval) over pooled pairs ignores; it is mildly conservative.
///
/// The percentile intervals of AUC and balanced accuracy are centred on the point estimate:
/// shifted by the point minus the mean of the replicates. When members and non-members share examples (a forget
/// example under unlearned and under retrained models), a replicate that draws an example
/// twice compares it with itself more often than the data do, and those comparisons are
/// far more separable than comparisons across examples; on scores 97 % determined by the
/// example this lifts the replicates' AUC by about 1/n. Centring removes that artefact of
/// resampling (in the coverage study of docs/STATISTICS.md it raises the coverage of the
/// 95 % interval from 0.89 to 0.94 on such scores). They are clipped to [0, 1]. A TPR at a
/// low FPR has a discrete, skewed bootstrap distribution whose mean can lie outside its own
/// percentile interval, so its interval is the plain percentile one.
public enum TwoWayBootstrap {
  /// 95 % percentile intervals (2.5 %, 97.5 %) of AUC and best balanced accuracy (centred on
  /// the point estimate) and of the TPR at each FPR level, from `replicates` replicates seeded
  /// by `seed`. Non-finite scores are left out; a replicate that draws no member or no
  /// non-member is redrawn.
  public static func intervals(_ s: ClusteredScores, fprs: [Double], replicates: Int = 400, seed: UInt64)
    -> ROCIntervals?
  {
    let points = s.scores.indices.filter { s.scores[$0].isFinite }
    guard replicates > 0, points.contains(where: { s.member[$0] }), points.contains(where: { !s.member[$0] }) else {
      return nil
    }
    // Points from the highest score down, in groups of equal scores.
    let order = points.sorted { s.scores[$0] > s.scores[$1] }
    var groupEnds = [Int]()
    for k in order.indices where k + 1 == order.count || s.scores[order[k + 1]] != s.scores[order[k]] {
      groupEnds.append(k + 1)
    }
    // Per sorted position: its model, example and side, contiguous (the replicates' hot loop).
    let modelAt = order.map { s.model[$0] }, exampleAt = order.map { s.example[$0] }
    let memberAt = order.map { s.member[$0] }
    var rng = Xoshiro256StarStar(seed: seed)
    var stats = [[Double]](repeating: [], count: 2 + fprs.count)
    var attempts = 0
    var groupPos = [Double](repeating: 0, count: groupEnds.count), groupNeg = groupPos
    while stats[0].count < replicates && attempts < 10 * replicates {
      attempts += 1
      let wm = draws(s.models, &rng), wx = draws(s.examples, &rng)
      let totals = groupSums(
        modelAt: modelAt, exampleAt: exampleAt, memberAt: memberAt, groupEnds: groupEnds, wm: wm, wx: wx,
        pos: &groupPos, neg: &groupNeg)
      guard let r = statistics(groupPos: groupPos, groupNeg: groupNeg, totals: totals, fprs: fprs) else { continue }
      for (k, v) in r.enumerated() { stats[k].append(v) }
    }
    let ones = [Int](repeating: 1, count: Swift.max(s.models, s.examples))
    let totals = groupSums(
      modelAt: modelAt, exampleAt: exampleAt, memberAt: memberAt, groupEnds: groupEnds, wm: ones, wx: ones,
      pos: &groupPos, neg: &groupNeg)
    guard !stats[0].isEmpty, let point = statistics(groupPos: groupPos, groupNeg: groupNeg, totals: totals, fprs: fprs)
    else { return nil }
    let means = stats.map { $0.reduce(0, +) / Double($0.count) }
    let q = stats.indices.map { k -> ClosedRange<Double> in
      let p = Summary.interval95(stats[k])!
      guard k < 2 else { return p }
      // AUC and balanced accuracy: centred, and clipped to their range [0, 1].
      let shift = point[k] - means[k]
      let lower = Swift.min(Swift.max(0, p.lowerBound + shift), 1),
        upper = Swift.max(Swift.min(1, p.upperBound + shift), 0)
      return Swift.min(lower, upper)...Swift.max(lower, upper)
    }
    return ROCIntervals(
      auc: q[0], bestBalancedAccuracy: q[1], tprAtFPR: Array(q[2...]), replicates: stats[0].count,
      replicateMeans: means)
  }

  /// How many times each of `n` units is drawn in `n` draws with replacement.
  static func draws(_ n: Int, _ rng: inout Xoshiro256StarStar) -> [Int] {
    var c = [Int](repeating: 0, count: n)
    for _ in 0..<n { c[rng.nextIndex(below: n)] += 1 }
    return c
  }

  /// One pass over the points (from the highest score down), each weighted by its model's and
  /// example's draw counts: the member and non-member weight of every group of equal scores, and
  /// the totals (summed point by point, in order).
  static func groupSums(
    modelAt: [Int], exampleAt: [Int], memberAt: [Bool], groupEnds: [Int], wm: [Int], wx: [Int],
    pos: inout [Double], neg: inout [Double]
  ) -> (pos: Double, neg: Double) {
    var totalPos = 0.0, totalNeg = 0.0
    modelAt.withUnsafeBufferPointer { m in
      exampleAt.withUnsafeBufferPointer { x in
        memberAt.withUnsafeBufferPointer { member in
          wm.withUnsafeBufferPointer { wm in
            wx.withUnsafeBufferPointer { wx in
              var start = 0
              for (g, end) in groupEnds.enumerated() {
                var gp = 0.0, gn = 0.0
                for k in start..<end {
                  let w = Double(wm[m[k]] * wx[x[k]])
                  if member[k] {
                    totalPos += w
                    gp += w
                  } else {
                    totalNeg += w
                    gn += w
                  }
                }
                pos[g] = gp
                neg[g] = gn
                start = end
              }
            }
          }
        }
      }
    }
    return (totalPos, totalNeg)
  }

  /// AUC (ties count one half), best balanced accuracy and TPR at each FPR level from the groups'
  /// member and non-member weights (highest score first), walking the thresholds group by group;
  /// nil when a side has no weight.
  static func statistics(groupPos: [Double], groupNeg: [Double], totals: (pos: Double, neg: Double), fprs: [Double])
    -> [Double]?
  {
    let (totalPos, totalNeg) = totals
    guard totalPos > 0, totalNeg > 0 else { return nil }
    var pos = 0.0, neg = 0.0, aucAbove = 0.0, bestBalanced = 0.5
    var tpr = [Double](repeating: 0, count: fprs.count)
    for (gp, gn) in zip(groupPos, groupNeg) {
      // Positives of this group beat the negatives below it (not yet counted) and tie with gn.
      aucAbove += gp * (totalNeg - neg - gn) + 0.5 * gp * gn
      pos += gp
      neg += gn
      let (t, f) = (pos / totalPos, neg / totalNeg)
      bestBalanced = Swift.max(bestBalanced, 0.5 * (t + 1 - f))
      for (k, alpha) in fprs.enumerated() where f <= alpha && t > tpr[k] { tpr[k] = t }
    }
    return [aucAbove / (totalPos * totalNeg), bestBalanced] + tpr
  }

}
