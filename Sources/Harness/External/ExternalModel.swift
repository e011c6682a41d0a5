import Foundation
import Networks
import NumericCore

/// An unlearning algorithm that is a command (`kind: external`): what the runner needs to run
/// it on an external model's checkpoint (``ExternalModelCall``).
public protocol CommandAlgorithm: UnlearningAlgorithm {
  /// The arguments; the work folder is appended.
  var command: [String] { get }
  /// Seconds one call may take (nil: the evaluation's time budget, else an hour).
  var timeout: Double? { get }
  /// Variables of the harness's environment passed to the command.
  var passEnvironment: [String] { get }
  /// The command's own hyper-parameters (`request.json` → `hyper_parameters`).
  var parameters: [String: ConfigValue] { get }
}

extension CommandAlgorithm {
  /// The time-out of one call: the configured one, else the time budget, else an hour.
  public func effectiveTimeout(_ timeBudget: Double?) -> Double { timeout ?? timeBudget ?? 3600 }
  public func effectiveTimeout(_ request: UnlearningRequest) -> Double { effectiveTimeout(request.timeBudget) }
}

/// The whole dataset as an external model's commands see it, written once per run under
/// `RUN/.work/data/`: `features.npy` (float32 `[n, C, H, W]`, row i is dataset id i) and
/// `labels.npy` (int64 `[n]`, −1 for the test and audit examples, which a command predicts on
/// but never learns from).
public struct ExternalData: Sendable {
  public var features: URL
  public var labels: URL
  public var count: Int
  public var inputShape: [Int]
  public var numClasses: Int
}

/// What an external model's command says about itself in `backend.json` (optional).
public struct BackendDeclaration: Codable, Sendable, Equatable {
  /// False when the same request may give different bytes (a GPU's non-deterministic kernels):
  /// `rerun --verify` then says so next to the files that differ.
  public var deterministic: Bool?
  /// Where it ran, e.g. `cpu` or `cuda:0`.
  public var device: String?

  public init(deterministic: Bool? = nil, device: String? = nil) {
    self.deterministic = deterministic
    self.device = device
  }
}

/// One call of an external model's command (protocol version 2): train a model from scratch,
/// or unlearn from a checkpoint, then predict. The harness writes a fresh work folder:
/// ```
/// request.json         protocol, protocol_version 2, action (train | unlearn), model "external", name,
///                      seed, training (the experiment's recipe), model_parameters (model.parameters),
///                      hyper_parameters (the algorithm's own keys; train: model.parameters),
///                      num_classes, input_shape, time_budget_seconds, timeout_seconds, files
/// features.npy         → RUN/.work/data/features.npy: float32 [n, C, H, W], row i = dataset id i
/// labels.npy           → RUN/.work/data/labels.npy: int64 [n], −1 for test and audit examples
/// train_ids.npy        train: int64 ids to train on (sorted)
/// forget_ids.npy  retain_ids.npy  validation_ids.npy      unlearn: int64 ids (sorted)
/// model/               unlearn: a copy of the checkpoint to unlearn from
/// predict_ids.npy      int64 ids whose logits are wanted (sorted, unique)
/// ```
/// The command must write `checkpoint/` (one or more regular files, any names and formats:
/// the harness stores them unread and hashes them), `logits.npy` (float32 or float64
/// `[len(predict_ids), num_classes]`, row i for `predict_ids[i]`, all finite) and may write
/// `backend.json` (``BackendDeclaration``). Everything is checked before it is stored.
public struct ExternalModelCall: Sendable {
  public enum Action: String, Sendable { case train, unlearn }

  public var action: Action
  public var command: [String]
  public var timeout: Double
  public var passEnvironment: [String]
  /// The configuration key that raises the time-out (for the error message).
  public var timeoutHint: String
  /// Who asks: `original`, `retrain`, `original-seeds` or the algorithm's name.
  public var name: String
  public var seed: UInt64
  /// The command's own hyper-parameters.
  public var hyperParameters: [String: ConfigValue]
  /// `model.parameters`: what the backend needs to rebuild its network.
  public var modelParameters: [String: ConfigValue]
  public var training: TrainingConfig
  /// train: `train`; unlearn: `forget`, `retain` and `validation`.
  public var ids: [String: [Int]]
  /// Ids to predict on (sorted, unique).
  public var predict: [Int]
  /// unlearn: the stored checkpoint to start from.
  public var checkpoint: URL?
  public var data: ExternalData
  public var timeBudget: Double?

