import Foundation
import Harness
import Networks
import NumericCore

/// An unlearning algorithm written in any language: a command that reads a work
/// folder and writes the unlearned weights (README, "Submitting an algorithm").
///
/// Protocol version 2 (``ExternalProcess/protocolVersion``; models of an external backend are
/// ``ExternalModelCall``). For every job (and deletion round) the harness writes a fresh work folder:
/// ```
/// model.safetensors      the model to unlearn from: float32 tensors with PyTorch names
///                        ("0.weight", "0.bias", …) of the nn.Sequential in its metadata
/// architecture.json      kind, input_shape [C, H, W], num_classes, hidden / channels / kernel_size
/// forget.npy  forget_labels.npy           float32 [n, C, H, W] features, int64 [n] labels
/// retain.npy  retain_labels.npy
/// validation.npy  validation_labels.npy
/// forget_ids.npy  retain_ids.npy          int64 dataset ids of the rows (sorted)
/// request.json           protocol, algorithm, seed, time budget, timeout, hyper_parameters,
///                        training (the experiment's recipe), files
/// ```
/// and runs `command… WORK_DIR` (also in `$UNLEARN_WORK_DIR`) from the harness's working
/// directory, with standard input from /dev/null, standard output and error appended to the
/// job's `external.log`, a clean environment (`PATH`, `HOME`, `LANG`, `TMPDIR` inside the work
/// folder, one BLAS/OpenMP thread, `PYTHONHASHSEED=0`, and the variables named in
/// `pass_environment`) and a wall-clock time-out, after which its process group is killed.
/// The command must write `unlearned.safetensors`: the same tensor names and shapes, float32
/// (float64 is accepted and rounded), finite values; header and byte ranges are validated
/// before anything is scored. Exit status non-zero, a signal, the time-out, a missing or
/// malformed file each fail the job with the reason and the end of the log; the run goes on.
///
/// Configuration (`algorithms.<name>`):
/// `kind: external` (required), `command` (list of arguments, or one string run by `/bin/sh -c`),
/// `timeout` seconds (default: the evaluation's time budget, else 3600), `exact` (whether
/// the method claims exact unlearning; default false), `pass_environment` (variable names).
/// Every other key is the command's own hyper-parameter, passed in `request.json`.
public struct ExternalCommand: CommandAlgorithm {
  /// Keys of the configuration section the harness reads; the rest go to the command.
  public static let reservedKeys: Set<String> = ["kind", "command", "timeout", "exact", "pass_environment"]

  public let name: String
  public let kind: UnlearningKind
  public let command: [String]
  public let timeout: Double?
  public let passEnvironment: [String]
  /// The command's own hyper-parameters (`request.json` → `hyper_parameters`).
  public let parameters: [String: ConfigValue]

  public init(
    name: String, command: [String], timeout: Double? = nil, exact: Bool = false, passEnvironment: [String] = [],
    parameters: [String: ConfigValue] = [:]
  ) {
    self.name = name
    self.command = command
    self.timeout = timeout
    self.kind = exact ? .exact : .approximate
    self.passEnvironment = passEnvironment
    self.parameters = parameters
  }

  /// Whether a configuration section describes an external algorithm (`kind: external`).
  public static func isExternal(_ parameters: HyperParameters) -> Bool {
    parameters.values["kind"] == .string("external")
  }

  /// Reads `algorithms.<name>` of the configuration.
  public init(name: String, parameters: HyperParameters, file: String) throws {
    let r = parameters.reader(algorithm: name, file: file)
    _ = try r.string("kind", default: "external")
    let command = try ExternalProcess.command(parameters.values["command"], what: "an external algorithm") {
      r.fail("command", $0)
    }
    let timeout = try r.double("timeout", default: 0)
    guard timeout >= 0, timeout.isFinite else {
      throw r.fail("timeout", "must be a positive number of seconds, got \(timeout)")
    }
    let exact = try r.bool("exact", default: false)
    let pass = try r.strings("pass_environment", default: [])
    var own = parameters.values
    for k in Self.reservedKeys { own[k] = nil }
    self.init(
      name: name, command: command, timeout: timeout > 0 ? timeout : nil, exact: exact, passEnvironment: pass,
      parameters: own)
  }

  public var hyperParameters: [String: ConfigValue] {
    var h = parameters
    h["command"] = .list(command.map { .string($0) })
    if let timeout { h["timeout"] = .double(timeout) }
    if kind == .exact { h["exact"] = .bool(true) }
    return h
  }

