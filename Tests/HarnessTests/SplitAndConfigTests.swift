import Foundation
import Networks
import TestSupport
import Testing

@testable import Harness

@Suite struct SplitTests {
  static let digits = try! Dataset.load(path: TestSupport.digitsPath)

  @Test func splits_areDisjointCoverTheDataAndAreStratified() throws {
    let s = try Splits.make(Self.digits, config: SplitConfig())
    let all = s.train + s.test + s.validation + s.audit
    #expect(all.count == 1797 && Set(all).count == 1797)
    #expect(Set(s.audit).isDisjoint(with: Set(s.train + s.test + s.validation)))
    #expect(Set(s.forget).isSubset(of: Set(s.train)) && Set(s.retain).isDisjoint(with: Set(s.forget)))
    #expect(s.retain.count + s.forget.count == s.train.count)
    #expect(s.forget.count == Int((Double(s.train.count) * 0.1).rounded()))
    // Stratified: every class has 15 % of its examples in test and 10 % in audit.
    for k in 0..<10 {
      let n = Self.digits.examples.labels.filter { $0 == Int32(k) }.count
      let t = s.test.filter { Self.digits.examples.labels[$0] == Int32(k) }.count
      let a = s.audit.filter { Self.digits.examples.labels[$0] == Int32(k) }.count
      #expect(t == Int((Double(n) * 0.15).rounded()) && a == Int((Double(n) * 0.1).rounded()))
    }
  }

  @Test func splits_areStableAndChangeWithTheSeed() throws {
    let a = try Splits.make(Self.digits, config: SplitConfig(seed: 1))
    let b = try Splits.make(Self.digits, config: SplitConfig(seed: 1))
    let c = try Splits.make(Self.digits, config: SplitConfig(seed: 2))
    #expect(a == b)
    #expect(a.test != c.test && a.forget != c.forget)
    #expect(Splits.sha256(a.forget) == Splits.sha256(b.forget))
  }

  @Test func forgetStrategies_classGroupAndIds() throws {
    var cfg = SplitConfig()
    cfg.forget = ForgetSpec(strategy: .class, className: "3")
    let byClass = try Splits.make(Self.digits, config: cfg)
    #expect(byClass.forget.allSatisfy { Self.digits.examples.labels[$0] == 3 })
    #expect(byClass.forget.count == byClass.train.filter { Self.digits.examples.labels[$0] == 3 }.count)
    let base = try Splits.make(Self.digits, config: SplitConfig())
    cfg.forget = ForgetSpec(strategy: .ids, ids: Array(base.train.prefix(5)))
    #expect(try Splits.make(Self.digits, config: cfg).forget == Array(base.train.prefix(5)))
    var grouped = Self.digits
    grouped.groups = (0..<grouped.count).map { "p\($0 % 7)" }
    cfg.forget = ForgetSpec(strategy: .group, groups: ["p3"])
    let byGroup = try Splits.make(grouped, config: cfg)
    #expect(!byGroup.forget.isEmpty && byGroup.forget.allSatisfy { $0 % 7 == 3 })
  }

  @Test func overlaps_areRefused() throws {
    let base = try Splits.make(Self.digits, config: SplitConfig())
    var cfg = SplitConfig()
    cfg.forget = ForgetSpec(strategy: .ids, ids: [base.test[0]])
    Fixture.expectError("not in the training split", naming: "split.forget.ids") {
      _ = try Splits.make(Self.digits, config: cfg)
    }
    let bad = Splits(
      train: base.train, test: base.test + [base.train[0]], validation: base.validation, forget: base.forget)
    Fixture.expectError("in both train and test", naming: "splits") { try bad.validate(numExamples: 1797) }
  }

  @Test func splitsJSON_roundTripsAndDetectsTampering() throws {
    let s = try Splits.make(Self.digits, config: SplitConfig())
    let dir = TestSupport.temporaryDirectory("splits")
    let url = dir.appendingPathComponent("splits.json")
    try s.jsonData(numExamples: 1797, datasetSHA256: Self.digits.fileListSHA256, config: SplitConfig()).write(to: url)
    #expect(try Splits.read(url, numExamples: 1797) == s)
    // Move one forget id without updating its hash.
    var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    var splits = json["splits"] as! [String: Any]
    var forget = splits["forget"] as! [String: Any]
    var ids = forget["ids"] as! [Int]
    ids[0] = s.retain[0]
    forget["ids"] = ids
    splits["forget"] = forget
    json["splits"] = splits
    try JSONSerialization.data(withJSONObject: json).write(to: url)
    Fixture.expectError("sha256", naming: "splits.json") { _ = try Splits.read(url, numExamples: 1797) }
  }
}

