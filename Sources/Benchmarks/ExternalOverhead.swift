import Foundation
import Harness
import Networks
import NumericCore

/// The harness's cost per external job on digits: the work folder (request, ids, the data's links,
/// a copy of the checkpoint), the supervised spawn, the checks of what the command wrote (the
/// checkpoint's files, the logits' shape and values) and storing them (the checkpoint moved, the
/// logits of every split written). The command does nothing of its own: it creates
/// `checkpoint/` and copies prepared files. Its own cost (the same command run bare through the
/// supervisor) is measured too and subtracted.
func externalOverhead(jobs: Int = 40) throws -> (total: Double, command: Double, overhead: Double) {
  var spec = ExperimentSpec()
  spec.model = .external(command: ["true"])
  let experiment = try PreparedExperiment(spec: spec)
  let root = FileManager.default.temporaryDirectory.appendingPathComponent("unlearn-overhead-\(UUID().uuidString)")
  defer { try? FileManager.default.removeItem(at: root) }
  let store = RunStore(root)
  let data = try store.writeExternalData(experiment)
  let s = experiment.splits
  let predict = Set(s.forget + s.retain + s.test + s.validation + s.audit).sorted()
  // A digits MLP's worth of checkpoint (64-128-128-10 float32) and the logits the command "writes".
  let prepared = root.appendingPathComponent("prepared")
  try FileManager.default.createDirectory(
    at: prepared.appendingPathComponent("checkpoint"), withIntermediateDirectories: true)
  try Data(count: 4 * (64 * 128 + 128 * 128 + 128 * 10 + 266)).write(
    to: prepared.appendingPathComponent("checkpoint/weights.bin"))
  let logits = prepared.appendingPathComponent("logits.npy")
  try NPYArray(shape: [predict.count, 10], storage: .float32([Float](repeating: 0.5, count: predict.count * 10)))
    .encoded().write(to: logits)
  let script =
    "mkdir \"$1/checkpoint\" && cp \(prepared.path)/checkpoint/weights.bin \"$1/checkpoint/\" "
    + "&& cp \(logits.path) \"$1/logits.npy\""
  let command = ["/bin/sh", "-c", script, "sh"]
  func clock() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

  var start = clock()
  for j in 0..<jobs {
    let call = ExternalModelCall(
      action: .unlearn, command: command, timeout: 60, passEnvironment: [], timeoutHint: "timeout", name: "bench",
      seed: UInt64(j), hyperParameters: [:], modelParameters: [:], training: spec.training,
      ids: ["forget": s.forget, "retain": s.retain, "validation": s.validation], predict: predict,
      checkpoint: prepared.appendingPathComponent("checkpoint"), data: data, timeBudget: nil)
    let job = root.appendingPathComponent("jobs/\(j)")
    let result = try call.run(
      work: root.appendingPathComponent(".work/\(j)"), log: job.appendingPathComponent("external.log"),
      cancel: { false }, keepNote: "")
    try store.keepCheckpoint(result.checkpoint, in: job)
    try store.writeLogits(
      PerSplit(
        forget: result.logits(of: s.forget), retain: result.logits(of: s.retain), test: result.logits(of: s.test),
        validation: result.logits(of: s.validation), audit: result.logits(of: s.audit)), in: job)
    try? FileManager.default.removeItem(at: root.appendingPathComponent(".work/\(j)"))
  }
  let total = (clock() - start) / Double(jobs)
  // The command alone, in an equivalent folder, through the same supervisor.
  start = clock()
  for j in 0..<jobs {
    let work = root.appendingPathComponent("bare/\(j)")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    _ = try Subprocess.run(
      command + [work.path], environment: ["PATH": "/usr/bin:/bin"], log: work.appendingPathComponent("log"),
      timeout: 60)
  }
  let bare = (clock() - start) / Double(jobs)
  return (total, bare, total - bare)
}
