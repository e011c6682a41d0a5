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
      M and N are per-example losses (float, shape [n]) or logits (shape [n, classes]) with integer labels
      (--member-labels, --nonmember-labels). Prints one JSON object: the loss-threshold attack (AUC, best
      balanced accuracy, TPR at 0.1/1/5 % FPR with 95 % Clopper–Pearson intervals), the starting kit's
      logistic-regression MIA, and with logits the four Song & Mittal attacks (thresholds learned on a
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
    var lossThreshold: [String: Double]
    var tprAtFPR: [String: RateAtFPR]
    var kitMIA: Double?
    var songMittal: [String: Double]?
    enum CodingKeys: String, CodingKey {
      case members
      case nonMembers = "non_members"
      case lossThreshold = "loss_threshold"
      case tprAtFPR = "loss_threshold_tpr_at_fpr"
      case kitMIA = "kit_mia"
      case songMittal = "song_mittal"
    }
  }

  func run() throws {
    try reportingErrors {
      let m = try load(members), n = try load(nonmembers)
      guard m.shape.count == n.shape.count, m.shape.count == 1 || m.shape.count == 2 else {
        throw HarnessError(
          "\(members), \(nonmembers)",
          "expected both as losses [n] or both as logits [n, classes], got \(m.shape) and \(n.shape)")
      }
      var lossM: [Double], lossN: [Double]
      var song: [String: Double]?
      if m.shape.count == 2 {
        guard m.shape[1] == n.shape[1], m.shape[1] >= 2 else {
          throw HarnessError(
            "\(members), \(nonmembers)",
            "logits must have the same number (≥ 2) of classes, got \(m.shape[1]) and \(n.shape[1])")
        }
        guard let ml = memberLabels, let nl = nonmemberLabels else {
          throw HarnessError("--member-labels, --nonmember-labels", "logits need the labels of both sets")
        }
        let k = m.shape[1]
        let ym = try labels(ml, count: m.shape[0], classes: k), yn = try labels(nl, count: n.shape[0], classes: k)
        let pm = probabilities(m), pn = probabilities(n)
        lossM = pm.indices.map { -log(Swift.max(pm[$0][ym[$0]], 1e-300)) }
        lossN = pn.indices.map { -log(Swift.max(pn[$0][yn[$0]], 1e-300)) }
        song = SongMittalAttacks.evaluate(
          members: pm, memberLabels: ym, nonMembers: pn, nonMemberLabels: yn, classes: k, seed: seed)
      } else {
        lossM = m.doubles
        lossN = n.doubles
      }
      guard !lossM.isEmpty, !lossN.isEmpty else {
        throw HarnessError("\(members), \(nonmembers)", "both sets need at least one example")
      }
      guard (lossM + lossN).allSatisfy(\.isFinite) else {
        throw HarnessError("\(members), \(nonmembers)", "losses must be finite")
      }
      let roc = ROC(positives: lossM.map { -$0 }, negatives: lossN.map { -$0 })
      let kit = try? KitMIA.accuracy(forgetLosses: lossM, testLosses: lossN, seed: seed)
      var rates = [String: RateAtFPR]()
      for a in [0.001, 0.01, 0.05] { rates["\(a)"] = roc.tpr(atFPR: a) }
      let out = Output(
        members: lossM.count, nonMembers: lossN.count,
        lossThreshold: ["auc": roc.auc, "best_balanced_accuracy": roc.bestBalancedAccuracy],
        tprAtFPR: rates, kitMIA: kit, songMittal: song)
      let enc = JSONEncoder()
      enc.outputFormatting = [.sortedKeys]
      print(String(decoding: try enc.encode(out), as: UTF8.self))
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

  func probabilities(_ a: NPYArray) -> [[Double]] {
    let (n, k) = (a.shape[0], a.shape[1])
    let v = a.doubles
    return (0..<n).map { i in
      let row = Array(v[(i * k)..<((i + 1) * k)])
      let mx = row.max()!
      let e = row.map { exp($0 - mx) }
      let s = e.reduce(0, +)
      return e.map { $0 / s }
    }
  }
}
