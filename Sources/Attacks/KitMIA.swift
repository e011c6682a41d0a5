import Foundation
import Harness
import NumericCore

/// The "simple MIA" of the NeurIPS 2023 Unlearning Challenge starting kit
/// (unlearning-challenge/starting-kit, `unlearning-CIFAR10.ipynb`): can a logistic regression on the per-example loss
/// tell forget examples (label 1, "member") from test examples (label 0)?
///
/// ```
/// ℓᵢ = −log softmax(zᵢ)[yᵢ]                      per-example cross-entropy
/// X = [ℓ_test ; ℓ_forget] (n × 1),  y = [0…0 ; 1…1]
/// acc = mean over 10 stratified shuffle splits (test fraction 0.1) of the
///       held-out accuracy of LogisticRegression(C = 1) fitted on the rest
/// ```
/// The larger of the two sets is subsampled without replacement to the size
/// of the smaller (a seeded draw; the kit used an unseeded shuffle), so chance
/// is exactly 0.5. An ideal unlearner scores ≈ 0.5, as does the retrained model;
/// the kit reports 0.579 for its original ResNet-18 on CIFAR-10.
///
/// The splits follow scikit-learn's `StratifiedShuffleSplit(n_splits=10,
/// test_size=0.1)`: ⌈0.1·n⌉ test examples, per-class counts by largest
/// remainder, examples drawn at random within each class; the draws come
/// from `seed` (scikit-learn's NumPy Mersenne Twister is not reproduced).
public enum KitMIA {
  public static let splits = 10
  public static let testFraction = 0.1

  /// Mean held-out accuracy of the loss-threshold logistic regression.
  public static func accuracy(forgetLosses: [Double], testLosses: [Double], seed: UInt64) throws -> Double {
    guard !forgetLosses.isEmpty, !testLosses.isEmpty else {
      throw AttackError.invalidInput(
        "the kit MIA needs forget and test examples (got \(forgetLosses.count) and \(testLosses.count))")
    }
    guard (forgetLosses + testLosses).allSatisfy(\.isFinite) else {
      throw AttackError.invalidInput("the kit MIA needs finite per-example losses")
    }
    let k = Swift.min(forgetLosses.count, testLosses.count)
    guard k >= 10 else {
      throw AttackError.invalidInput("the kit MIA needs at least 10 forget and 10 test examples, got \(k)")
    }
    var rng = Xoshiro256StarStar(seed: Seeds.derive(seed, "kit-mia", "balance"))
    func draw(_ x: [Double]) -> [Double] { x.count == k ? x : rng.permutation(x.count).prefix(k).map { x[$0] } }
    let features = draw(testLosses) + draw(forgetLosses)
    let labels = [Bool](repeating: false, count: k) + [Bool](repeating: true, count: k)
    var total = 0.0
    for (train, test) in stratifiedShuffleSplits(labels: labels, seed: seed) {
      let model = LogisticRegression.fit(
        features: train.map { features[$0] }, labels: train.map { labels[$0] }, dimensions: 1)
      let predicted = model.predict(features: test.map { features[$0] })
      var correct = 0
      for (p, i) in zip(predicted, test) where p == labels[i] { correct += 1 }
      total += Double(correct) / Double(test.count)
    }
    return total / Double(splits)
  }

  /// The kit MIA of one model from its logits on the forget and test sets.
  public static func accuracy(
    forgetLogits: Tensor, forgetLabels: [Int32], testLogits: Tensor, testLabels: [Int32], seed: UInt64
  ) throws -> Double {
    try accuracy(
      forgetLosses: crossEntropyLosses(logits: forgetLogits, labels: forgetLabels),
      testLosses: crossEntropyLosses(logits: testLogits, labels: testLabels), seed: seed)
  }

  /// Per-example cross-entropy −log softmax(z)[y], computed in float64.
  public static func crossEntropyLosses(logits: Tensor, labels: [Int32]) -> [Double] {
    Signals.losses(logits, labels)
  }

  /// `splits` (train, test) index sets, stratified by label, as scikit-learn's `StratifiedShuffleSplit`.
  static func stratifiedShuffleSplits(labels: [Bool], seed: UInt64) -> [(train: [Int], test: [Int])] {
    let n = labels.count
    let nTest = Int((testFraction * Double(n)).rounded(.up))
    let nTrain = n - nTest
    let classes = [labels.indices.filter { !labels[$0] }, labels.indices.filter { labels[$0] }]
    var rng = Xoshiro256StarStar(seed: Seeds.derive(seed, "kit-mia", "splits"))
    return (0..<splits).map { _ in
      // Train counts per class by largest remainder (ties broken at random), test takes the rest.
      let counts = classes.map(\.count)
      let exact = counts.map { Double(nTrain) * Double($0) / Double(n) }
      var take = exact.map { Int($0.rounded(.down)) }
      let order = rng.permutation(counts.count).sorted {
        (exact[$0] - Double(take[$0])) > (exact[$1] - Double(take[$1]))
      }
      var missing = nTrain - take.reduce(0, +)
      for c in order where missing > 0 && take[c] < counts[c] {
        take[c] += 1
        missing -= 1
      }
      var train = [Int](), test = [Int]()
      for (c, members) in classes.enumerated() {
        let perm = rng.permutation(members.count)
        for (j, p) in perm.enumerated() {
          if j < take[c] { train.append(members[p]) } else { test.append(members[p]) }
        }
      }
      return (train, test)
    }
  }
}

/// The kit MIA as a result-table metric: accuracy per model, mean ± std over models.
/// Model i's balancing and splits are seeded by its job index, so a model's value does
/// not depend on which other jobs finished.
public struct KitMIAMetric: Metric {
  public init() {}

  public var columns: [MetricColumn] {
    [
      MetricColumn(
        name: "kit_mia", header: "kit MIA", direction: .closestToIdeal,
        description:
          "Starting-kit MIA: held-out accuracy of a logistic regression on per-example loss, forget vs test "
          + "(balanced; chance 0.5), mean ± std over models.",
        ideal: 0.5)
    ]
  }

  public var inputs: MetricInputs { .logits(.forget, .test) }

  public func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let fl = try input.labels(.forget), tl = try input.labels(.test)
    let models = input.population.models, jobs = input.population.jobIndices
    let seed = input.seed
    let accs = try WorkerPool.map(count: models.count, workers: input.workers) { i in
      try KitMIA.accuracy(
        forgetLogits: try models[i].logits(.forget), forgetLabels: fl, testLogits: try models[i].logits(.test),
        testLabels: tl, seed: Seeds.derive(seed, "kit-mia", String(jobs[i])))
    }
    return ["kit_mia": MetricValue(summarising: accs)]
  }
}
