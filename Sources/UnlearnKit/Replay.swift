import Foundation
import Harness
import NumericCore

extension Evaluation {
  /// One file of a replay, and how it compares.
  public struct ReplayedFile: Sendable {
    public var file: String
    /// identical, different, missing, extra, or why the run's stored file no longer matches its manifest.
    public var status: String
  }

  /// Re-executes the run in `run` from its `manifest.json` into `options.out` (which must not
  /// exist), then compares every deterministic output of the replay with the run's manifest,
  /// and the run's stored files with its own manifest (nothing edited after the fact).
  public static func replay(_ run: URL, _ options: EvaluationOptions) throws -> [ReplayedFile] {
    let manifestURL = run.appendingPathComponent(RunStore.manifestFile)
    let manifest = try RunManifest.read(manifestURL)
    guard !FileManager.default.fileExists(atPath: options.out.path) else {
      throw HarnessError(options.out.path, "already exists; a replay needs a fresh folder (delete it or pass --out)")
    }
    let spec = try ExperimentSpec.load(yaml: manifest.config, file: manifestURL.path)
    var o = options
    o.file = manifestURL.path
    try Self.run(spec, o)
    let replay = try RunManifest.read(options.out.appendingPathComponent(RunStore.manifestFile))
    var rows = manifest.compare(with: replay).map { ReplayedFile(file: $0.file, status: $0.status) }
    for (file, hash) in manifest.files.sorted(by: { $0.key < $1.key }) {
      let stored = (try? SHA256.hex(fileAt: run.appendingPathComponent(file))) ?? "missing"
      if stored != hash {
        let why = stored == "missing" ? "missing in the run folder" : "stored file differs from the manifest"
        rows.append(ReplayedFile(file: file, status: why))
      }
    }
    return rows
  }
}
