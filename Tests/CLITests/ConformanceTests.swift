import Foundation
import Harness
import Networks
import NumericCore
import TestSupport
import Testing

@testable import UnlearnCLI

/// The conformance suite: every registered algorithm, with its default
/// hyper-parameters, on a small digits experiment (MLP 64-16-10).
///
/// The request carries only the forget, retain and validation data (and an
/// algorithm-owned original trained on the training split), so no algorithm can
/// read the test split: that holds by construction of ``UnlearningRequest``.
enum Conformance {
  static let experiment = TestSupport.smallDigitsExperiment(epochs: 4)
  static let original: ModelWeights = try! experiment.trainOriginal()

  static func request(_ algorithm: any UnlearningAlgorithm, seed: UInt64, budget: Double? = nil) throws
    -> UnlearningRequest
  {
    let e = experiment, s = e.splits
    let own = try algorithm.trainOriginal(
      OriginalTrainingRequest(
        architecture: e.architecture, train: e.examples(s.train), trainIDs: s.train, training: e.spec.training, seed: 9)
    )
    return UnlearningRequest(
      original: original, forget: e.examples(s.forget), retain: e.examples(s.retain),
      validation: e.examples(s.validation),
      forgetIDs: s.forget, retainIDs: s.retain, training: e.spec.training, seed: seed, timeBudget: budget, own: own)
  }

  static var algorithms: [any UnlearningAlgorithm] {
    Registry.algorithms.map { try! $0.make(HyperParameters().reader(algorithm: $0.name), experiment.spec) }
  }
}

@Suite struct ConformanceTests {
  @Test(arguments: Registry.algorithmNames)
  func returnsAFiniteModelOfTheSameArchitecture_deterministically_withoutTouchingTheOriginal(_ name: String) throws {
    let algo = try #require(Conformance.algorithms.first { $0.name == name })
    let req = try Conformance.request(algo, seed: 1)
    let before = req.original
    let a = try algo.unlearn(req)
    #expect(
      a.members.allSatisfy { $0.architecture == before.architecture && $0.parameters.count == before.parameters.count })
    #expect(a.allFinite)
    #expect(req.original == before && Conformance.original == before)
    #expect(try algo.unlearn(req) == a, "\(name) is not deterministic for a seed")
    #expect(a.members != [before], "\(name) returned the original unchanged")
    let x = Conformance.experiment.examples(Array(Conformance.experiment.splits.validation.prefix(16))).features
    #expect(try a.logits(x).scalars.allSatisfy(\.isFinite))
    // Hyper-parameters are reported, and the resolved ones read back to the same algorithm.
    let params = HyperParameters(algo.hyperParameters)
    let again = try Registry.algorithm(
      name,
      spec: {
        var s = Conformance.experiment.spec
        s.algorithms[name] = params
        return s
      }(), file: "t")
    #expect(HyperParameters(again.hyperParameters) == params)
  }

  @Test(arguments: Registry.algorithmNames)
  func respectsItsTimeBudget(_ name: String) throws {
    let algo = try #require(Conformance.algorithms.first { $0.name == name })
    let req = try Conformance.request(algo, seed: 2, budget: 0.0005)
    let start = Date()
    do {
      let m = try algo.unlearn(req)
      #expect(algo.kind == .approximate, "\(name) is exact but returned a model past its budget")
      #expect(m.allFinite)
    } catch NetworkError.deadlineExceeded {
      #expect(algo.kind == .exact, "\(name) is approximate: it should stop and return its model")
    }
    #expect(
      Date().timeIntervalSince(start) < 1.0, "\(name) ran \(Date().timeIntervalSince(start)) s on a 0.5 ms budget")
  }
}