  public func validate() throws {
    try check(!command.isEmpty, name, "command", "an external algorithm needs a command")
    if let timeout {
      try check(timeout > 0 && timeout.isFinite, name, "timeout", "must be a positive number of seconds")
    }
  }

  /// The time-out of one call: the configured one, else the time budget, else an hour.

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    let fm = FileManager.default
    let work =
      request.scratchDirectory ?? fm.temporaryDirectory.appendingPathComponent("unlearn-\(name)-\(UUID().uuidString)")
    let ownsWork = request.scratchDirectory == nil
    try? fm.removeItem(at: work)
    // A failed job keeps the runner's work folder for debugging; a temporary one always goes.
    defer { if ownsWork { try? fm.removeItem(at: work) } }
    try fm.createDirectory(at: work, withIntermediateDirectories: true)
    let log = (request.jobDirectory ?? work).appendingPathComponent("external.log")
    try writeWorkFolder(request, to: work)
    let keep = ownsWork ? "" : "; its work folder is kept in \(work.path)"
    try ExternalProcess.run(
      command, work: work, log: log, timeout: effectiveTimeout(request), passEnvironment: passEnvironment,
      cancel: request.isCancelled, timeoutHint: "algorithms.\(name).timeout", keepNote: keep)
    let output = work.appendingPathComponent("unlearned.safetensors")
    guard fm.fileExists(atPath: output.path) else {
      throw ExternalProcess.failure(
        command,
        "exited normally but wrote no unlearned.safetensors in its work folder (the last argument, also "
          + "$UNLEARN_WORK_DIR)", log: log, keepNote: keep)
    }
    let weights: ModelWeights
    do { weights = try ModelFiles.load(output, architecture: request.original.architecture) } catch {
      throw ExternalProcess.failure(
        command, "wrote an invalid unlearned.safetensors: \(error)", log: log, keepNote: keep)
    }
    try? fm.removeItem(at: work)
    return UnlearnedModel(weights)
  }

  /// Writes the protocol's input files into `work`.
  func writeWorkFolder(_ request: UnlearningRequest, to work: URL) throws {
    try ModelFiles.save(request.original, to: work, name: "model")
    let shape = request.original.architecture.inputShape
    let given: [(Split, LabeledExamples)] = [
      (.forget, request.forget), (.retain, request.retain), (.validation, request.validation),
    ]
    for (split, ex) in given {
      try writeAtomically(
        NPYArray(shape: [ex.count] + shape, storage: .float32(ex.features.scalars)).encoded(),
        to: work.appendingPathComponent("\(split).npy"))
      try writeAtomically(
        NPYArray(shape: [ex.count], storage: .int64(ex.labels.map(Int64.init))).encoded(),
        to: work.appendingPathComponent("\(split)_labels.npy"))
    }
    for (split, ids) in [(Split.forget, request.forgetIDs), (Split.retain, request.retainIDs)] {
      try writeAtomically(
        NPYArray(shape: [ids.count], storage: .int64(ids.map(Int64.init))).encoded(),
        to: work.appendingPathComponent("\(split)_ids.npy"))
    }
    var training = [String: Any]()
    for (k, v) in request.training.configValues { training[k] = v.jsonValue }
    var files: [String: Any] = [
      "model": "model.safetensors", "architecture": "architecture.json", "output": "unlearned.safetensors",
    ]
    for (split, _) in given { files["\(split)"] = ["features": "\(split).npy", "labels": "\(split)_labels.npy"] }
    for split in [Split.forget, .retain] { files["\(split)_ids"] = "\(split)_ids.npy" }
    let body: [String: Any] = [
      "protocol": "unlearn.external", "protocol_version": ExternalProcess.protocolVersion, "action": "unlearn",
      "model": "builtin", "algorithm": name,
      "seed": request.seed, "time_budget_seconds": request.timeBudget ?? NSNull(),
      "timeout_seconds": effectiveTimeout(request),
      "hyper_parameters": parameters.mapValues(\.jsonValue), "training": training,
      "num_classes": request.original.architecture.numClasses, "input_shape": shape,
      "files": files,
    ]
    let data = try JSONSerialization.data(
      withJSONObject: body, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    try writeAtomically(data, to: work.appendingPathComponent("request.json"))
  }
}
