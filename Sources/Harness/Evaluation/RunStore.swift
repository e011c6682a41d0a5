import Foundation
import Networks
import NumericCore

/// The folder of one evaluation run, and the only code that knows its layout:
/// ```
/// config.yaml              the resolved configuration of the latest invocation
/// identity.yaml            what the stored outputs depend on (checked when resuming)
/// splits.json              the split ids and their SHA-256
/// labels/<split>.npy       int64 labels of each scored split (the rows of the logits)
/// original/                model.safetensors, architecture.json, logits.npz, job.json
/// original/<k>/            the same for original k, with `evaluation.originals` K > 1
/// original/checkpoint/     an external model's checkpoint (opaque files; also in every job folder)
/// jobs/<algorithm>/parameters.json        resolved hyper-parameters
/// jobs/<algorithm>/original/logits.npz   the algorithm's own original (SISA's ensemble), if it has one
///                                         (original/<k>/ for original k > 0)
/// jobs/<algorithm>/reference/<index>/     its own exact reference, if it declares one (SISA trained on retain)
/// jobs/<algorithm>/<index>/logits.npz    logits [n, classes] of model <index>, one array per split
/// jobs/<algorithm>/<index>/job.json       seed, wall times (written last: it marks the job done)
/// jobs/<algorithm>/<index>/failure.json   why the job failed (removed when it succeeds)
/// jobs/<algorithm>/<plan>/<index>/        shadow run <index> of an attack's plan (e.g. ulira), same files
/// .work/<algorithm>/<index>/              scratch of a job (external commands' work folders; kept when it fails)
/// results.json, table.md, table.csv, table.tex, report.html, plots/, manifest.json, shard.json
/// ```
/// With k > 1 deletion rounds the logits and labels of round r are in a `round-<r>/`
/// subfolder of each of these folders. Every file is written atomically.
///
/// A model's logits on every split are one `.npz` archive (`np.load(…)["forget"]`) rather than a
/// `.npy` file per split: a run holds thousands of models, and each file costs its creation, its
/// reading and its digest (ext4, for one, scans past every recently deleted inode to allocate a
/// new one, so re-running into a folder just deleted costs time quadratic in the file count).
public struct RunStore: Sendable {
  public let root: URL
  /// Deletion rounds of the run (1: a single forget set).
  public let rounds: Int
  /// Digests of the outputs this store has loaded, for the run's manifest.
  public let digests = FileDigests()

  public init(_ root: URL, rounds: Int = 1) {
    self.root = root
    self.rounds = Swift.max(rounds, 1)
  }

  /// An existing run folder, its number of rounds read from its `config.yaml`.
  public static func open(_ root: URL) throws -> RunStore {
    let spec = try RunStore(root).configuration()
    return RunStore(root, rounds: spec.evaluation.rounds)
  }

  // MARK: Layout

  public static let configFile = "config.yaml", identityFile = "identity.yaml", splitsFile = "splits.json"
  public static let resultsFile = "results.json", manifestFile = "manifest.json", shardFile = "shard.json"
  public static let datasetFile = "dataset.tsv"
  static let recordFile = "job.json", failureFile = "failure.json", parametersFile = "parameters.json"
  /// A model's logits: one array `<split>` of shape [examples, classes] per scored split.
  public static let logitsFile = "logits.npz"

  public func file(_ name: String) -> URL { root.appendingPathComponent(name) }

  /// `original/` (original 0) or `original/<k>/`: an original model's weights, logits and training record.
  public func originalDirectory(_ k: Int = 0) -> URL {
    let base = root.appendingPathComponent("original")
    return k == 0 ? base : base.appendingPathComponent(String(format: "%04d", k))
  }

  /// `jobs/<algorithm>/original/` (original 0) or `…/original/<k>/`: an algorithm's own original k.
  public func ownOriginalDirectory(_ algorithm: String, _ k: Int = 0) -> URL {
    let base = algorithmDirectory(algorithm).appendingPathComponent("original")
    return k == 0 ? base : base.appendingPathComponent(String(format: "%04d", k))
  }

  /// `jobs/<algorithm>/`.
  public func algorithmDirectory(_ algorithm: String) -> URL {
    root.appendingPathComponent("jobs").appendingPathComponent(algorithm)
  }

  /// The folder of a job: `jobs/<algorithm>/<index>/` or `jobs/<algorithm>/<plan>/<index>/`.
  public func jobDirectory(_ job: JobID) -> URL {
    var dir = algorithmDirectory(job.algorithm)
    if let group = job.group { dir.appendPathComponent(group) }
    return dir.appendingPathComponent(String(format: "%04d", job.index))
  }

