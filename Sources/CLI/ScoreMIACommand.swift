import ArgumentParser
import Attacks
import Foundation
import Harness
import NumericCore

/// `unlearn score mia`: the population attacks on outputs produced anywhere.
struct ScoreMIA: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mia", abstract: "Population membership-inference attacks on members vs non-members (.npy).",
    discussion: """
      M and N are per-example losses (float, shape [n]) or logits (shape [n, classes]) with integer labels \
      (--member-labels, --nonmember-labels). Prints one JSON object: the loss-threshold attack (AUC, best \
      balanced accuracy, TPR at 0.1/1/5 % FPR with 95 % Clopper–Pearson intervals), the starting kit's \
      logistic-regression MIA, and with logits the four Song & Mittal attacks (thresholds learned on a \
      seeded half, scored on the other half).
      """)

  @Option(help: ArgumentHelp("Members' losses [n] or logits [n, classes] (.npy).", valueName: "M.npy"))
  var members: String
  @Option(help: ArgumentHelp("Non-members' losses or logits (.npy).", valueName: "N.npy"))
  var nonmembers: String
  @Option(
    name: .customLong("member-labels"), help: ArgumentHelp("Labels of the members (with logits).", valueName: "yM.npy"))
  var memberLabels: String?
  @Option(
    name: .customLong("nonmember-labels"),
    help: ArgumentHelp("Labels of the non-members (with logits).", valueName: "yN.npy"))
  var nonmemberLabels: String?
  @Option(help: "Seed of the kit MIA's balancing and splits and of the Song & Mittal halves.")
  var seed: UInt64 = 0

  struct Output: Encodable {
    var members: Int
    var nonMembers: Int
    /// By column name, as in `results.json`.
    var metrics: [String: MetricValue]

    enum CodingKeys: String, CodingKey {
      case members, metrics
      case nonMembers = "non_members"
    }
  }

  func run() throws {
    try reportingErrors {
      let m = try load(members), n = try load(nonmembers)
      let both = "\(members), \(nonmembers)"
      guard m.shape.count == n.shape.count, m.shape.count == 1 || m.shape.count == 2 else {
        throw HarnessError(
          both, "expected both as losses [n] or both as logits [n, classes], got \(m.shape) and \(n.shape)")
      }
      var metrics = [String: MetricValue]()
      let lossM: [Double], lossN: [Double]
      if m.shape.count == 2 {
        let (pm, pn) = try logits(m, n)
        lossM = pm.losses
        lossN = pn.losses
        let sm = SongMittalAttacks.evaluate(
          members: pm.probabilities, nonMembers: pn.probabilities, classes: m.shape[1], seed: seed)
        for (k, v) in sm { metrics[k] = MetricValue(mean: v) }
      } else {
        lossM = m.doubles
        lossN = n.doubles
      }
      guard !lossM.isEmpty, !lossN.isEmpty else { throw HarnessError(both, "both sets need at least one example") }
      guard (lossM + lossN).allSatisfy(\.isFinite) else { throw HarnessError(both, "losses must be finite") }
      if let bad = (lossM + lossN).first(where: { $0 < 0 }) {
        throw HarnessError(
          both, "losses must be ≥ 0 (per-example cross-entropy), found \(bad); pass losses, not log-probabilities")
      }
      metrics.merge(LossThresholdAttack.values(memberLosses: lossM, nonMemberLosses: lossN, seed: seed) ?? [:]) { $1 }
      do {
        metrics["kit_mia"] = MetricValue(mean: try KitMIA.accuracy(forgetLosses: lossM, testLosses: lossN, seed: seed))
      } catch {
        metrics["kit_mia"] = MetricValue(mean: nil, note: "\(error)")
      }
      try printJSON(Output(members: lossM.count, nonMembers: lossN.count, metrics: metrics))
    }
  }

  /// Losses and probabilities of member and non-member logits (the harness's one softmax).
  func logits(_ m: NPYArray, _ n: NPYArray) throws -> (Outputs, Outputs) {
    guard m.shape[1] == n.shape[1], m.shape[1] >= 2 else {
      throw HarnessError(
        "\(members), \(nonmembers)",
        "logits must have the same number (≥ 2) of classes, got \(m.shape[1]) and \(n.shape[1])")
    }
    guard let ml = memberLabels, let nl = nonmemberLabels else {
      throw HarnessError("--member-labels, --nonmember-labels", "logits need the labels of both sets")
    }
    let k = m.shape[1]
    return (
      try Outputs(m, labels: labels(ml, count: m.shape[0], classes: k)),
      try Outputs(n, labels: labels(nl, count: n.shape[0], classes: k))
    )
  }

  /// One set's logits as per-example losses and labelled probabilities.
  struct Outputs {
    var losses: [Double]
    var probabilities: SongMittalAttacks.LabeledProbabilities

    init(_ a: NPYArray, labels: [Int]) {
      let (rows, k) = (a.shape[0], a.shape[1])
      let v = a.doubles
      let logits = (0..<rows).map { i in v[(i * k)..<((i + 1) * k)] }
      losses = logits.indices.map { -Softmax.logProbability(logits[$0], label: labels[$0]) }
      probabilities = SongMittalAttacks.LabeledProbabilities(
        probabilities: logits.map { Softmax.probabilities($0) }, labels: labels)
    }
  }

  func load(_ path: String) throws -> NPYArray {
    do {
      let a = try NPYArray.read(URL(fileURLWithPath: path))
      switch a.storage {
      case .float32, .float64: return a
      default:
        throw HarnessError(path, "dtype \(a.dtype) is not supported; save losses or logits as float32 or float64")
      }
    } catch let e as HarnessError { throw e } catch { throw HarnessError(path, "\(error)") }
  }

  func labels(_ path: String, count: Int, classes: Int) throws -> [Int] {
    let a: NPYArray
    do { a = try NPYArray.read(URL(fileURLWithPath: path)) } catch { throw HarnessError(path, "\(error)") }
    guard let y = a.integers, a.shape == [count] else {
      throw HarnessError(path, "expected \(count) integer labels, got \(a.dtype) \(a.shape)")
    }
    if let bad = y.firstIndex(where: { $0 < 0 || $0 >= classes }) {
      throw HarnessError(path, "label \(y[bad]) of example \(bad) is outside 0..<\(classes)")
    }
    return y
  }

}