@Suite struct ConfigTests {
  @Test func emptyConfig_isTheDigitsDefault() throws {
    #expect(try ExperimentSpec.load(yaml: "") == ExperimentSpec.digitsDefault)
  }

  /// Every key set away from its default: written, read back, equal. A key added to the schema
  /// without a change here fails the first expectation.
  @Test func resolvedYAML_roundTrips_withEveryKeyAwayFromItsDefault() throws {
    var spec = ExperimentSpec()
    spec.name = "every-key.v2"
    spec.seed = 7
    spec.dataset = DatasetSpec(path: "data/set", layout: .kaggle)
    spec.split = SplitConfig(
      seed: 3, testFraction: 0.25, validationFraction: 0.08, auditFraction: 0.12, stratified: false,
      forget: ForgetSpec(strategy: .ids, fraction: 0.2, className: "3", groups: ["a", "b c"], ids: [1, 2, 3]))
    spec.model = ModelSpec(architecture: .cnn, hidden: [32], channels: [4, 8])
    spec.training = TrainingConfig(
      epochs: 3, batchSize: 16, optimizer: .adam, learningRate: 0.125, momentum: 0.5, weightDecay: 0.001,
      schedule: .constant, classWeighting: .balanced)
    spec.evaluation = EvaluationSpec(
      models: 8, algorithms: ["finetune", "sisa"], workers: 1, timeBudget: 2.5, rounds: 2, referenceOriginals: 4)
    spec.evaluation.uliraShadows = 6
    spec.evaluation.originals = 2
    spec.algorithms = [
      "finetune": HyperParameters(["epochs": .int(2), "learning_rate": .double(0.5), "schedule": .string("constant")])
    ]
    // Each forget strategy's own key is written (and read) only with that strategy.
    var variants = [spec]
    for strategy in [ForgetStrategy.random, .class, .group] {
      var v = spec
      v.split.forget = ForgetSpec(strategy: strategy, fraction: 0.2, className: "3", groups: ["a", "b c"], ids: [])
      if strategy != .random { v.split.forget.fraction = ForgetSpec().fraction }
      if strategy != .class { v.split.forget.className = nil }
      if strategy != .group { v.split.forget.groups = [] }
      variants.append(v)
    }
    // The external model's keys are written (and read) only with model.kind: external.
    var external = spec
    external.model = .external(
      command: ["python3", "backend.py"], parameters: ["network": .string("resnet18"), "width": .int(2)],
      timeout: 60, passEnvironment: ["CUDA_VISIBLE_DEVICES"])
    external.split.forget = ForgetSpec(strategy: .ids, ids: [1, 2, 3])
    variants.append(external)
    let defaults = ExperimentSpec()
    for f in ExperimentSpec.fields {
      #expect(variants.contains { f.text($0) != f.text(defaults) }, "the test leaves \(f.path) at its default")
    }
    spec.split.forget = ForgetSpec(strategy: .ids, ids: [1, 2, 3])
    variants[0] = spec
    for v in variants { #expect(try ExperimentSpec.load(yaml: v.yaml) == v, "\(v.split.forget)") }
  }

  /// The documented example is the default configuration (plus its sample algorithm section),
  /// and the README shows it as it is.
  @Test func documentedExample_isTheDefault_andInTheReadme() throws {
    let example = try ExperimentSpec.load(yaml: ExperimentSpec.documentedExample)
    var expected = ExperimentSpec()
    expected.algorithms = ["finetune": HyperParameters(["epochs": .int(5), "learning_rate": .double(0.1)])]
    #expect(example == expected)
    for f in ExperimentSpec.fields { #expect(ExperimentSpec.documentedExample.contains(f.doc), "\(f.path)") }
    let readme = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
    #expect(
      readme.contains("```yaml\n" + ExperimentSpec.documentedExample + "```"),
      "run unlearn config and paste it into README.md")
  }

  @Test func trainingKeys_areOneTable_forTheExperimentAndTheAlgorithms() throws {
    let keys = TrainingConfig.fields.map(\.key)
    #expect(Set(TrainingConfig().configValues.keys) == Set(keys))
    #expect(ExperimentSpec.fields.filter { $0.path.hasPrefix("training.") }.map(\.key) == keys)
    let r = HyperParameters(["batch_size": .int(8), "optimizer": .string("adam")]).reader(algorithm: "a")
    let tc = try r.training(defaults: TrainingConfig(epochs: 2))
    #expect(tc.batchSize == 8 && tc.optimizer == .adam && tc.epochs == 2)
  }

  @Test func algorithmSections_areReadStrictlyByTheAlgorithm() throws {
    let spec = try ExperimentSpec.load(
      yaml: "algorithms:\n  finetune: {epochs: 2, learnin_rate: 0.1}\n", file: "c.yaml")
    let r = try #require(spec.algorithms["finetune"]).reader(algorithm: "finetune", file: "c.yaml")
    #expect(try r.training(defaults: TrainingConfig()).epochs == 2)
    Fixture.expectError("unknown key", naming: "c.yaml: algorithms.finetune.learnin_rate") { try r.finish() }
    Fixture.expectError("must be a mapping", naming: "algorithms.finetune") {
      _ = try ExperimentSpec.load(yaml: "algorithms:\n  finetune: 3\n", file: "c.yaml")
    }
    Fixture.expectError("in 2...", naming: "evaluation.models") {
      _ = try ExperimentSpec.load(yaml: "evaluation: {models: 1}\n", file: "c.yaml")
    }
  }

  @Test func unknownKeysAndBadValues_nameTheKey() {
    Fixture.expectError("unknown key", naming: "training.epoch") {
      _ = try ExperimentSpec.load(yaml: "training:\n  epoch: 3\n", file: "c.yaml")
    }
    Fixture.expectError("expected an integer", naming: "training.epochs") {
      _ = try ExperimentSpec.load(yaml: "training:\n  epochs: many\n", file: "c.yaml")
    }
    Fixture.expectError("must be one of", naming: "model.architecture") {
      _ = try ExperimentSpec.load(yaml: "model:\n  architecture: resnet\n", file: "c.yaml")
    }
    Fixture.expectError("momentum", naming: "c.yaml") {
      _ = try ExperimentSpec.load(yaml: "training:\n  momentum: 1.5\n", file: "c.yaml")
    }
  }
}

/// The default recipe's accuracy on everything held out from training (test ∪ audit, 448 digits;
/// measured: softmax 94.9 %, MLP 97.3 %), a little under it to leave room for BLAS rounding.
@Suite struct DigitsAccuracyTests {
  func heldOutAccuracy(_ model: ModelSpec) throws -> Double {
    var spec = ExperimentSpec()
    spec.dataset.path = TestSupport.digitsPath
    spec.model = model
    let e = try PreparedExperiment(spec: spec)
    let w = try e.trainOriginal()
    return try Network(weights: w).accuracy(e.examples(e.splits.test + e.splits.audit))
  }

  @Test func softmaxRegression_reaches94PercentOnDigits() throws {
    #expect(try heldOutAccuracy(ModelSpec(architecture: .softmax)) >= 0.94)
  }

  @Test func mlp_reaches96AndAHalfPercentOnDigits() throws {
    #expect(try heldOutAccuracy(ModelSpec(architecture: .mlp)) >= 0.965)
  }

  @Test func modelFiles_roundTripThroughSafetensors() throws {
    var spec = ExperimentSpec()
    spec.dataset.path = TestSupport.digitsPath
    spec.training.epochs = 1
    let e = try PreparedExperiment(spec: spec)
    let w = try e.trainOriginal()
    let dir = TestSupport.temporaryDirectory("model")
    try ModelFiles.save(w, to: dir)
    #expect(try ModelFiles.load(dir.appendingPathComponent("model.safetensors"), architecture: e.architecture) == w)
  }
}
