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
    // Points from the highest score down, in groups of equal scores; per sorted position its model,
    // example, side and whether it ends a group, contiguous (the replicates' hot loop).
    let order = points.sorted { s.scores[$0] > s.scores[$1] }
    let walk = Walk(
      model: order.map { Int32(s.model[$0]) }, example: order.map { Int32(s.example[$0]) },
      member: order.map { s.member[$0] ? 1 : 0 },
      groupEnd: order.indices.map { $0 + 1 == order.count || s.scores[order[$0 + 1]] != s.scores[order[$0]] })
    var rng = Xoshiro256StarStar(seed: seed)
    var stats = [[Double]](repeating: [], count: 2 + fprs.count)
    var attempts = 0
    var wm = [Int32](repeating: 0, count: s.models), wx = [Int32](repeating: 0, count: s.examples)
    var buffer = Walk.Buffer(groups: walk.groups, fprs: fprs.count)
    while stats[0].count < replicates && attempts < 10 * replicates {
      attempts += 1
      draw(into: &wm, &rng)
      draw(into: &wx, &rng)
      guard let r = walk.statistics(wm: wm, wx: wx, fprs: fprs, buffer: &buffer) else { continue }
      for (k, v) in r.enumerated() { stats[k].append(v) }
    }
    wm = [Int32](repeating: 1, count: s.models)
    wx = [Int32](repeating: 1, count: s.examples)
    guard !stats[0].isEmpty, let point = walk.statistics(wm: wm, wx: wx, fprs: fprs, buffer: &buffer) else {
      return nil
    }
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

  /// How many times each of the `counts.count` units is drawn in as many draws with replacement.
  static func draw(into counts: inout [Int32], _ rng: inout Xoshiro256StarStar) {
    let n = counts.count
    for k in 0..<n { counts[k] = 0 }
    for _ in 0..<n { counts[rng.nextIndex(below: n)] += 1 }
  }

  /// The sorted points of one bootstrap and the walk that turns a replicate's unit weights into
  /// its statistics.
  ///
  /// A point weighs its model's draw count times its example's, so every weight, and every sum of
  /// weights, is an integer well below 2^53 and exact in a `Double` whatever the order of summation.
  /// The walk takes the thresholds group by group of equal scores, from the highest score down,
  /// with P and N the member and non-member weight in all:
  ///
  /// - AUC (ties count one half) = Σ_g p_g (N − n_≤g + ½ n_g) / (P N), over the groups' member
  ///   weights p_g and non-member weights n_g, with n_≤g the non-member weight down to group g;
  /// - best balanced accuracy = max over thresholds of ½(TPR + 1 − FPR), found as the threshold
  ///   that maximises pos·N − neg·P (the member and non-member weight above it), without a
  ///   division per threshold;
  /// - TPR at FPR ≤ α: TPR and FPR only grow down the walk, so it is the TPR of the last threshold
  ///   with neg ≤ α·N.
  ///
  /// The walk has no data-dependent branch, so its cost does not depend on how members and
  /// non-members interleave.
  struct Walk {
    var model: [Int32]
    var example: [Int32]
    var member: [Double]
    var groupEnd: [Bool]

    var groups: Int { groupEnd.lazy.filter { $0 }.count }

    /// The member and non-member weight of every group, and the member weight at each level's
    /// threshold (reused across replicates).
    struct Buffer {
      var pos: [Double]
      var neg: [Double]
      var tpr: [Double]
      init(groups: Int, fprs: Int) {
        pos = [Double](repeating: 0, count: groups)
        neg = pos
        tpr = [Double](repeating: 0, count: fprs)
      }
    }

    /// AUC, best balanced accuracy and the TPR at each FPR level under the unit weights `wm`
    /// (models) and `wx` (examples); nil when a side has no weight.
    func statistics(wm: [Int32], wx: [Int32], fprs: [Double], buffer: inout Buffer) -> [Double]? {
      var totalPos = 0.0, totalNeg = 0.0
      var groups = 0
      model.withUnsafeBufferPointer { m in
        example.withUnsafeBufferPointer { x in
          member.withUnsafeBufferPointer { member in
            groupEnd.withUnsafeBufferPointer { end in
              wm.withUnsafeBufferPointer { wm in
                wx.withUnsafeBufferPointer { wx in
                  buffer.pos.withUnsafeMutableBufferPointer { pos in
                    buffer.neg.withUnsafeMutableBufferPointer { neg in
                      var gp = 0.0, gn = 0.0, g = 0
                      for k in 0..<m.count {
                        let w = Double(Int(wm[Int(m[k])]) &* Int(wx[Int(x[k])]))
                        let p = w * member[k]
                        gp += p
                        gn += w - p
                        if end[k] {
                          pos[g] = gp
                          neg[g] = gn
                          totalPos += gp
                          totalNeg += gn
                          g += 1
                          gp = 0
                          gn = 0
                        }
                      }
                      groups = g
                    }
                  }
                }
              }
            }
          }
        }
      }
      guard totalPos > 0, totalNeg > 0 else { return nil }
      var pos = 0.0, neg = 0.0, aucAbove = 0.0
      var best = 0.0, bestPos = 0.0, bestNeg = 0.0
      for k in buffer.tpr.indices { buffer.tpr[k] = 0 }
      let limits = fprs.map { $0 * totalNeg }
      buffer.pos.withUnsafeBufferPointer { gpAt in
        buffer.neg.withUnsafeBufferPointer { gnAt in
          buffer.tpr.withUnsafeMutableBufferPointer { tprPos in
            for g in 0..<groups {
              let gp = gpAt[g], gn = gnAt[g]
              aucAbove += gp * (totalNeg - neg - gn) + 0.5 * gp * gn
              pos += gp
              neg += gn
              let d = pos * totalNeg - neg * totalPos
              let better = d > best
              best = better ? d : best
              bestPos = better ? pos : bestPos
              bestNeg = better ? neg : bestNeg
              for k in 0..<limits.count where neg <= limits[k] { tprPos[k] = pos }
            }
          }
        }
      }
      let bestBalanced = best > 0 ? 0.5 * (bestPos / totalPos + 1 - bestNeg / totalNeg) : 0.5
      for k in buffer.tpr.indices { buffer.tpr[k] /= totalPos }
      return [aucAbove / (totalPos * totalNeg), bestBalanced] + buffer.tpr
    }
  }
}
