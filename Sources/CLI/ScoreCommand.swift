import ArgumentParser
import Attacks
import Foundation
import Harness
import NumericCore

/// `unlearn score`: scores outputs produced anywhere.
struct ScoreCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "score", abstract: "Score stored model outputs.", subcommands: [Challenge.self, ScoreMIA.self])

  /// `unlearn score challenge`: the NeurIPS 2023 Unlearning Challenge ε, F and score from `.npy` files.
  struct Challenge: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The NeurIPS 2023 Unlearning Challenge forgetting quality (and score) from .npy files.",
      discussion: """
        U and R are float32 or float64 arrays [models, examples] of logit-scaled confidences of the forget \
        examples under N unlearned and N retrained models (columns in the same example order). With --labels, \
        they are logits [models, examples, classes] and the confidences are computed as the challenge does. \
        Prints one JSON object: num_models, epsilons (per example, input order), points, forgetting_quality, \
        degenerate_examples, and score when all four accuracies are given (in percent, as the challenge).
        """)

    @Option(help: ArgumentHelp("Unlearned models' confidences or logits (.npy).", valueName: "U.npy"))
    var unlearned: String

    @Option(help: ArgumentHelp("Retrained models' confidences or logits (.npy).", valueName: "R.npy"))
    var retrained: String

    @Option(help: ArgumentHelp("Integer labels [examples] (.npy); U and R are then logits.", valueName: "y.npy"))
    var labels: String?

    @Option(name: .customLong("retain-accuracy-unlearned"), help: "RA_U, mean retain accuracy of the unlearned models.")
    var retainAccuracyUnlearned: Double?
    @Option(name: .customLong("retain-accuracy-retrained"), help: "RA_R, mean retain accuracy of the retrained models.")
    var retainAccuracyRetrained: Double?
    @Option(name: .customLong("test-accuracy-unlearned"), help: "TA_U, mean test accuracy of the unlearned models.")
    var testAccuracyUnlearned: Double?
    @Option(name: .customLong("test-accuracy-retrained"), help: "TA_R, mean test accuracy of the retrained models.")
    var testAccuracyRetrained: Double?

    @Option(help: ArgumentHelp("Worker threads (default: one per core).", valueName: "n"))
    var workers: Int?

    func validate() throws {
      let accs = [retainAccuracyUnlearned, retainAccuracyRetrained, testAccuracyUnlearned, testAccuracyRetrained]
      if accs.contains(where: { $0 != nil }) && accs.contains(where: { $0 == nil }) {
        throw ValidationError(
          "give all four accuracies (--retain-accuracy-unlearned/-retrained, "
            + "--test-accuracy-unlearned/-retrained) or none"
        )
      }
      if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
      let names = [
        "--retain-accuracy-unlearned", "--retain-accuracy-retrained", "--test-accuracy-unlearned",
        "--test-accuracy-retrained",
      ]
      for (name, value) in zip(names, accs) {
        guard let value else { continue }
        guard value.isFinite, (0...100).contains(value) else {
          throw ValidationError(
            "\(name) must be an accuracy, a fraction (0–1) or a percentage (0–100) like the other three, "
              + "got \(value)")
        }
        if name.hasSuffix("retrained") && value == 0 {
          throw ValidationError("\(name) is 0: the score divides by the retrained models' accuracy")
        }
      }
    }

    struct Output: Encodable {
      var result: ChallengeScore.Result
      var score: Double?

      func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        if let score {
          var c = encoder.container(keyedBy: K.self)
          try c.encode(score, forKey: .score)
        }
      }
      enum K: String, CodingKey { case score }
    }

    func run() throws {
      try reportingErrors {
        let u = try read(unlearned), r = try read(retrained)
        guard u.dtype == r.dtype else {
          throw HarnessError(
            "\(unlearned), \(retrained)",
            "dtypes differ (\(u.dtype) and \(r.dtype)); save both as float32 or both as float64")
        }
        guard u.shape == r.shape else {
          throw HarnessError(
            "\(unlearned), \(retrained)",
            "shapes differ (\(u.shape) and \(r.shape)); both must be [models, examples"
              + "\(labels == nil ? "" : ", classes")] with the same models count and example order"
          )
        }
        let models: Int, examples: Int
        let uc: [Double], rc: [Double]
        if let labels {
          guard u.shape.count == 3 else {
            throw HarnessError(
              unlearned, "with --labels, expected logits of shape [models, examples, classes], got \(u.shape)")
          }
          (models, examples) = (u.shape[0], u.shape[1])
          let y = try readLabels(labels, examples: examples, classes: u.shape[2])
          uc = confidences(u, labels: y)
          rc = confidences(r, labels: y)
        } else {
          guard u.shape.count == 2 else {
            throw HarnessError(
              unlearned,
              "expected logit-scaled confidences of shape [models, examples], got \(u.shape) (pass --labels for logits)"
            )
          }
          (models, examples) = (u.shape[0], u.shape[1])
          uc = u.doubles
          rc = r.doubles
        }
        guard models >= 1, examples >= 1 else {
          throw HarnessError(
            "\(unlearned), \(retrained)", "hold \(models) models and \(examples) examples; F needs at least one of each"
          )
        }
        if let i = (uc + rc).firstIndex(where: { !$0.isFinite }) {
          let (file, k) = i < uc.count ? (unlearned, i) : (retrained, i - uc.count)
          throw HarnessError(
            file, "value \(k) (model \(k / examples), example \(k % examples)) is not finite (NaN or infinity)")
        }
        let result: ChallengeScore.Result
        do {
          result = try ChallengeScore.evaluate(
            unlearned: uc, retrained: rc, models: models, examples: examples,
            workers: workers ?? WorkerPool.availableCores)
        } catch let e as AttackError {
          throw HarnessError("\(unlearned), \(retrained)", e.description)
        }
        var score: Double?
        if let ru = retainAccuracyUnlearned, let rr = retainAccuracyRetrained, let tu = testAccuracyUnlearned,
          let tr = testAccuracyRetrained
        {
          score = ChallengeScore.score(
            forgettingQuality: result.forgettingQuality, retainAccuracyUnlearned: ru, retainAccuracyRetrained: rr,
            testAccuracyUnlearned: tu, testAccuracyRetrained: tr)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        print(String(decoding: try enc.encode(Output(result: result, score: score)), as: UTF8.self))
      }
    }

    func read(_ path: String) throws -> NPYArray {
      let a: NPYArray
      do { a = try NPYArray.read(URL(fileURLWithPath: path)) } catch { throw HarnessError(path, "\(error)") }
      switch a.storage {
      case .float32, .float64: return a
      default: throw HarnessError(path, "dtype \(a.dtype) is not supported; save the array as float32 or float64")
      }
    }

    func readLabels(_ path: String, examples: Int, classes: Int) throws -> [Int] {
      let a: NPYArray
      do { a = try NPYArray.read(URL(fileURLWithPath: path)) } catch { throw HarnessError(path, "\(error)") }
      guard let y = a.integers else {
        throw HarnessError(path, "labels must be integers (int64, int32 or uint8), got \(a.dtype)")
      }
      guard a.shape == [examples] else {
        throw HarnessError(path, "expected \(examples) labels (one per example), got shape \(a.shape)")
      }
      if let bad = y.firstIndex(where: { $0 < 0 || $0 >= classes }) {
        throw HarnessError(path, "label \(y[bad]) of example \(bad) is outside 0..<\(classes)")
      }
      return y
    }

    func confidences(_ a: NPYArray, labels: [Int]) -> [Double] {
      let (m, s, c) = (a.shape[0], a.shape[1], a.shape[2])
      var out = [Double]()
      out.reserveCapacity(m * s)
      for i in 0..<(m * s) {
        let range = (i * c)..<((i + 1) * c)
        switch a.storage {
        case .float32(let v): out.append(logitScaledConfidence(logits: v[range], label: labels[i % s]))
        case .float64(let v): out.append(logitScaledConfidence(logits: v[range], label: labels[i % s]))
        default: out.append(.nan)
        }
      }
      return out
    }
  }
}
