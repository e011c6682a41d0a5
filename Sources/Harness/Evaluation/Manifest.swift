import Foundation
import NumericCore

/// `manifest.json`: the provenance of a run. The resolved configuration, the tool
/// version, the SHA-256 of the dataset's file list, of every split, of the
/// original weights and of every deterministic output file (logits, weights,
/// labels, splits). Wall times (`job.json`) and the reports that print them are
/// listed without hashes: they are the only files a replay is not expected to
/// reproduce.
public struct RunManifest: Codable, Sendable {
  public static let schema = "unlearn.manifest"
  public var schema = RunManifest.schema
  public var schemaVersion = 1
  public var toolVersion: String
  /// The resolved configuration (YAML), enough to replay the run.
  public var config: String
  public var datasetFileListSHA256: String?
  /// SHA-256 of the dataset's content (every file's bytes, path and label).
  public var datasetSHA256: String?
  public var splits: [String: String]
  public var originalWeightsSHA256: String
  /// SHA-256 of every deterministic output, by path relative to the run folder.
  public var files: [String: String]
  /// Files with wall times, not expected to replay byte for byte.
  public var timingFiles: [String]

  enum CodingKeys: String, CodingKey {
    case schema
    case schemaVersion = "schema_version"
    case toolVersion = "tool_version"
    case config
    case datasetFileListSHA256 = "dataset_file_list_sha256"
    case datasetSHA256 = "dataset_sha256"
    case splits
    case originalWeightsSHA256 = "original_weights_sha256"
    case files
    case timingFiles = "timing_files"
  }

  /// Hashes the deterministic outputs of the run in `store` (``RunStore/isDeterministic(_:)``);
  /// the others are listed as timing files.
  public static func make(store: RunStore, experiment: PreparedExperiment, toolVersion: String, workers: Int) throws
    -> RunManifest
  {
    let files = profiled("manifest-list") { store.files().filter { $0 != RunStore.manifestFile } }
    let paths = files.filter(RunStore.isDeterministic)
    let root = store.root
    let hashes = try profiled("manifest-hash") {
      // The outputs the store loaded were hashed as they were read; the rest are read here.
      try WorkerPool.map(count: paths.count, workers: workers) { i in
        let url = root.appendingPathComponent(paths[i])
        return try store.digests.hex(url) ?? SHA256.hex(fileAt: url)
      }
    }
    let splits = Dictionary(uniqueKeysWithValues: experiment.splits.named.map { ($0.name, Splits.sha256($0.ids)) })
    return RunManifest(
      toolVersion: toolVersion, config: experiment.spec.yaml, datasetFileListSHA256: experiment.dataset.fileListSHA256,
      datasetSHA256: experiment.dataset.contentSHA256,
      splits: splits, originalWeightsSHA256: try store.originalWeightsSHA256(),
      files: Dictionary(uniqueKeysWithValues: zip(paths, hashes)),
      timingFiles: files.filter { !RunStore.isDeterministic($0) })
  }

  public func json() throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try enc.encode(self)
  }

  public static func read(_ url: URL) throws -> RunManifest {
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw HarnessError(url.path, "missing: is this a run folder written by unlearn evaluate (0.1.0 or later)?")
    }
    do { return try JSONDecoder().decode(RunManifest.self, from: data) } catch {
      throw HarnessError(url.path, "unreadable manifest (\(error))")
    }
  }

  /// Per file: identical, different or missing in `other` (and extra files of `other`).
  public func compare(with other: RunManifest) -> [(file: String, status: String)] {
    var out = [(String, String)]()
    for (f, h) in files.sorted(by: { $0.key < $1.key }) {
      guard let o = other.files[f] else {
        out.append((f, "missing"))
        continue
      }
      out.append((f, o == h ? "identical" : "different"))
    }
    for f in other.files.keys.sorted() where files[f] == nil { out.append((f, "extra")) }
    return out
  }
}