  public init(
    action: Action, command: [String], timeout: Double, passEnvironment: [String], timeoutHint: String,
    name: String, seed: UInt64, hyperParameters: [String: ConfigValue], modelParameters: [String: ConfigValue],
    training: TrainingConfig, ids: [String: [Int]], predict: [Int], checkpoint: URL?, data: ExternalData,
    timeBudget: Double?
  ) {
    self.action = action
    self.command = command
    self.timeout = timeout
    self.passEnvironment = passEnvironment
    self.timeoutHint = timeoutHint
    self.name = name
    self.seed = seed
    self.hyperParameters = hyperParameters
    self.modelParameters = modelParameters
    self.training = training
    self.ids = ids
    self.predict = predict
    self.checkpoint = checkpoint
    self.data = data
    self.timeBudget = timeBudget
  }

  /// What a call returns: the logits of every predicted id, the checkpoint (still in the
  /// work folder) and the command's declaration.
  public struct Result: Sendable {
    /// `[predict.count, classes]`, row i for `predict[i]`.
    public var logits: Tensor
    public var predict: [Int]
    public var checkpoint: URL
    public var declaration: BackendDeclaration

    /// The logits of `ids` (each of them predicted), in that order; `predict` is sorted, so
    /// each row is found by binary search.
    public func logits(of ids: [Int]) -> Tensor {
      logits.gatherRows(
        ids.map { id in
          var (lo, hi) = (0, predict.count)
          while lo < hi {
            let mid = (lo + hi) / 2
            if predict[mid] < id { lo = mid + 1 } else { hi = mid }
          }
          precondition(lo < predict.count && predict[lo] == id, "id \(id) was not predicted")
          return lo
        })
    }
  }

  /// The most files and bytes a checkpoint may hold.
  public static let maximumCheckpointFiles = 100_000
  public static let maximumCheckpointBytes: Int64 = 64 << 30

  /// Writes the work folder, runs the command and checks what it wrote.
  public func run(work: URL, log: URL, cancel: @escaping @Sendable () -> Bool, keepNote: String) throws -> Result {
    let fm = FileManager.default
    try? fm.removeItem(at: work)
    try fm.createDirectory(at: work, withIntermediateDirectories: true)
    try writeWorkFolder(work)
    try ExternalProcess.run(
      command, work: work, log: log, timeout: timeout, passEnvironment: passEnvironment, cancel: cancel,
      timeoutHint: timeoutHint, keepNote: keepNote)
    do {
      let checkpoint = work.appendingPathComponent("checkpoint")
      try Self.checkCheckpoint(checkpoint)
      return Result(
        logits: try readLogits(work.appendingPathComponent("logits.npy")), predict: predict, checkpoint: checkpoint,
        declaration: try Self.readDeclaration(work.appendingPathComponent("backend.json")))
    } catch let e as HarnessError {
      throw ExternalProcess.failure(command, "exited normally, but \(e.message)", log: log, keepNote: keepNote)
    }
  }

  func writeWorkFolder(_ work: URL) throws {
    let fm = FileManager.default
    try fm.createSymbolicLink(at: work.appendingPathComponent("features.npy"), withDestinationURL: data.features)
    try fm.createSymbolicLink(at: work.appendingPathComponent("labels.npy"), withDestinationURL: data.labels)
    var files: [String: Any] = [
      "features": "features.npy", "labels": "labels.npy", "predict_ids": "predict_ids.npy",
      "checkpoint": "checkpoint", "logits": "logits.npy", "declaration": "backend.json",
    ]
    for (name, ids) in ids.sorted(by: { $0.key < $1.key }) {
      try Self.writeIDs(ids, to: work.appendingPathComponent("\(name)_ids.npy"))
      files["\(name)_ids"] = "\(name)_ids.npy"
    }
    try Self.writeIDs(predict, to: work.appendingPathComponent("predict_ids.npy"))
    if let checkpoint {
      try fm.copyItem(at: checkpoint, to: work.appendingPathComponent("model"))
      files["model"] = "model"
    }
    var training = [String: Any]()
    for (k, v) in self.training.configValues { training[k] = v.jsonValue }
    let body: [String: Any] = [
      "protocol": "unlearn.external", "protocol_version": ExternalProcess.protocolVersion,
      "action": action.rawValue, "model": "external", "name": name, "seed": seed,
      "training": training, "model_parameters": modelParameters.mapValues(\.jsonValue),
      "hyper_parameters": hyperParameters.mapValues(\.jsonValue), "num_classes": data.numClasses,
      "input_shape": data.inputShape, "num_examples": data.count,
      "time_budget_seconds": timeBudget ?? NSNull(), "timeout_seconds": timeout, "files": files,
    ]
    let json = try JSONSerialization.data(
      withJSONObject: body, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try writeAtomically(json, to: work.appendingPathComponent("request.json"))
  }

  static func writeIDs(_ ids: [Int], to url: URL) throws {
    try writeAtomically(NPYArray(shape: [ids.count], storage: .int64(ids.map(Int64.init))).encoded(), to: url)
  }

  /// `checkpoint/` must be a folder of regular files and folders (no links), not empty, within the limits.
  public static func checkCheckpoint(_ dir: URL) throws {
    var s = stat()
    guard lstat(dir.path, &s) == 0, s.st_mode & S_IFMT == S_IFDIR else {
      throw HarnessError("checkpoint", "it wrote no checkpoint/ folder in its work folder (any files, at least one)")
    }
    var files = 0, bytes: Int64 = 0
    var pending = [dir]
    while let folder = pending.popLast() {
      let names: [String]
      do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
        throw HarnessError("checkpoint", "\(folder.path) cannot be listed")
      }
      for name in names {
        let url = folder.appendingPathComponent(name)
        guard lstat(url.path, &s) == 0 else { throw HarnessError("checkpoint", "\(url.path) cannot be read") }
        switch s.st_mode & S_IFMT {
        case S_IFDIR: pending.append(url)
        case S_IFREG:
          files += 1
          bytes += Int64(s.st_size)
        default:
          throw HarnessError(
            "checkpoint",
            "checkpoint/\(url.path.dropFirst(dir.path.count + 1)) is not a regular file (links are not stored)")
        }
        guard files <= maximumCheckpointFiles, bytes <= maximumCheckpointBytes else {
          throw HarnessError(
            "checkpoint",
            "checkpoint/ holds more than \(maximumCheckpointFiles) files or \(maximumCheckpointBytes >> 30) GiB")
        }
      }
    }
    guard files > 0 else { throw HarnessError("checkpoint", "its checkpoint/ folder is empty") }
  }

