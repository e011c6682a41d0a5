import Foundation
import Harness
import Networks
import NumericCore
import Testing
import TestSupport

@testable import Baselines

/// A small digits experiment (MLP 64-16-10, 5 epochs) with its original model, trained once.
enum Small {
  static let experiment: PreparedExperiment = {
    var spec = ExperimentSpec()
    spec.dataset.path = TestSupport.digitsPath
    spec.model = ModelSpec(architecture: .mlp, hidden: [16])
    spec.training.epochs = 5
    return try! PreparedExperiment(spec: spec)
  }()
  static let original: ModelWeights = try! experiment.trainOriginal()

  static func request(seed: UInt64, forget: LabeledExamples? = nil) -> UnlearningRequest {
    let e = experiment
    return UnlearningRequest(
      original: original, forget: forget ?? e.examples(e.splits.forget), retain: e.examples(e.splits.retain),
      validation: e.examples(e.splits.validation), training: e.spec.training, seed: seed)
  }

  static func loss(_ w: ModelWeights, _ split: [Int]) throws -> Double {
    try Network(weights: w).loss(experiment.examples(split))
  }
}

@Suite struct BaselineConformanceTests {
  static let algorithms: [any UnlearningAlgorithm] = [Retrain(), Finetune(), GradientAscent()]

  @Test(arguments: 0..<3)
  func returnsAFiniteModelOfTheSameArchitecture_deterministically(_ k: Int) throws {
    let a = Self.algorithms[k]
    let w1 = try a.unlearn(Small.request(seed: 1))
    #expect(w1.architecture == Small.original.architecture)
    #expect(w1.parameters.count == Small.original.parameters.count && w1.allFinite)
    #expect(try a.unlearn(Small.request(seed: 1)) == w1, "\(a.name) is not deterministic for a seed")
    #expect(try a.unlearn(Small.request(seed: 2)) != w1, "\(a.name) ignores its seed")
    #expect(w1 != Small.original)
  }

  @Test func retrain_neverLooksAtTheForgetSet() throws {
    let garbage = Small.experiment.examples(Array(Small.experiment.splits.test.prefix(7)))
    #expect(try Retrain().unlearn(Small.request(seed: 3)) == (try Retrain().unlearn(Small.request(seed: 3, forget: garbage))))
  }

  @Test func finetune_neverLooksAtTheForgetSet() throws {
    let garbage = Small.experiment.examples(Array(Small.experiment.splits.test.prefix(7)))
    #expect(try Finetune().unlearn(Small.request(seed: 3)) == (try Finetune().unlearn(Small.request(seed: 3, forget: garbage))))
  }

  @Test func gradientAscent_raisesTheForgetLoss() throws {
    let w = try GradientAscent().unlearn(Small.request(seed: 4))
    let forget = Small.experiment.splits.forget
    #expect(try Small.loss(w, forget) > Small.loss(Small.original, forget) + 0.01)
  }

  @Test func finetune_lowersTheRetainLossOfAFreshModel() throws {
    // From a barely trained start, fine-tuning on retain must fit retain better.
    var req = Small.request(seed: 5)
    let net = try Network(architecture: Small.original.architecture)
    net.initialize(seed: 9)
    req.original = net.weights
    let w = try Finetune().unlearn(req)
    let retain = Small.experiment.splits.retain
    #expect(try Small.loss(w, retain) < Small.loss(req.original, retain) - 0.5)
  }

  @Test func hyperParameters_readFromTheConfigWithDefaults() throws {
    let spec = try ExperimentSpec.load(yaml: "algorithms:\n  finetune: {epochs: 2}\n  retrain: {learning_rate: 0.01}\n", file: "c.yaml")
    let f = try Finetune(parameters: spec.algorithms["finetune"]!.reader(algorithm: "finetune"))
    #expect(f.training.epochs == 2 && f.training.learningRate == Finetune.defaults.learningRate)
    let r = try Retrain(parameters: spec.algorithms["retrain"]!.reader(algorithm: "retrain"), experimentTraining: spec.training)
    #expect(r.training?.learningRate == 0.01 && r.training?.epochs == spec.training.epochs)
    #expect(f.hyperParameters["learning_rate"] == .double(0.1))
  }
}