  /// Scratch space of a job in round `round` (0-based), outside what the manifest hashes.
  public func workDirectory(_ job: JobID, round: Int = 0) -> URL {
    var dir = root.appendingPathComponent(".work").appendingPathComponent(job.algorithm)
    if let group = job.group { dir.appendPathComponent(group) }
    return inRound(dir.appendingPathComponent(String(format: "%04d", job.index)), round)
  }

  /// `base` itself for a single round, else `base/round-<r+1>` (`round` is 0-based).
  public func inRound(_ base: URL, _ round: Int) -> URL {
    rounds == 1 ? base : base.appendingPathComponent("round-\(round + 1)")
  }

  /// Where the logits of model `index` of `role` in `round` are.
  public func outputsDirectory(_ role: Role, index: Int = 0, round: Int = 0) -> URL {
    switch role {
    case .original: inRound(originalDirectory(index), round)
    case .ownOriginal(let a): ownOriginalDirectory(a, index)
    case .ownReference(let a): inRound(jobDirectory(JobID(algorithm: a, index: index, group: JobID.reference)), round)
    case .retrain, .originalSeeds, .algorithm:
      inRound(jobDirectory(JobID(algorithm: role.jobName ?? role.name, index: index)), round)
    }
  }

  /// `labels/` of round `round`.
  public func labelsDirectory(round: Int) -> URL { inRound(root.appendingPathComponent("labels"), round) }

  /// Files every shard of a run writes identically: the experiment's description, the
  /// labels, the original models and the hyper-parameters (everything but a job's own outputs).
  public static func isShared(_ relative: String) -> Bool {
    !relative.hasPrefix("jobs/") || relative.hasSuffix("/\(parametersFile)") || relative.contains("/original/")
  }

  /// Files that hold only wall times (job records and the reports that print them): never
  /// expected to replay byte for byte. Every other output is deterministic.
  public static func isDeterministic(_ relative: String) -> Bool {
    let name = (relative as NSString).lastPathComponent
    return relative.hasSuffix(".npy") || relative.hasSuffix(".npz") || relative.hasSuffix(".safetensors")
      || relative.contains("checkpoint/")
      || [splitsFile, identityFile, datasetFile, "architecture.json", parametersFile].contains(name)
  }

