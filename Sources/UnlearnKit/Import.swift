import Foundation
import Harness
import Networks
import NumericCore

extension Evaluation {
  /// What ``importRun(_:from:options:)`` stored.
  public struct Imported: Sendable {
    /// Models imported per population (`original`, `retrain`, …).
    public var models: [String: Int]
  }

  /// Turns logits computed elsewhere into a run folder that `evaluate`, `merge` and
  /// `leaderboard` use as if the harness had trained the models (`unlearn import`).
  ///
  /// The folder is prepared as `evaluate` would (configuration, identity, `splits.json`,
  /// labels, the dataset for external commands); without `from`, that is all, so that the
  /// splits' ids can be read from `splits.json` before the logits are computed. `from` holds:
  /// ```
  /// ids/<split>.npy                  int64 dataset ids of the rows, for forget, retain, test, validation, audit
  /// original/<split>.npy             float32 or float64 logits [rows, classes] of the original
  /// original/checkpoint/             optional: its checkpoint, for external algorithms to unlearn from
  /// <population>/<index>/<split>.npy retrain, original-seeds or an algorithm of evaluation.algorithms
  /// <population>/<index>/checkpoint/ optional
  /// ```
  /// Every split's ids must be the configuration's split (in any order: rows are put in the
  /// harness's order); every array is checked (shape, type, finite) before anything is written.
  /// Imported jobs have a record without wall times. One deletion round and one original only.
  public static func importRun(_ spec: ExperimentSpec, from: URL?, options: EvaluationOptions) throws -> Imported {
    guard spec.model.kind == .external else {
      throw HarnessError(
        "\(options.file): model.kind",
        "imported models are external: set model.kind: external (with the command that trains more, if any)")
    }
    guard spec.evaluation.rounds == 1, spec.evaluation.originals == 1 else {
      throw HarnessError(
        "\(options.file): evaluation", "import takes one deletion round and one original (rounds: 1, originals: 1)")
    }
    let lock = try RunLock(options.out)
    defer { withExtendedLifetime(lock) {} }
    let runner = try self.runner(spec, options)
    let experiment = runner.experiment, store = runner.store
    try store.describe(experiment)
    let examples = experiment.examples(try experiment.deletionRounds(1)[0])
    try store.writeLabels(examples.map(\.labels), round: 0)
    _ = try store.writeExternalData(experiment)
    guard let from else { return Imported(models: [:]) }
    if try store.originalRecord() != nil {
      throw HarnessError(store.originalDirectory().path, "already holds an original; import into a new --out folder")
    }
    let s = experiment.splits
    let expected = PerSplit(
      forget: s.forget, retain: s.retain, test: s.test, validation: s.validation, audit: s.audit)
    // Row r of the imported arrays of split p goes to position order[p][r] of the harness's rows.
    let order = try PerSplit { split -> [Int] in
      let url = from.appendingPathComponent("ids/\(split).npy")
      guard let ids = try NPYArray.read(url, limit: 8 * experiment.dataset.count + 65_536).integers else {
        throw HarnessError(url.path, "ids must be integers")
      }
      return try Self.rowOrder(ids, expected: expected[split], file: url.path, split: split)
    }
    var planned = [(role: Role, index: Int, folder: URL)]()
    planned.append((.original, 0, from.appendingPathComponent("original")))
    let known = runner.algorithms.map(\.name)
    let fm = FileManager.default
    for name in try fm.contentsOfDirectory(atPath: from.path).sorted() where !["ids", "original"].contains(name) {
      guard !name.hasPrefix(".") else { continue }
      try PathName.check(name, field: "\(from.path)/\(name)")
      guard known.contains(name) else {
        throw HarnessError(
          from.appendingPathComponent(name).path,
          "is not a population of this configuration (\(known.joined(separator: ", "))); add it to "
            + "evaluation.algorithms with kind: external, or remove the folder")
      }
      for entry in try fm.contentsOfDirectory(atPath: from.appendingPathComponent(name).path).sorted() {
        guard let index = Int(entry), index >= 0, entry.allSatisfy(\.isNumber), entry.count <= 9 else {
          throw HarnessError(
            from.appendingPathComponent("\(name)/\(entry)").path, "expected model folders named 0000, 0001, …")
        }
        planned.append((Role(algorithm: name), index, from.appendingPathComponent("\(name)/\(entry)")))
      }
    }
    // Check everything before writing anything.
    var logits = [PerSplit<Tensor?>]()
    for p in planned {
      logits.append(
        try PerSplit { split -> Tensor? in
          try Self.readLogits(
            p.folder.appendingPathComponent("\(split).npy"), order: order[split], classes: experiment.dataset.numClasses
          )
        })
      let checkpoint = p.folder.appendingPathComponent("checkpoint")
      if fm.fileExists(atPath: checkpoint.path) { try ExternalModelCall.checkCheckpoint(checkpoint) }
    }
    var counts = [String: Int]()
    for (p, z) in zip(planned, logits) {
      let directory = store.outputsDirectory(p.role, index: p.index)
      try store.writeLogits(z, in: directory)
      let checkpoint = p.folder.appendingPathComponent("checkpoint")
      if fm.fileExists(atPath: checkpoint.path) {
        try? fm.removeItem(at: store.checkpointDirectory(directory))
        try fm.copyItem(at: checkpoint, to: store.checkpointDirectory(directory))
      }
      var record = JobRecord(algorithm: p.role.name, index: p.index, seed: 0, seconds: [])
      record.imported = true
      if p.role == .original {
        try store.writeOriginalRecord(record)
      } else {
        try store.writeRecord(record, for: JobID(algorithm: p.role.jobName ?? p.role.name, index: p.index))
      }
      counts[p.role.name, default: 0] += 1
    }
    return Imported(models: counts)
  }

