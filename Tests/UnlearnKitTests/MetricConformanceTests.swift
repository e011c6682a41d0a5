import Foundation
import NumericCore
import TestSupport
import Testing

@testable import Harness
@testable import UnlearnKit

/// The metric conformance suite, run for every registered metric on populations loaded
/// from real runs (one round with U-LiRA shadows; three deletion rounds), given exactly
/// the inputs the metric declares:
/// - every column of every row gets a value or a stated reason for "—", never a crash;
/// - nothing it reads is missing from its declaration (no "not loaded" note);
/// - the same input gives the same values (deterministic);
/// - N = 2 models a side, and models whose outputs are constant, are handled;
/// - every column names a direction, a header and a description, and column names are unique.
enum MetricFixture {
  struct Loaded {
    var rounds: [[Population]]
    var labels: [PerSplit<[Int32]?>]
    var seed: UInt64
  }

  /// Every population of a run, with everything loaded.
  static func load(_ dir: URL) throws -> Loaded {
    let store = try RunStore.open(dir)
    let report = try store.results(), spec = try store.configuration()
    let entries = report.rows(round: 1).map {
      PopulationEntry(role: $0.role, kind: $0.kind, requested: $0.requested ?? $0.models)
    }
    let plans = Registry.metrics.compactMap(\.shadowRuns).map { plan in
      var counts = [String: Int]()
      for e in entries {
        if let k = e.kind, let a = e.role.jobName { counts[a] = plan.count(algorithm: a, kind: k, spec: spec) }
      }
      return LoadRequest.ShadowLoad(plan: plan.name, splits: plan.splits, counts: counts)
    }
    let request = LoadRequest(splits: Set(Split.allCases), shadows: plans)
    return Loaded(
      rounds: try (0..<store.rounds).map { try store.populations(entries, round: $0, request: request) },
      labels: try (0..<store.rounds).map { try store.labels(round: $0) }, seed: spec.seed)
  }

  static let single = try! load(Runs.single.0)
  static let sequential = try! load(Runs.sequential.0)

  /// The first `n` models of every population (all of a single original).
  static func first(_ n: Int, _ l: Loaded) -> Loaded {
    var out = l
    out.rounds = l.rounds.map { $0.map { p in p.slice(0..<Swift.min(n, p.models.count)) } }
    return out
  }

  /// Every model's logits replaced by zeros (a model with constant outputs).
  static func constant(_ l: Loaded) -> Loaded {
    var out = l
    out.rounds = l.rounds.map {
      $0.map { p in
        var q = p
        q.models = p.models.map { m in ModelOutputs(logits: m.logits.map { $0.map { Tensor(zeros: $0.shape) } }) }
        q.shadowRuns = p.shadowRuns.mapValues { runs in
          runs.map { m in ModelOutputs(logits: m.logits.map { $0.map { Tensor(zeros: $0.shape) } }) }
        }
        return q
      }
    }
    return out
  }

  static func score(_ metric: any Metric, _ l: Loaded) throws -> [[[String: MetricValue]]] {
    try Scorer(metrics: [metric], workers: 2, experimentSeed: l.seed).score(l.rounds, labels: l.labels)
  }

  static func metricNames() -> [String] { Registry.metrics.map { "\(type(of: $0))" } }

  static func metric(_ name: String) -> any Metric {
    Registry.metrics.first { "\(type(of: $0))" == name }!
  }
}

@Suite(.serialized) struct MetricConformanceTests {
  /// Every column of every row has a finite value or a reason, and no declared input was missing.
  static func expectComplete(_ metric: any Metric, _ values: [[[String: MetricValue]]], _ what: String) {
    for (r, round) in values.enumerated() {
      for (p, row) in round.enumerated() {
        for c in metric.columns {
          let v = row[c.name]
          let ok = (v?.mean.map { !$0.isNaN } ?? false) || (v?.mean == nil && v?.note?.isEmpty == false)
          #expect(ok, "\(what): \(c.name), round \(r + 1), population \(p): \(String(describing: v))")
          #expect(
            v?.note?.contains("not loaded") != true, "\(c.name) reads an input it does not declare: \(v?.note ?? "")")
        }
      }
    }
  }

  @Test(arguments: MetricFixture.metricNames())
  func givesAValueOrAReason_deterministically(_ name: String) throws {
    let metric = MetricFixture.metric(name)
    for (label, fixture) in [("one round", MetricFixture.single), ("three rounds", MetricFixture.sequential)] {
      let a = try MetricFixture.score(metric, fixture)
      Self.expectComplete(metric, a, "\(name), \(label)")
      #expect(try MetricFixture.score(metric, fixture) == a, "\(name) is not deterministic (\(label))")
    }
  }

  @Test(arguments: MetricFixture.metricNames())
  func handlesTwoModels_andConstantOutputs(_ name: String) throws {
    let metric = MetricFixture.metric(name)
    let two = MetricFixture.first(2, MetricFixture.single)
    Self.expectComplete(metric, try MetricFixture.score(metric, two), "\(name), N = 2")
    let flat = MetricFixture.constant(MetricFixture.single)
    Self.expectComplete(metric, try MetricFixture.score(metric, flat), "\(name), constant outputs")
  }

  @Test func everyColumn_isDescribed_andNamedOnce() {
    let columns = Registry.metrics.flatMap(\.columns)
    #expect(Set(columns.map(\.name)).count == columns.count)
    for c in columns {
      #expect(!c.header.isEmpty && c.description.count > 20, "\(c.name)")
      #expect(c.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "." }, "\(c.name)")
    }
    // Metrics with shadow runs declare them.
    for m in Registry.metrics where m.shadowRuns != nil { #expect(m.inputs.shadowRuns, "\(type(of: m))") }
  }
}
