import Foundation
import Harness
import Networks
import NumericCore
import TestSupport
import Testing

@testable import Baselines
@testable import UnlearnKit

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

  /// Out-of-range hyper-parameters, per algorithm, as written in a configuration.
  static let invalid: [String: [(String, ConfigValue)]] = [
    "retrain": [("epochs", .int(-1)), ("learning_rate", .double(-1))],
    "sisa": [("shards", .int(0)), ("aggregation", .string("single")), ("momentum", .double(1))],
    "finetune": [("learning_rate", .double(-0.1)), ("batch_size", .int(0))],
    "gradient-ascent": [("momentum", .double(1.5))],
    "neggrad-plus": [("beta", .double(1.5)), ("beta", .double(-0.1))],
    "random-labels": [("weight_decay", .double(-1))],
    "l1-sparse": [("gamma", .double(-1))],
    "influence": [
      ("damping", .double(-1)), ("noise", .double(-1)), ("solver", .string("magic")), ("cg_iterations", .int(0)),
    ],
    "fisher": [("alpha", .double(-1))],
    "ssd": [("alpha", .double(0)), ("lambda", .double(-1)), ("batch_size", .int(0))],
    "scrub": [("alpha", .double(-1)), ("max_steps", .int(-1))],
    "bad-teacher": [("retain_fraction", .double(0)), ("retain_fraction", .double(1.5))],
    "salun": [("mask_ratio", .double(2)), ("mask_ratio", .double(0))],
  ]

  /// Algorithms constructed directly with out-of-range values: errors, never traps.
  static let invalidlyConstructed: [any UnlearningAlgorithm] = [
    SalUn(maskRatio: 2), SISA(shards: 0), BadTeacher(retainFraction: 0), NegGradPlus(beta: 2),
    InfluenceRemoval(damping: -1), SSD(alpha: 0), SCRUB(alpha: 0, gamma: 0), FisherForgetting(alpha: -1),
    L1Sparse(gamma: -1), Finetune(training: TrainingConfig(learningRate: -1)), SISA(aggregation: .single),
  ]

  static var algorithms: [any UnlearningAlgorithm] {
    Registry.algorithms.map { try! $0.make(HyperParameters().reader(algorithm: $0.name), experiment.spec) }
  }
}

extension AlgorithmConformanceTests {
  /// Out-of-range hyper-parameters are an error naming the key, before any job runs, however the
  /// algorithm was constructed (from the configuration, or directly).
  @Test(arguments: Registry.algorithmNames)
  func invalidHyperParameters_areAnErrorNotATrap(_ name: String) throws {
    let algo = try #require(Conformance.algorithms.first { $0.name == name })
    try algo.validate()
    for (key, bad) in Conformance.invalid[name] ?? [] {
      var spec = Conformance.experiment.spec
      spec.algorithms[name] = HyperParameters([key: bad])
      #expect(throws: HarnessError.self, "\(name).\(key) = \(bad)") {
        try Registry.algorithm(name, spec: spec, file: "t")
      }
    }
    #expect(Conformance.invalid[name] != nil, "give \(name) some out-of-range hyper-parameters to test")
  }

  @Test func directlyConstructedWithBadValues_isAnError() throws {
    for algo in Conformance.invalidlyConstructed {
      #expect(throws: HarnessError.self, "\(algo.name)") { try algo.validate() }
      let request = try Conformance.request(SISA(shards: 1, slices: 1), seed: 3)
      #expect(throws: (any Error).self, "\(algo.name)") { try algo.unlearn(request) }
    }
  }
}

@Suite struct AlgorithmConformanceTests {
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

/// Each algorithm's doc comment states its defaults in one `Defaults:` paragraph
/// (`` `key` value, … ``); they must be the code's.
@Suite struct DocumentedDefaultsTests {
  /// The `Defaults:` paragraph of a doc comment, as (key, value text) pairs, and whether it
  /// says the training keys come from the experiment.
  static func documented(in source: String) -> (pairs: [(String, String)], experimentRecipe: Bool)? {
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let start = lines.firstIndex(where: { $0.hasPrefix("/// Defaults:") }) else { return nil }
    var text = ""
    for line in lines[start...] {
      guard line.hasPrefix("///"), line != "///" else { break }
      text += " " + line.dropFirst(3).trimmingCharacters(in: .whitespaces)
    }
    let regex = /`([a-z_0-9]+)` ([^,;`(]+)/
    let pairs = text.matches(of: regex).map {
      (String($0.1), $0.2.trimmingCharacters(in: .whitespaces.union(.init(charactersIn: "."))))
    }
    return (pairs, text.contains("experiment's recipe"))
  }

  static func matches(_ documented: String, _ value: ConfigValue) -> Bool {
    switch value {
    case .int(let i): Double(documented) == Double(i)
    case .double(let d): Double(documented).map { abs($0 - d) <= 1e-12 * max(1, abs(d)) } ?? false
    case .string(let s): documented == s
    case .bool(let b): documented == (b ? "true" : "false")
    case .list: false
    }
  }

  @Test(arguments: Registry.algorithmNames)
  func theDocumentedDefaults_areTheCodes(_ name: String) throws {
    let algo = try #require(Conformance.algorithms.first { $0.name == name })
    let file = TestSupport.repositoryRoot.appendingPathComponent("Sources/Baselines/\(type(of: algo)).swift")
    let source = try String(contentsOf: file, encoding: .utf8)
    let doc = try #require(Self.documented(in: source), "\(file.lastPathComponent) has no Defaults: paragraph")
    let recipeKeys = Set(TrainingConfig.fields.map(\.key))
    for (key, text) in doc.pairs where !text.hasPrefix("the experiment") {
      let value = try #require(algo.hyperParameters[key], "\(name): documents \(key), which it does not have")
      #expect(Self.matches(text, value), "\(name).\(key): documented \(text), the code \(value)")
    }
    let documentedKeys = Set(doc.pairs.map(\.0))
    for key in algo.hyperParameters.keys where !(doc.experimentRecipe && recipeKeys.contains(key)) {
      #expect(documentedKeys.contains(key), "\(name): the doc comment does not state the default of \(key)")
    }
  }
}
