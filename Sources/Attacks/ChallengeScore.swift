import CKernels
import Foundation
import Harness
import NumericCore

/// The NeurIPS 2023 Machine Unlearning Challenge's forgetting quality and
/// final score, implemented exactly as the organisers' released scorer
/// (google-deepmind/unlearning_evaluation `metric.py`, commit ffae0ff), including
/// its float32/float64 conventions.
///
/// For each forget example s, the N logit-scaled confidences under the
/// unlearned models (u) and under the retrained models (r) are two samples.
/// Following Kairouz et al. (ICML 2015), every decision rule that tells the
/// samples apart gives a lower bound on the privacy-style ε of the unlearning:
/// ```
/// ε̂ = max{ log((1 − δ − FPR)/FNR), log((1 − δ − FNR)/FPR) },   δ = 1e-5
/// ```
/// taken over ~160 000 "window" rules (predict the narrower sample inside
/// [L, R]) and ~100·range single-threshold rules (predict the sample with the
/// larger median above t), clipped to [0, 50]. Each example then earns
/// H(s) = 2^(−k) points for ε_s in the k-th bin [0.5k, 0.5k + 0.5), with
/// 2·⌈ln(N − 1)⌉ bins, and
/// ```
/// F = (1/|S|) Σ_s H(s),    score = F × (RA_U / RA_R) × (TA_U / TA_R).
/// ```
///
/// Conventions: confidences and both grids' thresholds are
/// compared in float64; the window grids are NumPy `linspace` in float64; the
/// single-threshold grid is float32, built as PyTorch's CUDA `linspace` kernel
/// does; rates are float32 `count / N`; each rule's ε is float32 arithmetic with
/// the float32 `1 − δ`, and its logarithms are the correctly rounded float32
/// ones. (NumPy's float32 `log` is not correctly rounded and depends on the
/// CPU's SIMD dispatch: on this machine it differs in the last bit for about a
/// fifth of its inputs, so the reference scorer itself is not bit-stable across
/// machines; the correctly rounded value is the machine-independent choice.)
/// Rates depend only on the two counts, so the ε of every
/// count pair is computed once per N (``RuleTable``) and the rules are swept
/// with pointers over the sorted samples.
///
/// Where the reference scorer has no defined answer (no rule survives its
/// discard conditions, so its `assert` fails; e.g. both samples are the same
/// constant), ε_s is 0 and the example is listed in
/// ``Result/degenerateExamples``.
public enum ChallengeScore {
  public static let delta = 1e-5
  public static let epsilonCap = 50.0
  public static let thresholdsPerUnit = 100.0
  public static let windowBuffer = 2.0
  public static let peakyRatio = 0.01
  public static let binWidth = 0.5
  /// Left thresholds per right threshold: ⌈2 · buffer · 100⌉.
  public static let leftThresholds = 400

  /// The outcome of scoring one population of unlearned models against the retrained ones.
  public struct Result: Sendable, Equatable, Codable {
    public var numModels: Int
    /// ε_s per forget example, in input order.
    public var epsilons: [Double]
    /// H(s) per forget example.
    public var points: [Double]
    /// F, the mean of the points.
    public var forgettingQuality: Double
    /// Examples for which no rule survived (ε set to 0; the reference scorer fails there).
    public var degenerateExamples: [Int]
    /// Examples where the range guard fired (one side's range under 1 % of the other's), so ε
    /// was set to the cap without trying a rule: the sign of (nearly) identical models on one side.
    public var guardedExamples: [Int]

    enum CodingKeys: String, CodingKey {
      case numModels = "num_models"
      case epsilons, points
      case forgettingQuality = "forgetting_quality"
      case degenerateExamples = "degenerate_examples"
      case guardedExamples = "guarded_examples"
    }
  }