  /// `logits.npy`: `[predict.count, classes]`, float32 or float64 (rounded), every value finite.
  func readLogits(_ url: URL) throws -> Tensor {
    let rows = predict.count, classes = data.numClasses
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw HarnessError("logits", "it wrote no logits.npy (float32 [\(rows), \(classes)], one row per predict id)")
    }
    let a: NPYArray
    do { a = try NPYArray.read(url, limit: rows * classes * 8 + 65_536) } catch {
      throw HarnessError("logits", "logits.npy is unreadable: \(error)")
    }
    do { return Tensor(shape: [rows, classes], scalars: try a.logitValues(rows: rows, classes: classes)) } catch {
      switch error {
      case .shape:
        throw HarnessError(
          "logits",
          "logits.npy has shape \(a.shape), expected [\(rows), \(classes)] (one row per id of predict_ids.npy)")
      case .type: throw HarnessError("logits", "logits.npy is \(a.dtype); write float32 (or float64)")
      case .nonFinite(let row):
        throw HarnessError("logits", "logits.npy is not finite (NaN or infinity) in the row of id \(predict[row])")
      }
    }
  }

  /// `backend.json`, when the command wrote one.
  static func readDeclaration(_ url: URL) throws -> BackendDeclaration {
    guard FileManager.default.fileExists(atPath: url.path) else { return BackendDeclaration() }
    let data: Data
    do { data = try FileInput.read(url, limit: 65_536) } catch {
      throw HarnessError("backend.json", "backend.json is unreadable: \(error)")
    }
    let d: BackendDeclaration
    do { d = try JSONDecoder().decode(BackendDeclaration.self, from: data) } catch {
      throw HarnessError(
        "backend.json",
        "backend.json must be a JSON object such as {\"deterministic\": true, \"device\": \"cpu\"} (\(error))")
    }
    guard (d.device?.utf8.count ?? 0) <= 200 else {
      throw HarnessError("backend.json", "backend.json: device must be a short text such as cpu or cuda:0")
    }
    return d
  }
}

extension NPYArray {
  /// Why an array is not a logits matrix.
  public enum LogitsProblem: Error {
    case shape, type
    /// The first row holding NaN or an infinity.
    case nonFinite(row: Int)
  }

  /// The values of a `[rows, classes]` float32 array (float64 is rounded), every one finite.
  public func logitValues(rows: Int, classes: Int) throws(LogitsProblem) -> [Float] {
    guard shape == [rows, classes] else { throw .shape }
    let values: [Float]
    switch storage {
    case .float32(let v): values = v
    case .float64(let v): values = v.map(Float.init)
    default: throw .type
    }
    if let bad = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: bad / classes) }
    return values
  }
}

extension ConfigValue {
  /// The value for `JSONSerialization`.
  public var jsonValue: Any {
    switch self {
    case .int(let i): i
    case .double(let d): d
    case .bool(let b): b
    case .string(let s): s
    case .list(let a): a.map(\.jsonValue)
    }
  }
}
