import Foundation
import Networks
import NumericCore
import TestSupport
import Testing

@testable import Harness

/// A metric that reads only what it declares: the mean of one split's logits.
struct MeanLogit: Metric {
  var split: Split
  var declared: MetricInputs

  var columns: [MetricColumn] {
    [MetricColumn(name: "mean_logit", header: "mean logit", direction: .lowerIsBetter, description: "Test metric.")]
  }

  var inputs: MetricInputs { declared }

  func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
    let means = try input.population.models.map { m in
      let z = try m.logits(split)
      return Double(z.scalars.reduce(0, +)) / Double(z.count)
    }
    return ["mean_logit": MetricValue(summarising: means)]
  }
}

@Suite struct ScorerTests {
  static func population(_ role: Role, values: [Float]) -> Population {
    Population(
      role: role, kind: role == .original ? nil : .exact,
      models: values.map { v in ModelOutputs(PerSplit { _ in Tensor(shape: [2, 2], scalars: [v, v, v, v]) }) })
  }

  static let labels = PerSplit<[Int32]?> { _ in [0, 1] }

  @Test func aMetricGetsExactlyWhatItDeclares() throws {
    let rounds = [[Self.population(.retrain, values: [1, 3]), Self.population(.algorithm("a"), values: [2, 4])]]
    let declared = Scorer(metrics: [MeanLogit(split: .test, declared: .logits(.test))])
    let values = try declared.score(rounds, labels: [Self.labels])
    #expect(values[0][1]["mean_logit"]?.mean == 3)
    // Reading a split it did not declare is an error in its cell, not another split's numbers.
    let undeclared = Scorer(metrics: [MeanLogit(split: .test, declared: .logits(.forget))])
    let v = try undeclared.score(rounds, labels: [Self.labels])[0][1]["mean_logit"]
    #expect(v?.mean == nil && v?.note?.contains("not loaded") == true, "\(String(describing: v))")
  }

  @Test func emptyPopulations_andMissingColumns_getAReason() throws {
    struct Partial: Metric {
      var columns: [MetricColumn] {
        ["a", "b"].map { MetricColumn(name: $0, header: $0, direction: .higherIsBetter, description: $0) }
      }
      var inputs: MetricInputs { MetricInputs() }
      func evaluate(_ input: MetricInput) throws -> [String: MetricValue] { ["a": MetricValue(mean: 1)] }
    }
    let rounds = [[Self.population(.retrain, values: [1, 3]), Self.population(.algorithm("a"), values: [])]]
    let values = try Scorer(metrics: [Partial()]).score(rounds, labels: [Self.labels])
    #expect(values[0][0]["a"]?.mean == 1 && values[0][0]["b"]?.note == "not computed")
    #expect(values[0][1]["a"]?.note == "no model finished")
  }

  @Test func withoutTheReference_scoringSaysSo() {
    #expect(throws: HarnessError.self) {
      try Scorer(metrics: []).score([[Self.population(.algorithm("a"), values: [1])]], labels: [Self.labels])
    }
  }

  @Test func acrossRounds_theMetricSeesEveryRound() throws {
    struct Rounds: Metric {
      var columns: [MetricColumn] {
        [MetricColumn(name: "rounds", header: "rounds", direction: .higherIsBetter, description: "rounds seen")]
      }
      var inputs: MetricInputs { .allRounds }
      func evaluate(_ input: MetricInput) throws -> [String: MetricValue] {
        ["rounds": MetricValue(mean: Double(input.rounds.count))]
      }
    }
    let round = [Self.population(.retrain, values: [1, 3]), Self.population(.algorithm("a"), values: [2])]
    let values = try Scorer(metrics: [Rounds()]).score(
      [round, round, round], labels: Array(repeating: Self.labels, count: 3))
    #expect(values.allSatisfy { $0.allSatisfy { $0["rounds"]?.mean == 3 } })
  }
}