  /// Scores `[models × examples]` matrices of logit-scaled confidences.
  ///
  /// - Parameters:
  ///   - unlearned: U[i][s], model i, forget example s (row-major `[N × S]`).
  ///   - retrained: R, same shape.
  ///   - workers: examples are scored in parallel on this many threads.
  ///   - table: the rule table for `n` models, when the caller scores several pairs at one N.
  public static func evaluate(
    unlearned: [Double], retrained: [Double], models n: Int, examples: Int, workers: Int = 1, table: RuleTable? = nil
  ) throws -> Result {
    guard n >= 2 else {
      throw AttackError.invalidInput("the challenge score needs at least 2 models per side, got \(n)")
    }
    guard unlearned.count == n * examples, retrained.count == n * examples else {
      throw AttackError.invalidInput(
        "expected \(n) × \(examples) confidences per side, got \(unlearned.count) and \(retrained.count)")
    }
    for (name, m) in [("unlearned", unlearned), ("retrained", retrained)] {
      if let bad = m.firstIndex(where: { !$0.isFinite }) {
        throw AttackError.invalidInput(
          "\(name) confidence of model \(bad / examples), example \(bad % examples) is \(m[bad]); "
            + "confidences must be finite"
        )
      }
    }
    guard table == nil || table?.models == n else {
      throw AttackError.invalidInput("a rule table for \(table?.models ?? 0) models cannot score \(n) per side")
    }
    let table = table ?? RuleTable(models: n)
    let columns = (0..<examples).map { s in
      ((0..<n).map { unlearned[$0 * examples + s] }, (0..<n).map { retrained[$0 * examples + s] })
    }
    let perExample = try WorkerPool.map(count: examples, workers: workers) { s in
      try epsilon(unlearned: columns[s].0, retrained: columns[s].1, table: table)
    }
    let eps = perExample.map(\.epsilon)
    let pts = eps.map { points(epsilon: $0, models: n) }
    var sum = 0.0
    for p in pts { sum += p }
    return Result(
      numModels: n, epsilons: eps, points: pts, forgettingQuality: examples > 0 ? sum / Double(examples) : 0,
      degenerateExamples: perExample.indices.filter { perExample[$0].degenerate },
      guardedExamples: perExample.indices.filter { perExample[$0].guarded })
  }

  /// The final challenge score: F × (RA_U / RA_R) × (TA_U / TA_R), no clipping.
  public static func score(
    forgettingQuality f: Double, retainAccuracyUnlearned: Double, retainAccuracyRetrained: Double,
    testAccuracyUnlearned: Double, testAccuracyRetrained: Double
  ) -> Double {
    f * (retainAccuracyUnlearned / retainAccuracyRetrained) * (testAccuracyUnlearned / testAccuracyRetrained)
  }

  /// The F a perfect unlearner gets in expectation at N models per side: both samples of
  /// every forget example drawn from one distribution, here the normal with that example's
  /// mean and standard deviation over the retrained models (logit-scaled confidences are close
  /// to normal across training seeds, the premise of LiRA, Carlini et al., IEEE S&P 2022).
  ///
  /// The rules' thresholds have a fixed buffer of 2 logit units, so F depends on the
  /// confidences' scale, not on their ranks alone; matching each example's spread keeps that.
  /// The mean over `replicates` simulated pairs of N-model populations, seeded by `seed`.
  public static func expectedFloor(
    means: [Double], stds: [Double], models n: Int, replicates: Int = 4, seed: UInt64, workers: Int = 1
  ) throws -> Double {
    precondition(means.count == stds.count && replicates > 0)
    let s = means.count
    var rng = Xoshiro256StarStar(seed: seed)
    var total = 0.0
    let table = RuleTable(models: n)
    for _ in 0..<replicates {
      var u = [Double](repeating: 0, count: n * s), r = u
      for i in 0..<n {
        for e in 0..<s {
          u[i * s + e] = means[e] + stds[e] * rng.nextGaussian()
          r[i * s + e] = means[e] + stds[e] * rng.nextGaussian()
        }
      }
      total +=
        try evaluate(unlearned: u, retrained: r, models: n, examples: s, workers: workers, table: table)
        .forgettingQuality
    }
    return total / Double(replicates)
  }

  /// Number of point bins for N models per side: 2·⌈ln(N − 1)⌉ (bins [0.5k, 0.5k + 0.5) with
  /// 0.5k + 0.5 ≤ ⌈ln(N − 1)⌉).
  public static func binCount(models n: Int) -> Int {
    let top = ceil(log(Double(n - 1)))
    var k = 0
    while binWidth * Double(k) + binWidth <= top { k += 1 }
    return k
  }