  /// Where each imported row goes: `ids` must be `expected` (sorted) in some order.
  static func rowOrder(_ ids: [Int], expected: [Int], file: String, split: Split) throws -> [Int] {
    var position = [Int: Int](minimumCapacity: expected.count)
    for (i, id) in expected.enumerated() { position[id] = i }
    var seen = Set<Int>()
    let order = try ids.map { id -> Int in
      guard let p = position[id] else {
        throw HarnessError(
          file,
          "id \(id) is not in the configuration's \(split) split (\(expected.count) ids, listed in splits.json of "
            + "the run folder); compute the logits on those ids")
      }
      guard seen.insert(id).inserted else { throw HarnessError(file, "id \(id) appears twice") }
      return p
    }
    guard order.count == expected.count else {
      throw HarnessError(
        file,
        "has \(ids.count) ids, but the configuration's \(split) split has \(expected.count) (listed in splits.json)")
    }
    return order
  }

  /// A checked logits file, its rows put in the harness's order; nil when absent and not needed.
  static func readLogits(_ url: URL, order: [Int], classes: Int) throws -> Tensor {
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw HarnessError(url.path, "missing: every model needs the logits of every split")
    }
    let a = try NPYArray.read(url, limit: order.count * classes * 8 + 65_536)
    let values: [Float]
    do { values = try a.logitValues(rows: order.count, classes: classes) } catch {
      switch error {
      case .shape:
        throw HarnessError(url.path, "has shape \(a.shape), expected [\(order.count), \(classes)] (rows, classes)")
      case .type: throw HarnessError(url.path, "is \(a.dtype); logits are float32 or float64")
      case .nonFinite(let row): throw HarnessError(url.path, "is not finite (NaN or infinity) in row \(row)")
      }
    }
    var out = [Float](repeating: 0, count: values.count)
    for (r, p) in order.enumerated() {
      out[(p * classes)..<((p + 1) * classes)] = values[(r * classes)..<((r + 1) * classes)]
    }
    return Tensor(shape: [order.count, classes], scalars: out)
  }
}
