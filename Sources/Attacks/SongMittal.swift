import CKernels
import Foundation
import Harness
import NumericCore

/// The metric-based attacks of Song & Mittal ("Systematic Evaluation of Privacy
/// Risks of Machine Learning Models", USENIX Security 2021), with class-dependent
/// thresholds:
///
/// ```
/// correctness       1[argmax p = y]            (no threshold)
/// confidence        p_y
/// entropy           −H(p) = Σ_i p_i log p_i
/// modified entropy  −Mentr(p, y) = (1 − p_y) log p_y + Σ_{i≠y} p_i log(1 − p_i)      (logs clipped at 1e-30)
/// τ_c = argmax_v ½(mean(A_c ≥ v) + mean(B_c < v)) over v ∈ A_c ∪ B_c
/// ```
/// with A_c / B_c the feature values of known members / non-members of class c.
/// Here the thresholds are learned on retain (members) against validation
/// (non-members), and the attack is scored on forget (members) against test
/// (non-members): ½(TPR + TNR), per model, mean ± std. The modified entropy is
/// the paper's formula, not the port in Unlearn-Sparse/SalUn (whose `m_entr_comp`
/// drops the (1 − p_y) factor).
public struct SongMittalAttacks: Metric {
  /// Measured on the digits protocol (512 models per population); a scheduling hint.
  public var relativeCost: Double { 2 }
  public init() {}

  /// The four features, by their column names.
  enum Kind: String, CaseIterable {
    case correctness, confidence, entropy
    case modifiedEntropy = "modified_entropy"
  }
  static let kinds = Kind.allCases.map(\.rawValue)

  public var columns: [MetricColumn] {
    Self.kinds.map { k in
      let description =
        "Song & Mittal (USENIX Sec 2021) \(k.replacingOccurrences(of: "_", with: " ")) attack with class "
        + "thresholds from retain vs audit; balanced accuracy on forget vs test (chance 0.5), mean ± std over models."
      return MetricColumn(
        name: "sm_\(k)", header: k == "modified_entropy" ? "m-entropy MIA" : "\(k) MIA", direction: .closestToIdeal,
        description: description, table: k == "modified_entropy" ? .main : .none, ideal: 0.5)
    }
  }

  /// The feature of one probability row (larger = member).
  static func feature(_ kind: Kind, _ p: ArraySlice<Double>, _ y: Int) -> Double {
    let y = p.startIndex + y
    switch kind {
    case .correctness: return p.indices.max { p[$0] < p[$1] } == y ? 1 : 0
    case .confidence: return p[y]
    case .entropy: return p.reduce(0) { $0 + $1 * Signals.clippedLog($1) }
    case .modifiedEntropy:
      var m = (1 - p[y]) * Signals.clippedLog(p[y])
      for i in p.indices where i != y { m += p[i] * Signals.clippedLog(1 - p[i]) }
      return m
    }
  }

  /// τ maximising ½(mean(a ≥ v) + mean(b < v)) over v ∈ a ∪ b (−∞, flagging everything, when a
  /// class has no data).
  static func threshold(members a: [Double], nonMembers b: [Double]) -> Double {
    guard !a.isEmpty || !b.isEmpty else { return -.infinity }
    let sa = a.sorted(), sb = b.sorted()
    var best = -Double.infinity, bestValue = -1.0
    // Candidates in ascending order; the counts below each candidate move forward with it.
    var ia = 0, ib = 0
    var previous = -Double.infinity
    // Both samples merged in ascending order (the same sequence as sorting them together).
    var merged = [Double]()
    merged.reserveCapacity(sa.count + sb.count)
    var (i, j) = (0, 0)
    while i < sa.count || j < sb.count {
      if j == sb.count || (i < sa.count && !(sb[j] < sa[i])) {
        merged.append(sa[i])
        i += 1
      } else {
        merged.append(sb[j])
        j += 1
      }
    }
    for v in merged where v != previous {
      previous = v
      while ia < sa.count && sa[ia] < v { ia += 1 }
      while ib < sb.count && sb[ib] < v { ib += 1 }
      let tpr = sa.isEmpty ? 0 : Double(sa.count - ia) / Double(sa.count)
      let tnr = sb.isEmpty ? 0 : Double(ib) / Double(sb.count)
      let value = 0.5 * (tpr + tnr)
      if value > bestValue {
        bestValue = value
        best = v
      }
    }
    return best
  }

  public var inputs: MetricInputs { .logits(.forget, .retain, .test, .audit) }

  /// Probabilities and labels of one set of examples.
  public struct LabeledProbabilities {
    /// The probability rows one after another, `classes` each.
    var flat: [Double]
    var classes: Int
    public var labels: [Int]

    public init(probabilities: [[Double]], labels: [Int]) {
      let classes = probabilities.first?.count ?? 0
      precondition(probabilities.allSatisfy { $0.count == classes }, "probability rows of different lengths")
      flat = probabilities.flatMap { $0 }
      self.classes = classes
      self.labels = labels
    }

    /// The softmax of `[n, classes]` logits.
    public init(logits: Tensor, labels: [Int]) {
      flat = Softmax.flatProbabilities(logits)
      classes = logits.rowLength
      self.labels = labels
    }

    /// Example i's probabilities.
    func row(_ i: Int) -> ArraySlice<Double> { flat[(i * classes)..<((i + 1) * classes)] }

    /// The examples at `indices`, in that order.
    func subset(_ indices: some Sequence<Int>) -> LabeledProbabilities {
      let i = Array(indices)
      var out = self
      out.flat = i.flatMap { row($0) }
      out.labels = i.map { labels[$0] }
      return out
    }
  }