  /// H(s): 2^(−k) for ε in the k-th bin, 0 beyond the last bin.
  public static func points(epsilon e: Double, models n: Int) -> Double {
    var p = 1.0
    for k in 0..<binCount(models: n) {
      if e < binWidth * Double(k) + binWidth { return p }
      p /= 2
    }
    return 0
  }

  /// ε_s of one forget example from its N unlearned and N retrained confidences.
  /// `degenerate`: no rule survived; `guarded`: the range guard set ε to the cap.
  public static func epsilon(unlearned u: [Double], retrained r: [Double], table: RuleTable) throws -> (
    epsilon: Double, degenerate: Bool, guarded: Bool
  ) {
    let n = table.models
    guard u.count == n, r.count == n else {
      throw AttackError.invalidInput("expected \(n) confidences per side, got \(u.count) and \(r.count)")
    }
    // Orientation: HI is the sample with the larger median (tie: the unlearned one).
    let (su, sr) = (RadixSort.ascending(u), RadixSort.ascending(r))
    let (hi, lo) = Summary.median(sorted: sr) > Summary.median(sorted: su) ? (sr, su) : (su, sr)
    // Peaky guard, in float64; 0/0 is NaN, which fails the test.
    let a = hi[n - 1] - hi[0], b = lo[n - 1] - lo[0]
    let largest = a > b ? a : b, smallest = a > b ? b : a
    if smallest / largest < peakyRatio { return (epsilonCap, false, true) }

    // ε is the largest value of both families, whatever their order. The single thresholds go
    // first: they are few, they check the span, and the best they find lets the window sweep stop
    // early on right ends that cannot beat it.
    var best: Float = -1  // -1: no surviving rule yet
    try singleThresholdRules(hi: hi, lo: lo, table: table, best: &best)
    if best != .infinity {
      windowRules(hi: hi, lo: lo, a: a, b: b, table: table, best: &best)
    }
    if best < 0 { return (0, true, false) }
    return (Swift.min(Swift.max(Double(best), 0), epsilonCap), false, false)
  }

  /// Family A: predict the narrower sample P when L ≤ score ≤ R.
  static func windowRules(hi: [Double], lo: [Double], a: Double, b: Double, table: RuleTable, best: inout Float) {
    let n = table.models
    let width = a > b ? b : a
    let (p, q) = a >= b ? (lo, hi) : (hi, lo)
    let minR = (p[0] + width) - windowBuffer
    let maxR = p[n - 1] + windowBuffer
    let nR = Int(((maxR - minR) * thresholdsPerUnit).rounded(.up))
    let rights = numpyLinspace(minR, maxR, count: nR)
    // In C (`unlearn_window_rules`): ~160,000 rules per example, and the noise floor's
    // simulation evaluates thousands of examples.
    best = unlearn_window_rules(
      n, p + [.infinity], q + [.infinity], rights.count, rights, width, windowBuffer, leftThresholds, table.values,
      table.bounds, best)
  }

  /// Family B: predict HI when score ≥ t, on the float32 grid.
  static func singleThresholdRules(hi: [Double], lo: [Double], table: RuleTable, best: inout Float) throws {
    let n = table.models
    let m = Swift.min(hi[0], lo[0]), mx = Swift.max(hi[n - 1], lo[n - 1])
    let span = (mx - m) * thresholdsPerUnit
    guard span <= 1e8 else {
      throw AttackError.invalidInput(
        "confidences of one example span \(mx - m); logit-scaled confidences lie within ±104, check the input")
    }
    let grid = torchLinspaceFloat32(m, mx, count: Int(span.rounded(.up)))
    var hiLT = 0, loLT = 0
    for t32 in grid {
      let t = Double(t32)
      hiLT = countLess(hi, t, from: hiLT)
      loLT = countLess(lo, t, from: loLT)
      let e = table.epsilon(positives: n - hiLT, negatives: n - loLT)
      if e > best {
        best = e
        if e == .infinity { return }
      }
    }
  }