  /// Every regular file of the run, by path relative to the root, sorted (hidden files and folders
  /// left out; links are not followed). Read with `readdir`, whose entry types need no `stat` on
  /// the usual file systems: a run holds thousands of files.
  public func files() -> [String] {
    var out = [String]()
    func walk(_ path: String, _ relative: String) {
      guard let dir = opendir(path) else { return }
      defer { closedir(dir) }
      while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
          String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        guard !name.hasPrefix(".") else { continue }
        let full = path + "/" + name, rel = relative.isEmpty ? name : relative + "/" + name
        var type = Int32(entry.pointee.d_type)
        if type == Int32(DT_UNKNOWN) {
          var st = stat()
          guard lstat(full, &st) == 0 else { continue }
          type = (st.st_mode & S_IFMT) == S_IFDIR ? Int32(DT_DIR) : (st.st_mode & S_IFMT) == S_IFREG ? Int32(DT_REG) : 0
        }
        if type == Int32(DT_DIR) {
          walk(full, rel)
        } else if type == Int32(DT_REG) {
          out.append(rel)
        }
      }
    }
    walk(root.standardizedFileURL.path, "")
    return out.sorted()
  }

  // MARK: Writing

  /// Writes the model's logits on every split as `logits.npz` in `directory`.
  public func writeLogits(of model: UnlearnedModel, on examples: PerSplit<LabeledExamples?>, in directory: URL) throws {
    try writeLogits(try examples.map { ex in try ex.map { try model.logits($0.features) } }, in: directory)
  }

  /// Writes logits as `logits.npz` in `directory` (an array per split given), each split checked finite.
  public func writeLogits(_ logits: PerSplit<Tensor?>, in directory: URL) throws {
    var entries = [NPZArchive.Entry]()
    for (split, z) in logits.all {
      guard let z else { continue }
      guard z.scalars.allSatisfy(\.isFinite) else {
        throw HarnessError(
          "the model",
          "its logits on \(split) are not finite (NaN or infinity): the weights overflow; the model cannot be scored")
      }
      entries.append(NPZArchive.Entry(name: "\(split)", array: NPYArray(z)))
    }
    try writeAtomically(try NPZArchive(entries).encoded(), to: directory.appendingPathComponent(Self.logitsFile))
  }

  /// Writes the labels of round `round` (so a run folder can be scored without the dataset).
  public func writeLabels(_ labels: PerSplit<[Int32]>, round: Int) throws {
    for (split, y) in labels.all {
      let data = NPYArray(shape: [y.count], storage: .int64(y.map(Int64.init))).encoded()
      try writeAtomically(data, to: labelsDirectory(round: round).appendingPathComponent("\(split).npy"))
    }
  }

  /// Marks `job` done with its record (written last), and clears an earlier failure.
  public func writeRecord(_ record: JobRecord, for job: JobID) throws {
    try writeAtomically(try Self.json(record), to: jobDirectory(job).appendingPathComponent(Self.recordFile))
    try? FileManager.default.removeItem(at: jobDirectory(job).appendingPathComponent(Self.failureFile))
  }

  /// Original k's training record.
  public func writeOriginalRecord(_ record: JobRecord, _ k: Int = 0) throws {
    try writeAtomically(try Self.json(record), to: originalDirectory(k).appendingPathComponent(Self.recordFile))
  }

  /// Records why `failure.job` failed (a resumed run tries it again).
  public func writeFailure(_ failure: JobFailure) throws {
    try writeAtomically(try Self.json(failure), to: jobDirectory(failure.job).appendingPathComponent(Self.failureFile))
  }

  static func json<T: Encodable>(_ value: T) throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    enc.keyEncodingStrategy = .convertToSnakeCase
    return try enc.encode(value)
  }

  static func decode<T: Decodable>(_ type: T.Type, _ url: URL) throws -> T? {
    guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
    let dec = JSONDecoder()
    dec.keyDecodingStrategy = .convertFromSnakeCase
    do { return try dec.decode(type, from: data) } catch {
      throw HarnessError(url.path, "unreadable (\(error)); delete it to recompute that job")
    }
  }

  // MARK: Reading

  /// The record of a finished job, nil when it has not finished.
  public func record(_ job: JobID) throws -> JobRecord? {
    try Self.decode(JobRecord.self, jobDirectory(job).appendingPathComponent(Self.recordFile))
  }

  /// True when `job` has finished (its `job.json` exists).
  public func isFinished(_ job: JobID) -> Bool {
    FileManager.default.fileExists(atPath: jobDirectory(job).appendingPathComponent(Self.recordFile).path)
  }

  /// Why `job` failed, nil when no failure is recorded.
  public func failure(_ job: JobID) throws -> JobFailure? {
    try Self.decode(JobFailure.self, jobDirectory(job).appendingPathComponent(Self.failureFile))
  }

  /// Original k's training record, nil before it is trained.
  public func originalRecord(_ k: Int = 0) throws -> JobRecord? {
    try Self.decode(JobRecord.self, originalDirectory(k).appendingPathComponent(Self.recordFile))
  }

  /// The labels of round `round`, for the splits asked for.
  public func labels(round: Int, splits: Set<Split> = Set(Split.allCases)) throws -> PerSplit<[Int32]?> {
    try PerSplit { split in
      guard splits.contains(split) else { return nil }
      let url = labelsDirectory(round: round).appendingPathComponent("\(split).npy")
      guard let y = try NPYArray.read(url).integers else { throw HarnessError(url.path, "labels must be integers") }
      return y.map(Int32.init)
    }
  }

  /// The logits stored in `directory`, for the splits asked for.
  public func outputs(in directory: URL, splits: Set<Split>) throws -> ModelOutputs {
    let url = directory.appendingPathComponent(Self.logitsFile)
    let data: Data, identity: FileIdentity
    do { (data, identity) = try FileInput.readWithIdentity(url) } catch {
      let legacy = Split.allCases.contains {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("\($0).npy").path)
      }
      guard legacy else { throw error }
      throw HarnessError(
        directory.path,
        "holds a .npy file per split, the layout of unlearn before 0.2 (now one \(Self.logitsFile) per model): "
          + "score this folder with the version that wrote it, or run the experiment again into a new folder")
    }
    let archive = try NPZArchive.decode(data, name: url.path, only: Set(splits.map { "\($0)" }))
    digests.record(url, data: data, identity: identity)
    return ModelOutputs(
      logits: try PerSplit { split in
        guard splits.contains(split) else { return nil }
        guard let a = archive["\(split)"] else {
          throw HarnessError(
            url.path, "holds no logits on \(split) (no array '\(split)'); delete its folder to recompute it")
        }
        guard case .float32(let v) = a.storage, a.shape.count == 2 else {
          throw HarnessError("\(url.path)[\(split)]", "expected float32 logits of shape [examples, classes]")
        }
        return Tensor(shape: a.shape, scalars: v)
      })
  }
}
