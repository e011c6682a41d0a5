import Foundation
import Harness
import NumericCore
import Reports

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
    let lock = try RunLock(run)  // no evaluate may write into the run while it is compared
    defer { withExtendedLifetime(lock) {} }
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
    rows += try compareReports(run, replay: options.out)
    return annotateNondeterministic(rows, run: run)
  }

  /// Marks the differing files of jobs whose external backend declared itself non-deterministic
  /// (`backend.json`, kept in `job.json`): a GPU run is not expected to replay byte for byte, and
  /// the verdict says why rather than hiding the difference.
  static func annotateNondeterministic(_ rows: [ReplayedFile], run: URL) -> [ReplayedFile] {
    let store = RunStore(run)
    var declared = [(folder: String, device: String)]()
    for file in store.files() where (file as NSString).lastPathComponent == "job.json" {
      let data = (try? FileInput.read(run.appendingPathComponent(file), limit: 1 << 20)) ?? Data()
      let dec = JSONDecoder()
      dec.keyDecodingStrategy = .convertFromSnakeCase
      guard let record = try? dec.decode(JobRecord.self, from: data), record.backend?.deterministic == false else {
        continue
      }
      declared.append(
        ((file as NSString).deletingLastPathComponent + "/", record.backend?.device ?? "an unnamed device"))
    }
    guard !declared.isEmpty else { return rows }
    return rows.map { row in
      guard row.status != "identical", let d = declared.first(where: { row.file.hasPrefix($0.folder) }) else {
        return row
      }
      var r = row
      r.status += " (its backend declared itself non-deterministic, on \(d.device))"
      return r
    }
  }

  /// The reports of a replay: the run's `results.json` against the replay's with the wall-clock
  /// values masked (those metrics' cells and power checks), and the run's tables against the
  /// tables its own `results.json` gives (so neither can be edited after the fact).
  static func compareReports(_ run: URL, replay: URL) throws -> [ReplayedFile] {
    var rows = [ReplayedFile]()
    let file = RunStore.resultsFile
    let stored = RunStore(run), replayed = RunStore(replay)
    guard let a = try? maskedResults(stored.file(file)) else {
      return [ReplayedFile(file: file, status: "missing or unreadable in the run folder")]
    }
    let b = try maskedResults(replayed.file(file))
    rows.append(ReplayedFile(file: file, status: a == b ? "identical" : "different"))
    let report = try stored.results()
    for (name, text) in [("table.md", report.markdown), ("table.csv", report.csv), ("table.tex", report.latex)] {
      let url = stored.file(name)
      let status: String
      if let data = FileManager.default.contents(atPath: url.path) {
        status = data == Data(text.utf8) ? "identical" : "differs from the run's results.json"
      } else {
        status = "missing in the run folder"
      }
      rows.append(ReplayedFile(file: name, status: status))
    }
    return rows
  }

  /// `results.json` as canonical JSON text without the values computed from wall-clock times.
  static func maskedResults(_ url: URL) throws -> Data {
    guard var object = try JSONSerialization.jsonObject(with: FileInput.read(url)) as? [String: Any] else {
      throw HarnessError(url.path, "is not a JSON object")
    }
    let columns = (object["columns"] as? [[String: Any]]) ?? []
    let wallClock = Set(columns.filter { $0["wall_clock"] as? Bool == true }.compactMap { $0["name"] as? String })
    if var rows = object["rows"] as? [[String: Any]] {
      for i in rows.indices {
        if var metrics = rows[i]["metrics"] as? [String: Any] {
          for name in wallClock { metrics[name] = nil }
          rows[i]["metrics"] = metrics
        }
      }
      object["rows"] = rows
    }
    if let power = object["power"] as? [[String: Any]] {
      object["power"] = power.filter { !wallClock.contains($0["column"] as? String ?? "") }
    }
    return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
  }
}