  /// The ε of every rule outcome for N models per side, indexed by the number
  /// of positives (the sample the rule predicts) and of negatives that the
  /// rule predicts positive: +∞ for perfect separation, -1 for a discarded
  /// rule, otherwise the clipped float32 ε̂.
  public struct RuleTable: Sendable {
    public let models: Int
    let values: [Float]
    let bounds: [Float]

    public init(models n: Int) {
      models = n
      let nf = Float(n)
      func rate(_ c: Int) -> Float { Float(c) / nf }
      let oneMinusDelta = Float(1 - ChallengeScore.delta)
      var v = [Float](repeating: -1, count: (n + 1) * (n + 1))
      for tp in 0...n {
        for fp in 0...n {
          let tpr = rate(tp), fnr = rate(n - tp), fpr = rate(fp), tnr = rate(n - fp)
          let value: Float
          if fpr + fnr == 0 && tpr + tnr == 2 {
            value = .infinity
          } else if fpr * fnr == 0 {
            value = -1
          } else {
            let e1 = Self.log32(oneMinusDelta - fpr) - Self.log32(fnr)
            let e2 = Self.log32(oneMinusDelta - fnr) - Self.log32(fpr)
            if e1.isNaN && e2.isNaN {
              value = -1
            } else {
              let m = e1.isNaN ? e2 : (e2.isNaN ? e1 : Swift.max(e1, e2))
              value = Swift.max(m, 0)
            }
          }
          v[tp * (n + 1) + fp] = value
        }
      }
      values = v
      bounds = Self.bounds(v, models: n)
    }

    /// bounds[tp·(n + 1) + fp] = the largest value of a rule with at most tp positives and at
    /// least fp negatives: no rule that keeps fewer points of either sample can beat it, so a
    /// sweep may stop when it is no larger than the best so far.
    static func bounds(_ values: [Float], models n: Int) -> [Float] {
      var m = values
      for tp in 0...n {
        for fp in stride(from: n, through: 0, by: -1) {
          var x = m[tp * (n + 1) + fp]
          if tp > 0 { x = Swift.max(x, m[(tp - 1) * (n + 1) + fp]) }
          if fp < n { x = Swift.max(x, m[tp * (n + 1) + fp + 1]) }
          m[tp * (n + 1) + fp] = x
        }
      }
      return m
    }

    /// The correctly rounded float32 logarithm (NaN below 0, -∞ at 0).
    static func log32(_ x: Float) -> Float { Float(Foundation.log(Double(x))) }

    /// ε of a rule that predicts `positives` of the positive sample and `negatives` of the
    /// negative sample as positive.
    @inline(__always)
    public func epsilon(positives: Int, negatives: Int) -> Float { values[positives * (models + 1) + negatives] }
  }

  /// NumPy's `linspace(start, stop, num)` in float64: `i·step + start`, the last point exactly `stop`.
  static func numpyLinspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
    guard count > 0 else { return [] }
    guard count > 1 else { return [start] }
    let div = Double(count - 1)
    let delta = stop - start
    let step = delta / div
    var y = (0..<count).map { i in step == 0 ? (Double(i) / div) * delta + start : Double(i) * step + start }
    y[count - 1] = stop
    return y
  }

  /// PyTorch's `linspace(start, end, steps)` in float32 as its CUDA kernel computes it:
  /// a float32 step, `start + step·i` for the first half and `end − step·(steps − 1 − i)` for the second.
  static func torchLinspaceFloat32(_ start: Double, _ end: Double, count: Int) -> [Float] {
    guard count > 0 else { return [] }
    let s = Float(start), e = Float(end)
    guard count > 1 else { return [s] }
    let step = (e - s) / Float(count - 1)
    let half = count / 2
    return (0..<count).map { i in
      if i < half {
        let offset = step * Float(i)
        return s + offset
      }
      let offset = step * Float(count - i - 1)
      return e - offset
    }
  }

  /// #{x < v} in ascending `a`, moving a pointer from a previous answer (either direction).
  @inline(__always)
  static func countLess(_ a: [Double], _ v: Double, from p0: Int) -> Int {
    var p = p0
    while p > 0 && a[p - 1] >= v { p -= 1 }
    while p < a.count && a[p] < v { p += 1 }
    return p
  }
}

