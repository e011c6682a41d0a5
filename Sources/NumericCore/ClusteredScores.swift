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
    let walk = Walk(s, points: points)
    var rng = Xoshiro256StarStar(seed: seed)
    var stats = [[Double]](repeating: [], count: 2 + fprs.count)
    var attempts = 0
    var wm = [Int32](repeating: 0, count: s.models), wx = [Int32](repeating: 0, count: s.examples)
    var buffer = Walk.Buffer(fprs: fprs)
    while stats[0].count < replicates && attempts < 10 * replicates {
      attempts += 1
      draw(into: &wm, &rng)
      draw(into: &wx, &rng)
      guard let r = walk.statistics(wm: wm, wx: wx, buffer: &buffer) else { continue }
      for (k, v) in r.enumerated() { stats[k].append(v) }
    }
    wm = [Int32](repeating: 1, count: s.models)
    wx = [Int32](repeating: 1, count: s.examples)
    guard !stats[0].isEmpty, let point = walk.statistics(wm: wm, wx: wx, buffer: &buffer) else {
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
  /// weights, is an integer, exact in a `Double` whatever the order of summation (below 2⁵³). P and
  /// N, the member and non-member weight in all, are summed first, model by model (a model drawn
  /// zero times is skipped). Then one pass takes the thresholds group by group of equal scores,
  /// from the highest score down, with pos and neg the member and non-member weight above the
  /// threshold:
  ///
  /// - AUC (ties count one half) = Σ_g p_g (N − neg_g − n_g + ½ n_g) / (P N), over the groups' member
  ///   weights p_g and non-member weights n_g, neg_g the non-member weight above group g;
  /// - best balanced accuracy = max over thresholds of ½(pos/P + 1 − neg/N)
  ///   = ½(1 + max(pos·N − neg·P) / (P N)), with no division per threshold;
  /// - TPR at FPR ≤ α: TPR and FPR only grow down the walk, so it is pos/P at the last threshold
  ///   with neg ≤ α·N, recorded when neg first exceeds α·N.
  ///
  /// No branch depends on which side a point is on; the pass branches only at the end of a group,
  /// at a new best threshold and when neg passes a level.
  struct Walk {
    /// Per point, from the highest score down: its model, example, side (1 member, 0 not) and
    /// whether it is the last of its group of equal scores.
    var model: [Int32] = []
    var example: [Int32] = []
    var member: [Double] = []
    var groupEnd: [Bool] = []
    /// The same points by side and model: run r is model `runModel[r]`'s examples
    /// `runExamples[runStart[r]..<runStart[r + 1]]`, on the side `runMember[r]`.
    var runModel: [Int32] = []
    var runMember: [Bool] = []
    var runStart: [Int] = [0]
    var runExamples: [Int32] = []

    /// The points of `s` at the indices `points`.
    init(_ s: ClusteredScores, points: [Int]) {
      let order = points.sorted { s.scores[$0] > s.scores[$1] }
      model = order.map { Int32(s.model[$0]) }
      example = order.map { Int32(s.example[$0]) }
      member = order.map { s.member[$0] ? 1 : 0 }
      groupEnd = order.indices.map { $0 + 1 == order.count || s.scores[order[$0 + 1]] != s.scores[order[$0]] }
      let bySide = points.sorted { (s.member[$0] ? 0 : 1, s.model[$0]) < (s.member[$1] ? 0 : 1, s.model[$1]) }
      for (k, i) in bySide.enumerated() {
        if k == 0 || s.model[i] != s.model[bySide[k - 1]] || s.member[i] != s.member[bySide[k - 1]] {
          if k > 0 { runStart.append(runExamples.count) }
          runModel.append(Int32(s.model[i]))
          runMember.append(s.member[i])
        }
        runExamples.append(Int32(s.example[i]))
      }
      runStart.append(runExamples.count)
    }

    /// The FPR levels, ascending (`levels`: their positions in the caller's order), their limits
    /// α·N, and per level the member weight at its last threshold (reused across replicates).
    struct Buffer {
      var levels: [Int]
      var alphas: [Double]
      var limits: [Double]
      var tprPos: [Double]
      init(fprs: [Double]) {
        levels = fprs.indices.sorted { fprs[$0] < fprs[$1] }
        alphas = levels.map { fprs[$0] }
        limits = alphas
        tprPos = alphas
      }
    }

    /// P and N: the member and non-member weight in all.
    func totals(wm: UnsafeBufferPointer<Int32>, wx: UnsafeBufferPointer<Int32>) -> (pos: Double, neg: Double) {
      var pos = 0, neg = 0
      runExamples.withUnsafeBufferPointer { xs in
        for r in runModel.indices {
          let w = Int(wm[Int(runModel[r])])
          if w == 0 { continue }
          var sum = 0
          for k in runStart[r]..<runStart[r + 1] { sum &+= Int(wx[Int(xs[k])]) }
          if runMember[r] { pos &+= w &* sum } else { neg &+= w &* sum }
        }
      }
      return (Double(pos), Double(neg))
    }

    /// AUC, best balanced accuracy and the TPR at each FPR level (in the order `buffer` was made
    /// with) under the unit weights `wm` (models) and `wx` (examples); nil when a side has no weight.
    func statistics(wm: [Int32], wx: [Int32], buffer: inout Buffer) -> [Double]? {
      let (totalPos, totalNeg) = wm.withUnsafeBufferPointer { wm in
        wx.withUnsafeBufferPointer { wx in totals(wm: wm, wx: wx) }
      }
      guard totalPos > 0, totalNeg > 0 else { return nil }
      for k in buffer.limits.indices { buffer.limits[k] = buffer.alphas[k] * totalNeg }
      var pos = 0.0, neg = 0.0, aucAbove = 0.0, best = 0.0
      var level = 0
      let levels = buffer.limits.count
      let nextLimit = { (level: Int, limits: UnsafeBufferPointer<Double>) in
        level < levels ? limits[level] : Double.infinity
      }
      model.withUnsafeBufferPointer { m in
        example.withUnsafeBufferPointer { x in
          member.withUnsafeBufferPointer { member in
            groupEnd.withUnsafeBufferPointer { end in
              wm.withUnsafeBufferPointer { wm in
                wx.withUnsafeBufferPointer { wx in
                  buffer.limits.withUnsafeBufferPointer { limits in
                    buffer.tprPos.withUnsafeMutableBufferPointer { tprPos in
                      var gp = 0.0, gn = 0.0
                      var limit = nextLimit(0, limits)
                      for k in 0..<m.count {
                        let w = Double(Int(wm[Int(m[k])]) &* Int(wx[Int(x[k])]))
                        let p = w * member[k]
                        gp += p
                        gn += w - p
                        guard end[k] else { continue }
                        aucAbove += gp * (totalNeg - neg - gn) + 0.5 * gp * gn
                        let above = pos
                        pos += gp
                        neg += gn
                        let d = pos * totalNeg - neg * totalPos
                        if d > best { best = d }
                        while neg > limit {
                          tprPos[level] = above
                          level += 1
                          limit = nextLimit(level, limits)
                        }
                        gp = 0
                        gn = 0
                      }
                      for k in level..<levels { tprPos[k] = pos }
                    }
                  }
                }
              }
            }
          }
        }
      }
      var tpr = [Double](repeating: 0, count: levels)
      for (k, input) in buffer.levels.enumerated() { tpr[input] = buffer.tprPos[k] / totalPos }
      return [aucAbove / (totalPos * totalNeg), 0.5 * (1 + best / (totalPos * totalNeg))] + tpr
    }
  }
}
