import Foundation
import NumericCore

/// Share `index` (0-based) of `count` of an evaluation's jobs.
///
/// The jobs, in the runner's fixed order (reference first, then each algorithm's models
/// by index), are dealt round-robin: shard `i` runs jobs `i, i + n, i + 2n, …`, so every
/// shard gets a mix of cheap and expensive algorithms. A job's outputs depend only on its
/// seed, so which shard runs it never changes a byte.
public struct ShardSpec: Sendable, Equatable, Codable, CustomStringConvertible {
  public var index: Int
  public var count: Int

  public init(index: Int, count: Int) throws {
    guard count >= 1 else { throw HarnessError("shard", "the number of shards must be at least 1, got \(count)") }
    guard (0..<count).contains(index) else {
      throw HarnessError("shard", "shard index \(index) is outside 0..<\(count) (shards are numbered from 0)")
    }
    self.index = index
    self.count = count
  }

  public var description: String { "\(index)/\(count)" }

  /// Parses `i/n`.
  public init(parsing text: String) throws {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
      throw HarnessError("--shard \(text)", "expected i/n, e.g. 0/4 for the first of four shards")
    }
    try self.init(index: i, count: n)
  }

  /// The shard a cluster scheduler assigned to this process, and where it was read from:
  /// Kubernetes Indexed Jobs set `JOB_COMPLETION_INDEX` (the count comes from `shards`);
  /// Slurm job arrays set `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN` and
  /// `SLURM_ARRAY_TASK_COUNT` (the index is ID − MIN, so `--array=1-4` works too).
  /// Nil when neither is set and `shards` is nil.
  public static func fromEnvironment(_ env: [String: String], shards: Int?) throws -> (
    shard: ShardSpec, source: String
  )? {
    func int(_ name: String) throws -> Int? {
      guard let v = env[name] else { return nil }
      guard let i = Int(v.trimmingCharacters(in: .whitespaces)) else {
        throw HarnessError(name, "expected an integer, got '\(v)'")
      }
      return i
    }
    if let k = try int("JOB_COMPLETION_INDEX") {
      guard let shards else {
        throw HarnessError(
          "JOB_COMPLETION_INDEX",
          "is set (a Kubernetes Indexed Job) but --shards is not; pass --shards with the Job's completions")
      }
      return (try ShardSpec(index: k, count: shards), "JOB_COMPLETION_INDEX=\(k), --shards \(shards)")
    }
    if let id = try int("SLURM_ARRAY_TASK_ID") {
      let low = try int("SLURM_ARRAY_TASK_MIN") ?? 0
      guard let n = try shards ?? int("SLURM_ARRAY_TASK_COUNT") else {
        throw HarnessError(
          "SLURM_ARRAY_TASK_ID", "is set but neither SLURM_ARRAY_TASK_COUNT nor --shards is; pass --shards")
      }
      do {
        return (try ShardSpec(index: id - low, count: n), "SLURM_ARRAY_TASK_ID=\(id), MIN \(low), COUNT \(n)")
      } catch {
        throw HarnessError(
          "SLURM_ARRAY_TASK_ID=\(id)",
          "gives shard \(id - low) of \(n); submit a contiguous array (--array=0-\(n - 1)) or pass --shard i/n")
      }
    }
    if let shards {
      throw HarnessError(
        "--shards \(shards)",
        "needs JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID to say which shard this is; or pass --shard i/n")
    }
    return nil
  }
}

/// `shard.json`: written by a shard when it has run its share; `unlearn merge` requires it.
public struct ShardRecord: Codable, Sendable, Equatable {
  public static let schema = "unlearn.shard"
  public var schema = ShardRecord.schema
  public var toolVersion: String
  public var shard: Int
  public var shards: Int
  /// The jobs assigned to this shard.
  public var jobs: [JobID]
  /// Jobs that failed here (they run again when the shards are merged, as on a resume).
  public var failures: [JobFailure]

  public init(toolVersion: String, shard: ShardSpec, jobs: [JobID], failures: [JobFailure]) {
    self.toolVersion = toolVersion
    self.shard = shard.index
    self.shards = shard.count
    self.jobs = jobs
    self.failures = failures
  }

  enum CodingKeys: String, CodingKey {
    case schema
    case toolVersion = "tool_version"
    case shard, shards, jobs, failures
  }

