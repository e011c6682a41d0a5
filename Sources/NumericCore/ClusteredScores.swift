import CKernels
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
    var lanes = Walk.Lanes(models: s.models, examples: s.examples)
    // Replicates are drawn in order, eight to a walk; the first `replicates` with both sides are kept.
    while stats[0].count < replicates && attempts < 10 * replicates {
      lanes.removeAll()
      while lanes.count < Walk.Lanes.capacity && attempts < 10 * replicates {
        attempts += 1
        draw(into: &wm, &rng)
        draw(into: &wx, &rng)
        lanes.append(wm: wm, wx: wx)
      }
      for r in walk.statistics(lanes, fprs: fprs) {
        guard stats[0].count < replicates, let r else { continue }
        for (k, v) in r.enumerated() { stats[k].append(v) }
      }
    }
    guard !stats[0].isEmpty,
      let point = walk.statistics(
        wm: [Int32](repeating: 1, count: s.models), wx: [Int32](repeating: 1, count: s.examples), fprs: fprs)
    else {
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

  /// The sorted points of one bootstrap and the walk that turns replicates' unit weights into
  /// their statistics, eight replicates at a time (`unlearn_walk8`, in C, one replicate per lane of
  /// AVX-512 or AVX2 vectors where the CPU has them).
  ///
  /// A point weighs its model's draw count times its example's, so every weight, and every sum of
  /// weights, is an integer, exact in a `Double` whatever the order of summation (below 2⁵³), and
  /// every instruction set gives the same bits. P and N, the member and non-member weight in all,
  /// are summed first, model by model. Then one pass takes the thresholds group by group of equal
  /// scores, from the highest score down, with pos and neg the member and non-member weight above
  /// the threshold:
  ///
  /// - AUC (ties count one half) = Σ_g p_g (N − neg_g − n_g + ½ n_g) / (P N), over the groups' member
  ///   weights p_g and non-member weights n_g, neg_g the non-member weight above group g;
  /// - best balanced accuracy = max over thresholds of ½(pos/P + 1 − neg/N)
  ///   = ½(1 + max(pos·N − neg·P) / (P N)), with no division per threshold;
  /// - TPR at FPR ≤ α: TPR and FPR only grow down the walk, so it is pos/P at the last threshold
  ///   with neg ≤ α·N (a select per threshold).
  ///
  /// No branch depends on which side a point is on or on the weights; the pass branches only at
  /// the end of a group.
  final class Walk {
    /// The points, in `unlearn_walk8`'s layout (its pointers into the arrays below, which the
    /// walk owns and never changes).
    private var points = unlearn_walk_points()
    private let storage: [UnsafeMutableRawPointer]

    /// The points of `s` at the indices `points`.
    init(_ s: ClusteredScores, points indices: [Int]) {
      let scores = indices.map { s.scores[$0] }
      let order: [Int]
      if let sorted = RadixSort.descendingOrder(scores) {
        order = sorted.map { indices[$0] }
      } else {
        var keyed = indices.map { (score: s.scores[$0], index: $0) }
        keyed.sort { $0.score > $1.score }
        order = keyed.map(\.index)
      }
      // Runs: members first, then non-members, each model by model (a counting sort by that key).
      let models = s.models
      func key(_ i: Int) -> Int { (s.member[i] ? 0 : models) + s.model[i] }
      var runStarts = [Int](repeating: 0, count: 2 * models + 1)
      for i in indices { runStarts[key(i) + 1] += 1 }
      for k in 0..<(2 * models) { runStarts[k + 1] += runStarts[k] }
      var runExamples = [Int32](repeating: 0, count: indices.count), next = runStarts
      for i in indices {
        runExamples[next[key(i)]] = Int32(s.example[i])
        next[key(i)] += 1
      }
      var runModel = [Int32](), runMember = [UInt8](), runStart: [Int64] = [0]
      for k in 0..<(2 * models) where runStarts[k + 1] > runStarts[k] {
        runModel.append(Int32(k % models))
        runMember.append(k < models ? 1 : 0)
        runStart.append(Int64(runStarts[k + 1]))
      }
      var storage = [UnsafeMutableRawPointer]()
      func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(values.count, 1))
        p.initialize(from: values, count: values.count)
        storage.append(UnsafeMutableRawPointer(p))
        return p
      }
      points.count = order.count
      points.model = UnsafePointer(copy(order.map { Int32(s.model[$0]) }))
      points.example = UnsafePointer(copy(order.map { Int32(s.example[$0]) }))
      points.member = UnsafePointer(copy(order.map { s.member[$0] ? 1.0 : 0 }))
      points.groupEnd = UnsafePointer(
        copy(
          order.indices.map { k -> UInt8 in
            k + 1 == order.count || s.scores[order[k + 1]] != s.scores[order[k]] ? 1 : 0
          }))
      points.runs = runModel.count
      points.runModel = UnsafePointer(copy(runModel))
      points.runMember = UnsafePointer(copy(runMember))
      points.runStart = UnsafePointer(copy(runStart))
      points.runExamples = UnsafePointer(copy(runExamples))
      self.storage = storage
    }

    deinit {
      for p in storage { p.deallocate() }
    }

    /// The unit weights of up to eight replicates, in `unlearn_walk8`'s layout: unit u's weight in
    /// replicate (lane) l at 8u + l.
    struct Lanes {
      static let capacity = Int(UNLEARN_LANES)
      var wm: [Double]
      var wx: [Double]
      private(set) var count = 0

      init(models: Int, examples: Int) {
        wm = [Double](repeating: 0, count: Self.capacity * models)
        wx = [Double](repeating: 0, count: Self.capacity * examples)
      }

      /// Adds a replicate with the draw counts `wm` (models) and `wx` (examples).
      mutating func append(wm models: [Int32], wx examples: [Int32]) {
        precondition(count < Self.capacity)
        for (u, w) in models.enumerated() { wm[Self.capacity * u + count] = Double(w) }
        for (u, w) in examples.enumerated() { wx[Self.capacity * u + count] = Double(w) }
        count += 1
      }

      mutating func removeAll() { count = 0 }
    }

    /// AUC, best balanced accuracy and the TPR at each FPR level of `fprs` under each replicate's
    /// weights, in order; nil for a replicate in which a side has no weight. `portable`: without
    /// vector extensions (the same bits; for tests).
    func statistics(_ lanes: Lanes, fprs: [Double], portable: Bool = false) -> [[Double]?] {
      let width = Lanes.capacity
      var out = [Double](repeating: 0, count: width * (4 + fprs.count))
      withUnsafePointer(to: points) { p in
        if portable {
          unlearn_walk8_portable(p, lanes.wm, lanes.wx, fprs.count, fprs, &out)
        } else {
          unlearn_walk8(p, lanes.wm, lanes.wx, fprs.count, fprs, &out)
        }
      }
      return (0..<lanes.count).map { l in
        let totalPos = out[l], totalNeg = out[width + l]
        guard totalPos > 0, totalNeg > 0 else { return nil }
        return [out[2 * width + l] / (totalPos * totalNeg), 0.5 * (1 + out[3 * width + l] / (totalPos * totalNeg))]
          + fprs.indices.map { out[(4 + $0) * width + l] / totalPos }
      }
    }

    /// The statistics of one replicate with the draw counts `wm` (models) and `wx` (examples).
    func statistics(wm: [Int32], wx: [Int32], fprs: [Double], portable: Bool = false) -> [Double]? {
      var lanes = Lanes(models: wm.count, examples: wx.count)
      lanes.append(wm: wm, wx: wx)
      return statistics(lanes, fprs: fprs, portable: portable)[0]
    }
  }
}
