import Foundation
import NumericCore

/// The experiment's description in the run folder: configuration, identity, splits and
/// hyper-parameters, written by the runner and checked when a run resumes.
extension RunStore {
  /// Writes `config.yaml`, `identity.yaml` (refusing a folder of another experiment) and `splits.json`.
  public func describe(_ experiment: PreparedExperiment) throws {
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    try checkIdentity(experiment.spec)
    try checkDataset(experiment.dataset)
    try writeAtomically(Data(experiment.spec.yaml.utf8), to: file(Self.configFile))
    let splits = try experiment.splits.jsonData(
      numExamples: experiment.dataset.count, datasetSHA256: experiment.dataset.fileListSHA256,
      config: experiment.spec.split)
    try writeAtomically(splits, to: file(Self.splitsFile))
  }

  /// What the stored outputs depend on: the configuration without the evaluation section
  /// (but its number of rounds) and without the algorithms' hyper-parameters (kept per algorithm).
  public static func identity(_ spec: ExperimentSpec) -> String {
    var core = spec
    core.evaluation = EvaluationSpec(rounds: spec.evaluation.rounds, originals: spec.evaluation.originals)
    core.algorithms = [:]
    return "# Everything the stored outputs depend on; a run folder only resumes the same experiment.\n" + core.yaml
  }

  /// Refuses to mix outputs of different experiments in one folder.
  func checkIdentity(_ spec: ExperimentSpec) throws {
    let identity = Self.identity(spec)
    if let old = FileManager.default.contents(atPath: file(Self.identityFile).path) {
      guard String(decoding: old, as: UTF8.self) == identity else {
        throw HarnessError(
          root.path,
          "holds a run of a different experiment (see its identity.yaml); choose another --out folder or "
            + "delete this one"
        )
      }
    } else {
      try writeAtomically(Data(identity.utf8), to: file(Self.identityFile))
    }
  }

  /// Records the dataset's files and their hashes (`dataset.tsv`); refuses to resume on data that
  /// changed since (pixels, labels, files added or removed), saying which files changed.
  func checkDataset(_ dataset: Dataset) throws {
    let url = file(Self.datasetFile)
    let listing = dataset.contentListing
    guard let old = FileManager.default.contents(atPath: url.path) else {
      try writeAtomically(Data(listing.utf8), to: url)
      return
    }
    let before = String(decoding: old, as: UTF8.self)
    guard before != listing else { return }
    func rows(_ text: String) -> [String: (label: Substring, hash: Substring)] {
      var out = [String: (label: Substring, hash: Substring)]()
      for line in text.split(separator: "\n") {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false)
        if f.count == 3 { out[String(f[0])] = (f[1], f[2]) }
      }
      return out
    }
    let a = rows(before), b = rows(listing)
    var changes = [String]()
    for path in a.keys.sorted() {
      guard let now = b[path] else {
        changes.append("\(path) removed")
        continue
      }
      if now.label != a[path]!.label { changes.append("\(path) relabelled \(a[path]!.label) → \(now.label)") }
      if now.hash != a[path]!.hash { changes.append("\(path) content changed") }
    }
    for path in b.keys.sorted() where a[path] == nil { changes.append("\(path) added") }
    if changes.isEmpty { changes.append("the order of the files changed") }
    let shown = changes.prefix(5).joined(separator: "; ") + (changes.count > 5 ? "; and \(changes.count - 5) more" : "")
    throw HarnessError(
      dataset.root.path,
      "the dataset changed since this run started (\(shown)); models trained on both versions cannot be pooled: "
        + "restore the data, or choose another --out folder (the run's view of the data is in \(url.path))")
  }

  /// Records an algorithm's resolved hyper-parameters; refuses to resume one whose hyper-parameters changed.
  public func checkParameters(_ algorithm: any UnlearningAlgorithm) throws {
    let url = algorithmDirectory(algorithm.name).appendingPathComponent(Self.parametersFile)
    let data = try Self.json(algorithm.hyperParameters)
    if let old = FileManager.default.contents(atPath: url.path) {
      guard old == data else {
        throw HarnessError(
          url.path,
          "\(algorithm.name) ran here with other hyper-parameters; choose another --out folder, or delete "
            + "\(algorithmDirectory(algorithm.name).path) to recompute it")
      }
    } else {
      try writeAtomically(data, to: url)
    }
  }

  /// The run's resolved configuration (`config.yaml`).
  public func configuration() throws -> ExperimentSpec {
    let url = file(Self.configFile)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw HarnessError(url.path, "missing: is this a folder written by unlearn evaluate?")
    }
    return try ExperimentSpec.load(yaml: String(decoding: data, as: UTF8.self), file: url.path)
  }

  /// The scores of a finished run (`results.json`).
  public func results() throws -> EvaluationReport {
    let url = file(Self.resultsFile)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw HarnessError(url.path, "missing: is this a folder written by unlearn evaluate, and did it finish?")
    }
    let dec = JSONDecoder()
    dec.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    struct Header: Decodable {
      var schema: String?
      var schemaVersion: Int?
      enum CodingKeys: String, CodingKey {
        case schema
        case schemaVersion = "schema_version"
      }
    }
    guard let header = try? dec.decode(Header.self, from: data), header.schema == EvaluationReport.schema else {
      throw HarnessError(url.path, "is not the results of unlearn evaluate (no schema \(EvaluationReport.schema))")
    }
    guard let version = header.schemaVersion, version <= EvaluationReport.schemaVersion else {
      throw HarnessError(
        url.path,
        "was written with results schema version \(header.schemaVersion.map(String.init) ?? "?"), newer than this "
          + "unlearn reads (\(EvaluationReport.schemaVersion)); use the unlearn that wrote it")
    }
    let report: EvaluationReport
    do { report = try dec.decode(EvaluationReport.self, from: data) } catch {
      throw HarnessError(url.path, "unreadable results (\(error))")
    }
    return report
  }

  /// SHA-256 of the original weights (an external model: of its checkpoint, ``checkpointSHA256(_:)``).
  public func originalWeightsSHA256() throws -> String {
    let checkpoint = checkpointDirectory(originalDirectory())
    if FileManager.default.fileExists(atPath: checkpoint.path) { return try checkpointSHA256(checkpoint) }
    return try SHA256.hex(fileAt: originalDirectory().appendingPathComponent("model.safetensors"))
  }
}