  public func json() throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try enc.encode(self)
  }

  public static func read(_ folder: URL) throws -> ShardRecord {
    let url = folder.appendingPathComponent("shard.json")
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw HarnessError(
        folder.path,
        "has no shard.json: it is not a shard folder, or its shard did not finish; run that shard's "
          + "unlearn evaluate --shard command again (it resumes)"
      )
    }
    do { return try JSONDecoder().decode(ShardRecord.self, from: data) } catch {
      throw HarnessError(url.path, "unreadable shard record (\(error))")
    }
  }
}

/// Joins shard folders into one run folder (`unlearn merge`): checks that the shards
/// are one complete set of the same experiment, then copies their outputs. Scoring the
/// merged folder then finds every job done and writes the same outputs as a run on one machine.
public enum ShardMerge {
  /// A file two shards both wrote must be shared and agree byte for byte; wall times (`job.json`
  /// of a shared model) and an external command's log (`external.log`) may differ, and so may the
  /// worker count in `config.yaml` (shards may run on machines of different sizes).
  static func checkShared(_ rel: String, _ url: URL, first: URL, merged: URL) throws {
    guard RunStore.isShared(rel) else {
      throw HarnessError(
        url.path, "is also in \(first.path): a job ran in two shards; were two shards run into one folder?")
    }
    let same =
      rel == RunStore.configFile
      ? try withoutWorkers(url) == withoutWorkers(merged)
      : FileManager.default.contentsEqual(atPath: url.path, andPath: merged.path)
    // Wall times and a command's log (external models) may differ; every output must not.
    guard rel.hasSuffix("job.json") || rel.hasSuffix("external.log") || same else {
      throw HarnessError(
        url.path,
        "differs from \(first.path): the shards did not run the same experiment with the same tool on the same "
          + "kind of machine"
          + (rel.hasPrefix("original/")
            ? " (an external model's original differs between shards when its backend is not deterministic, "
              + "e.g. on a GPU: train it once with unlearn evaluate --originals-only, then give that folder to every "
              + "shard with --original-from)" : ""))
    }
  }

  /// A configuration's text without its `workers:` line (which never changes an output).
  static func withoutWorkers(_ url: URL) throws -> String {
    try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
      .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("workers:") }.joined(separator: "\n")
  }

  /// Validates `shards` and copies them into `target` (which must not exist or be empty).
  /// Returns the shard records, in shard order.
  @discardableResult
  public static func merge(_ shards: [URL], into target: URL) throws -> [ShardRecord] {
    let fm = FileManager.default
    guard !shards.isEmpty else { throw HarnessError("merge", "give the shard folders to merge") }
    if let existing = try? fm.contentsOfDirectory(atPath: target.path),
      existing.contains(where: { $0 != RunLock.fileName })
    {
      throw HarnessError(target.path, "already exists and is not empty; merge into a new folder")
    }
    let records = try shards.map(ShardRecord.read)
    let n = records[0].shards
    for (url, r) in zip(shards, records) where r.shards != n {
      throw HarnessError(
        url.path, "is shard \(r.shard)/\(r.shards), but \(shards[0].path) is one of \(n) shards; merge one set")
    }
    var byIndex = [Int: URL]()
    for (url, r) in zip(shards, records) {
      if let other = byIndex[r.shard] {
        throw HarnessError(url.path, "is shard \(r.shard)/\(n) again (also \(other.path))")
      }
      byIndex[r.shard] = url
    }
    let missing = (0..<n).filter { byIndex[$0] == nil }
    guard missing.isEmpty else {
      throw HarnessError(
        "merge",
        "shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(n)" }.joined(separator: ", ")) missing; "
          + "run unlearn evaluate --shard for \(missing.count == 1 ? "it" : "them") and merge all \(n)"
      )
    }
    let versions = Set(records.map(\.toolVersion))
    guard versions.count == 1 else {
      throw HarnessError("merge", "the shards were written by different versions of unlearn (\(versions.sorted()))")
    }

    try fm.createDirectory(at: target, withIntermediateDirectories: true)
    var origin = [String: URL]()
    for index in 0..<n {
      let shard = RunStore(byIndex[index]!.standardizedFileURL)
      for rel in shard.files() where ![RunStore.shardFile, RunStore.manifestFile].contains(rel) {
        let url = shard.file(rel), dest = target.appendingPathComponent(rel)
        if let first = origin[rel] {
          try checkShared(rel, url, first: first, merged: dest)
          continue
        }
        try fm.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(at: url, to: dest)
        origin[rel] = url
      }
    }
    return records
  }
}