/// Errors of attacks and metrics: the input does not fit the metric.
public enum AttackError: Error, CustomStringConvertible, Equatable {
  case invalidInput(String)

  public var description: String {
    switch self {
    case .invalidInput(let m): m
    }
  }
}

/// The challenge's forgetting quality F and final score as a result-table metric.
///
/// U holds the forget-set logit-scaled confidences of the algorithm's models, R those of
/// its reference (the retrained models, or the algorithm's own exact reference), with the
/// same N on both sides (the first N of the larger population if some jobs failed). The
/// originals are not unlearned models: the K originals (`evaluation.originals`) are cycled
/// to N models, which is what a submission that returns its original unchanged would give.
/// A reference is scored as its first half against its second half (N/2 each): the floor
/// of F. Because F depends on N when N is small, the row's note gives the F expected at the
/// row's own N when both sides are identically distributed (``ChallengeScore/expectedFloor``,
/// drawn from each forget example's mean and spread over all the reference's models).
///
/// Two caveats are flagged rather than left to the reader. When the range guard sets ε to
/// the cap on more than half of the examples, the models of the row are (nearly) identical,
/// F is near 0 whatever they forgot, and the value is flagged "F not informative:
/// deterministic outputs". With fewer than 32 models per side F is biased by the small
/// samples, and the run says so (``warnings(models:)``).
///
/// Interval: the 95 % percentile bootstrap of F over forget examples (1,000 resamples);
/// the models are held fixed, since each ε already summarises N models per side.
public struct ChallengeMetric: Metric {
  /// Measured on the digits protocol (512 models per population); a scheduling hint.
  public var relativeCost: Double { 4 }
  /// Below this many models per side the run warns that F is biased.
  public static let smallN = 32
  static let bootstrapReplicates = 1000

  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "forgetting_quality", header: "F", direction: .higherIsBetter,
        description:
          "NeurIPS 2023 Unlearning Challenge forgetting quality F = mean over forget examples of 2^(−bin of ε); "
          + "ε per example in per_example.",
        plot: .perExampleHistogram(
          title: "Per-example ε", xLabel: "challenge ε (last bin: ≥ 7, including the cap 50)", lower: 0, upper: 7.5,
          bins: 15, clip: 7.25),
        uncertainty:
          "95 % interval: percentile bootstrap over forget examples (1,000 resamples), the N models per side held "
          + "fixed; it leaves out the variation from drawing other models."),
      MetricColumn(
        name: "challenge_score", header: "score", direction: .higherIsBetter,
        description:
          "Challenge final score F × (RA_U / RA_R) × (TA_U / TA_R), retain and test accuracies averaged over the "
          + "models.",
        category: .composite, uncertainty: nil),
    ]
  }

  public var inputs: MetricInputs { .logits(.forget, .retain, .test) }

  public func warnings(models n: Int) -> [String] {
    guard n < Self.smallN else { return [] }
    return [
      "F with \(n) models per side (references: \(n / 2) per side) is biased by the small samples; the challenge "
        + "used 512. Read F against the noise floor at the same N (the retrain row's note), and use "
        + "evaluation.models ≥ \(Self.smallN) for verdicts."
    ]
  }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    guard var (u, r, note) = input.comparison() else { return missing("needs models on both sides") }
    if input.isReference && u.models.count < 2 {
      return missing("needs at least 4 models in \(input.reference.name) (half against half)")
    }
    let original = input.population.role.isOriginal
    if original {
      let k = u.models.count
      u = u.subset((0..<r.models.count).map { $0 % k })
      note = k == 1 ? "the original model, as \(r.models.count) identical copies" : "the \(k) originals, cycled"
    }
    let n = Swift.min(u.models.count, r.models.count)
    guard n >= 2 else { return missing("needs at least 2 models on each side") }
    if n < u.models.count || n < r.models.count {
      let sizes = "\(u.models.count) against \(r.models.count)"
      note = [note, "first \(n) models of each side (of \(sizes))"].compactMap { $0 }.joined(separator: "; ")
    }
    u = u.slice(0..<n)
    r = r.slice(0..<n)
    let labels = try input.labels(.forget)
    func confidences(_ p: Population) throws -> [Double] {
      try p.models.flatMap { logitScaledConfidences(logits: try $0.logits(.forget), labels: labels) }
    }
    let cu = try confidences(u), cr = try confidences(r)
    let result = try ChallengeScore.evaluate(
      unlearned: cu, retrained: cr, models: n, examples: labels.count, workers: input.workers)
    func meanAccuracy(_ p: Population, _ split: Split) throws -> Double {
      let a = try p.accuracies(split, labels: try input.labels(split))
      return 100 * a.reduce(0, +) / Double(a.count)
    }
    let score = ChallengeScore.score(
      forgettingQuality: result.forgettingQuality, retainAccuracyUnlearned: try meanAccuracy(u, .retain),
      retainAccuracyRetrained: try meanAccuracy(r, .retain), testAccuracyUnlearned: try meanAccuracy(u, .test),
      testAccuracyRetrained: try meanAccuracy(r, .test))
    let floor = try floorNote(input, rows: n, labels: labels.count) { try confidences(input.reference) }
    note = [note, floor].compactMap { $0 }.joined(separator: "; ")
    var flag: String?
    if !original && 2 * result.guardedExamples.count > labels.count {
      flag =
        "F not informative: deterministic outputs (the range guard set ε to 50 on \(result.guardedExamples.count) "
        + "of \(labels.count) examples: the \(n) models are nearly identical)"
    }
    let interval = Self.interval(result.points, seed: input.seed)
    return [
      "forgetting_quality": MetricValue(
        mean: result.forgettingQuality, perExample: result.epsilons, note: note, interval: interval, flag: flag),
      "challenge_score": MetricValue(mean: score, note: note, flag: flag),
    ]
  }

  /// What F would be at this row's N if the row were identically distributed with its
  /// reference (for a reference: at half and at its full N, the evaluated rows' N). The
  /// simulation draws from each forget example's mean and spread over every model of the
  /// reference, so one simulation per N serves every row of a scoring pass (the reference's note
  /// at its full N is the same number as the other rows' at that N).
  func floorNote(
    _ input: MetricInput, rows n: Int, labels s: Int, reference confidences: () throws -> [Double]
  ) throws -> String {
    let key = "challenge-floor/\(input.reference.name)"
    let moments = try input.cache.values("\(key)/moments") {
      let r = try confidences()
      let models = r.count / Swift.max(s, 1)
      var means = [Double](repeating: 0, count: s), stds = means
      for e in 0..<s {
        let column = (0..<models).map { r[$0 * s + e] }
        means[e] = column.reduce(0, +) / Double(models)
        stds[e] = Summary.variance(column).squareRoot()
      }
      return means + stds
    }
    func floor(_ m: Int) throws -> Double {
      try input.cache.values("\(key)/\(m)") {
        [
          try ChallengeScore.expectedFloor(
            means: Array(moments[..<s]), stds: Array(moments[s...]), models: m, replicates: 8,
            seed: Seeds.derive(input.seed, "challenge-floor", String(m)), workers: input.workers)
        ]
      }[0]
    }
    let f = { (x: Double) in String(format: "%.3f", x) }
    if input.isReference {
      return "F expected of identically distributed models (simulated): \(f(try floor(n))) at \(n) models per "
        + "side, \(f(try floor(2 * n))) at \(2 * n), the evaluated rows' N"
    }
    return "F expected of identically distributed models at \(n) models per side (simulated): \(f(try floor(n)))"
  }

  /// The 95 % percentile bootstrap interval of the mean of `points` over examples.
  static func interval(_ points: [Double], seed: UInt64) -> [Double]? {
    guard points.count > 1 else { return nil }
    var rng = Xoshiro256StarStar(seed: Seeds.derive(seed, "challenge-interval"))
    var means = [Double]()
    means.reserveCapacity(bootstrapReplicates)
    for _ in 0..<bootstrapReplicates {
      var sum = 0.0
      for _ in points.indices { sum += points[rng.nextIndex(below: points.count)] }
      means.append(sum / Double(points.count))
    }
    return Summary.interval95(means).map { [$0.lowerBound, $0.upperBound] }
  }
}