  /// ``feature(_:_:_:)`` of every example of `s` for every kind: the logarithms of p and of 1 − p
  /// (clipped at 1e-30) of the whole set at once (`unlearn_log_array`, within 1 ulp of glibc's),
  /// each sum in the definition's order.
  static func features(_ s: LabeledProbabilities) -> [Kind: [Double]] {
    let k = s.classes, n = s.labels.count, count = n * k
    precondition(s.flat.count == count, "\(n) labels for \(s.flat.count) probabilities of \(k) classes")
    var logP = s.flat.map { Swift.max($0, 1e-30) }, logQ = s.flat.map { Swift.max(1 - $0, 1e-30) }
    logP.withUnsafeMutableBufferPointer { unlearn_log_array(count, $0.baseAddress, $0.baseAddress) }
    logQ.withUnsafeMutableBufferPointer { unlearn_log_array(count, $0.baseAddress, $0.baseAddress) }
    var correctness = [Double](repeating: 0, count: n), confidence = correctness, entropy = correctness
    var modified = correctness
    s.flat.withUnsafeBufferPointer { p in
      for i in 0..<n {
        let y = s.labels[i], base = i * k
        precondition(y >= 0 && y < k, "label \(y) out of range 0..<\(k)")
        // The first largest probability (a later one wins only when greater), as `feature`.
        var top = p[base], best = 0
        for c in 1..<k where p[base + c] > top {
          top = p[base + c]
          best = c
        }
        correctness[i] = best == y ? 1 : 0
        confidence[i] = p[base + y]
        var e = 0.0
        for c in 0..<k { e += p[base + c] * logP[base + c] }
        entropy[i] = e
        var m = (1 - p[base + y]) * logP[base + y]
        for c in 0..<k where c != y { m += p[base + c] * logQ[base + c] }
        modified[i] = m
      }
    }
    return [.correctness: correctness, .confidence: confidence, .entropy: entropy, .modifiedEntropy: modified]
  }

  /// The balanced accuracy ½(TPR + TNR) of each attack (keys `sm_<attack>`): class thresholds
  /// learned on `calibration` members against non-members, applied to `target` members and non-members.
  public static func balancedAccuracies(
    calibration: (members: LabeledProbabilities, nonMembers: LabeledProbabilities),
    target: (members: LabeledProbabilities, nonMembers: LabeledProbabilities), classes: Int
  ) -> [String: Double] {
    // Every feature of every example, computed once per set.
    let calibrationMembers = features(calibration.members), calibrationNonMembers = features(calibration.nonMembers)
    let targetMembers = features(target.members), targetNonMembers = features(target.nonMembers)
    var out = [String: Double]()
    for kind in Kind.allCases {
      /// The features of each class.
      func byClass(_ f: [Double], _ labels: [Int]) -> [[Double]] {
        var out = [[Double]](repeating: [], count: classes)
        for (f, y) in zip(f, labels) where y >= 0 && y < classes { out[y].append(f) }
        return out
      }
      var tau = [Double](repeating: 1, count: classes)
      if kind != .correctness {
        let members = byClass(calibrationMembers[kind]!, calibration.members.labels)
        let nonMembers = byClass(calibrationNonMembers[kind]!, calibration.nonMembers.labels)
        for c in 0..<classes { tau[c] = threshold(members: members[c], nonMembers: nonMembers[c]) }
      }
      func share(_ f: [Double], _ labels: [Int], member: Bool) -> Double {
        var hits = 0
        for (f, y) in zip(f, labels) where member ? f >= tau[y] : f < tau[y] { hits += 1 }
        return Double(hits) / Double(Swift.max(labels.count, 1))
      }
      out["sm_\(kind.rawValue)"] =
        0.5
        * (share(targetMembers[kind]!, target.members.labels, member: true)
          + share(targetNonMembers[kind]!, target.nonMembers.labels, member: false))
    }
    return out
  }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let labels = try PerSplit { s in
      [.forget, .retain, .test, .audit].contains(s) ? try input.labels(s).map(Int.init) : []
    }
    guard !labels.forget.isEmpty, !labels.test.isEmpty, !labels.audit.isEmpty else {
      return missing("needs forget, test, retain and audit examples")
    }
    let classes = try input.population.models.first?.logits(.test).rowLength ?? 0
    var perKind = [String: [Double]]()
    for m in input.population.models {
      func set(_ s: Split) throws -> LabeledProbabilities {
        LabeledProbabilities(logits: try m.logits(s), labels: labels[s])
      }
      let values = Self.balancedAccuracies(
        calibration: (try set(.retain), try set(.audit)), target: (try set(.forget), try set(.test)), classes: classes)
      for (k, v) in values { perKind[k, default: []].append(v) }
    }
    return Dictionary(uniqueKeysWithValues: columns.map { ($0.name, MetricValue(summarising: perKind[$0.name] ?? [])) })
  }
}

extension SongMittalAttacks {
  /// The four attacks on arbitrary outputs (`unlearn score mia`): thresholds learned on a
  /// seeded half of the members and of the non-members, balanced accuracy on the other halves.
  public static func evaluate(
    members: LabeledProbabilities, nonMembers: LabeledProbabilities, classes: Int, seed: UInt64
  )
    -> [String: Double]
  {
    var rng = Xoshiro256StarStar(seed: seed)
    let pm = rng.permutation(members.labels.count), pn = rng.permutation(nonMembers.labels.count)
    let (m, n) = (members.labels.count / 2, nonMembers.labels.count / 2)
    return balancedAccuracies(
      calibration: (members.subset(pm.prefix(m)), nonMembers.subset(pn.prefix(n))),
      target: (members.subset(pm.dropFirst(m)), nonMembers.subset(pn.dropFirst(n))), classes: classes)
  }
}
