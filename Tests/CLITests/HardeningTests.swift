import Foundation
import Harness
import NumericCore
import TestSupport
import Testing

/// The command line under hostile submissions, broken inputs and faults: each case reproduces
/// a failure of an attack on the harness and checks the behaviour that replaced it.
@Suite(.serialized) struct HardeningTests {
  static var binary: URL { TestSupport.repositoryRoot.appendingPathComponent(".build/release/unlearn") }

  /// A quick configuration (1-epoch MLP, 2 models) with `extra` lines appended.
  static func config(_ dir: URL, _ extra: String = "", algorithms: String = "[finetune]") throws -> URL {
    let url = dir.appendingPathComponent("c.yaml")
    try Data(
      TestSupport.digitsConfig(
        "model: {hidden: [8]}", "training: {epochs: 1}", "evaluation: {models: 2, algorithms: \(algorithms)}", extra
      ).utf8
    ).write(to: url)
    return url
  }

  /// Starts `unlearn` with `args` (output to files in `dir`), without waiting.
  static func start(_ args: [String], in dir: URL) throws -> Process {
    let p = Process()
    p.executableURL = binary
    p.arguments = args
    p.currentDirectoryURL = TestSupport.repositoryRoot
    p.standardOutput = try FileHandle(forWritingTo: touch(dir.appendingPathComponent("stdout")))
    p.standardError = try FileHandle(forWritingTo: touch(dir.appendingPathComponent("stderr")))
    try p.run()
    return p
  }

  static func touch(_ url: URL) -> URL {
    _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    return url
  }

  /// Waits up to `seconds` for `file` to hold `lines` lines.
  static func waitForLines(_ file: URL, _ lines: Int, seconds: Double) -> [Int32] {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
      let pids = ProcessWatch.read(file)
      if pids.count >= lines { return pids }
      usleep(50_000)
    }
    return ProcessWatch.read(file)
  }

  /// An external algorithm that starts an escaping child (`setsid`), records both pids and hangs.
  static func hangingAlgorithm(_ dir: URL) throws -> String {
    let pids = dir.appendingPathComponent("pids")
    let url = dir.appendingPathComponent("hang.sh")
    try Data("#!/bin/sh\nsetsid sleep 300 & echo $! >> \(pids.path)\necho $$ >> \(pids.path)\nsleep 300\n".utf8).write(
      to: url)
    chmod(url.path, 0o755)
    return """
      algorithms:
        hang: {kind: external, command: [\(url.path)], timeout: 600}
      """
  }

  @Test func algorithmAndRunNames_thatEscapeTheFolder_areRefused() throws {
    let dir = TestSupport.temporaryDirectory("names")
    let victim = dir.appendingPathComponent("victim")
    try Data("keep".utf8).write(to: victim)
    for name in ["z/../retrain", "../../../../victim", "retrain", "original"] {
      let c = try Self.config(
        dir, "algorithms:\n  '\(name)': {kind: external, command: [/bin/true]}", algorithms: "['\(name)']")
      let (status, _, err) = try runUnlearn([
        "evaluate", "--config", c.path, "--out", dir.appendingPathComponent("run").path,
      ])
      #expect(status == 1, "\(name): \(err)")
      #expect(err.contains("algorithms.\(name)") && !err.contains("Fatal error"), "\(err)")
    }
    #expect(try String(contentsOf: victim, encoding: .utf8) == "keep")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/jobs").path))
    for name in ["''", "../../x"] {
      let c = try Self.config(dir, "name: \(name)")
      let (status, _, err) = try runUnlearn(["evaluate", "--config", c.path])
      #expect(status == 1 && err.contains("c.yaml: name"), "\(err)")
    }
  }

  @Test func emptyTestSplit_isRefusedBeforeAnyTraining() throws {
    let dir = TestSupport.temporaryDirectory("empty-test")
    let c = try Self.config(dir, "split: {test_fraction: 0}")
    let run = dir.appendingPathComponent("run")
    let (status, _, err) = try runUnlearn(["evaluate", "--config", c.path, "--out", run.path])
    #expect(status == 1 && err.contains("split.test_fraction"), "\(err)")
    #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("original").path))
  }

  @Test func rerunVerify_catchesEditedResultsAndTables() throws {
    let dir = TestSupport.temporaryDirectory("verify-reports")
    let run = dir.appendingPathComponent("run")
    let c = try Self.config(dir)
    #expect(try runUnlearn(["evaluate", "--config", c.path, "--out", run.path, "--quiet"]).0 == 0)
    let (s0, out0, e0) = try runUnlearn(["rerun", run.path, "--verify", "--out", dir.appendingPathComponent("r0").path])
    #expect(s0 == 0 && out0.contains("identical\tresults.json") && out0.contains("identical\ttable.md"), "\(out0)\(e0)")
    // A forged row in table.md: the table no longer follows from results.json.
    let table = run.appendingPathComponent("table.md")
    try Data((try String(contentsOf: table, encoding: .utf8) + "| forged | row |\n").utf8).write(to: table)
    let (s1, out1, _) = try runUnlearn(["rerun", run.path, "--verify", "--out", dir.appendingPathComponent("r1").path])
    #expect(s1 == 1 && out1.contains("NOT verified"), "\(out1)")
    #expect(out1.contains("differs from the run's results.json\ttable.md"), "\(out1)")
    // An edited challenge score in results.json: the replay's scores differ.
    let results = run.appendingPathComponent("results.json")
    var text = try String(contentsOf: results, encoding: .utf8)
    let key = try #require(text.range(of: "\"challenge_score\" : {"))
    let mean = try #require(
      text.range(of: #""mean" : [-0-9.e]+"#, options: .regularExpression, range: key.upperBound..<text.endIndex))
    text.replaceSubrange(mean, with: "\"mean\" : 0.999")
    try Data(text.utf8).write(to: results)
    let (s2, out2, _) = try runUnlearn(["rerun", run.path, "--verify", "--out", dir.appendingPathComponent("r2").path])
    #expect(s2 == 1 && out2.contains("different\tresults.json"), "\(out2)")
  }

  @Test func changedPixels_areNoticedOnResume() throws {
    let dir = TestSupport.temporaryDirectory("changed-data")
    let data = dir.appendingPathComponent("digits")
    try FileManager.default.copyItem(at: URL(fileURLWithPath: TestSupport.digitsPath), to: data)
    let c = dir.appendingPathComponent("c.yaml")
    try Data(
      "dataset: {path: \(data.path)}\nmodel: {hidden: [8]}\ntraining: {epochs: 1}\nevaluation: {models: 2}\n".utf8
    ).write(to: c)
    let run = dir.appendingPathComponent("run")
    #expect(try runUnlearn(["evaluate", "--config", c.path, "--out", run.path, "--quiet", "--models", "2"]).0 == 0)
    // Another image's bytes under the same name: same file list, other pixels.
    let a = data.appendingPathComponent("images/0000.png"), b = data.appendingPathComponent("images/0001.png")
    try FileManager.default.removeItem(at: a)
    try FileManager.default.copyItem(at: b, to: a)
    let (status, _, err) = try runUnlearn(["evaluate", "--config", c.path, "--out", run.path, "--models", "4"])
    #expect(status == 1 && err.contains("images/0000.png content changed"), "\(err)")
  }

  @Test func aRunFolderInUse_isRefusedNamingTheProcess() throws {
    let dir = TestSupport.temporaryDirectory("lock")
    let run = dir.appendingPathComponent("run")
    let lock = try RunLock(run)
    let (status, _, err) = try runUnlearn(["evaluate", "--config", try Self.config(dir).path, "--out", run.path])
    #expect(status == 1 && err.contains("in use by another unlearn process (pid \(getpid()))"), "\(err)")
    withExtendedLifetime(lock) {}
  }

  @Test func sigterm_stopsCleanly_killsTheCommands_andResumes() throws {
    let dir = TestSupport.temporaryDirectory("sigterm")
    let c = try Self.config(dir, try Self.hangingAlgorithm(dir), algorithms: "[hang]")
    let run = dir.appendingPathComponent("run")
    let p = try Self.start(["evaluate", "--config", c.path, "--out", run.path, "--workers", "2"], in: dir)
    let pids = Self.waitForLines(dir.appendingPathComponent("pids"), 4, seconds: 60)
    #expect(pids.count >= 4, "the external commands did not start")
    p.terminate()  // SIGTERM
    p.waitUntilExit()
    let err = try String(contentsOf: dir.appendingPathComponent("stderr"), encoding: .utf8)
    #expect(p.terminationStatus == 143 && err.contains("run the same command again to resume"), "\(err)")
    #expect(ProcessWatch.allGone(pids, within: 5), "orphans: \(pids.filter(ProcessWatch.alive))")
    // The same command resumes: the finished jobs are kept (here the command now fails at once).
    try Data("#!/bin/sh\nexit 1\n".utf8).write(to: dir.appendingPathComponent("hang.sh"))
    let (status, _, err2) = try runUnlearn(["evaluate", "--config", c.path, "--out", run.path, "--workers", "2"])
    #expect(status == 3 && err2.contains("already done") && !err2.contains("(0 already done)"), "\(err2)")
  }

  @Test func kill9OfTheHarness_takesTheCommandsWithIt() throws {
    let dir = TestSupport.temporaryDirectory("kill9")
    let c = try Self.config(dir, try Self.hangingAlgorithm(dir), algorithms: "[hang]")
    let p = try Self.start(["evaluate", "--config", c.path, "--out", dir.appendingPathComponent("run").path], in: dir)
    let pids = Self.waitForLines(dir.appendingPathComponent("pids"), 2, seconds: 60)
    #expect(pids.count >= 2)
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    #expect(ProcessWatch.allGone(pids, within: 10), "orphans: \(pids.filter(ProcessWatch.alive))")
  }

  @Test func failedJobs_giveExitStatus3_withTheResultsWritten() throws {
    let dir = TestSupport.temporaryDirectory("exit3")
    let c = try Self.config(
      dir, "algorithms:\n  broken: {kind: external, command: [/bin/false]}", algorithms: "[broken]")
    let run = dir.appendingPathComponent("run")
    let (status, out, err) = try runUnlearn(["evaluate", "--config", c.path, "--out", run.path])
    #expect(status == 3 && err.contains("2 jobs failed") && out.contains("| broken |"), "\(err)")
    #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("results.json").path))
    // A diverging original is a clear error, not a table of NaN.
    let nan = dir.appendingPathComponent("nan.yaml")
    try Data(
      TestSupport.digitsConfig(
        "model: {hidden: [8]}", "training: {epochs: 1, learning_rate: 1.0e30}", "evaluation: {models: 2}"
      ).utf8
    ).write(to: nan)
    let (s2, _, e2) = try runUnlearn([
      "evaluate", "--config", nan.path, "--out", dir.appendingPathComponent("nan").path,
    ])
    #expect(s2 == 1 && e2.contains("training diverged") && e2.contains("training.learning_rate"), "\(e2)")
  }

  @Test func leaderboard_refusesDuplicates_otherDatasets_andHugeBootstraps() throws {
    let dir = TestSupport.temporaryDirectory("leaderboard-hostile")
    let run = dir.appendingPathComponent("run")
    #expect(try runUnlearn(["evaluate", "--config", try Self.config(dir).path, "--out", run.path, "--quiet"]).0 == 0)
    let (s1, _, e1) = try runUnlearn(["leaderboard", run.path, run.path, "--out", dir.path])
    #expect(s1 == 1 && e1.contains("same run folder"), "\(e1)")
    let copy = dir.appendingPathComponent("copy")
    try FileManager.default.copyItem(at: run, to: copy)
    let (s2, _, e2) = try runUnlearn(["leaderboard", run.path, copy.path, "--out", dir.path])
    #expect(s2 == 1 && e2.contains("same experiment"), "\(e2)")
    let (s3, _, e3) = try runUnlearn(["leaderboard", run.path, "--bootstrap", "1000000000", "--out", dir.path])
    #expect(s3 != 0 && e3.contains("--bootstrap must be between 1 and 100000"), "\(e3)")
    // A results.json from a newer schema is refused by name.
    let results = copy.appendingPathComponent("results.json")
    let newer = try String(contentsOf: results, encoding: .utf8).replacingOccurrences(
      of: "\"schema_version\" : 1", with: "\"schema_version\" : 99")
    try Data(newer.utf8).write(to: results)
    let (s4, _, e4) = try runUnlearn(["leaderboard", copy.path, "--out", dir.path])
    #expect(s4 == 1 && e4.contains("schema version 99"), "\(e4)")
    // Negative values are shown as numbers (the forget confidence of the references is below 0).
    let (s5, out5, e5) = try runUnlearn(["leaderboard", run.path, "--by", "forget_confidence", "--out", dir.path])
    #expect(s5 == 0 && out5.contains("| ref | retrain | 2 | -"), "\(out5)\(e5)")
    // A run on other data is not pooled with this one.
    let data = dir.appendingPathComponent("digits")
    try FileManager.default.copyItem(at: URL(fileURLWithPath: TestSupport.digitsPath), to: data)
    try FileManager.default.removeItem(at: data.appendingPathComponent("images/0000.png"))
    try FileManager.default.copyItem(
      at: data.appendingPathComponent("images/0001.png"), to: data.appendingPathComponent("images/0000.png"))
    let other = dir.appendingPathComponent("other.yaml")
    try Data(
      (try String(contentsOf: try Self.config(dir), encoding: .utf8)).replacingOccurrences(
        of: TestSupport.digitsPath, with: data.path
      ).utf8
    ).write(to: other)
    let otherRun = dir.appendingPathComponent("other-run")
    #expect(try runUnlearn(["evaluate", "--config", other.path, "--out", otherRun.path, "--quiet"]).0 == 0)
    let (s6, _, e6) = try runUnlearn(["leaderboard", run.path, otherRun.path, "--out", dir.path])
    #expect(s6 == 1 && e6.contains("another dataset"), "\(e6)")
  }

  @Test func fullDisk_isAClearError_andLeavesNoTemporaryFiles() throws {
    let dir = TestSupport.temporaryDirectory("full-disk")
    let run = dir.appendingPathComponent("run")
    let (status, _, text) = try runUnlearn(
      ["evaluate", "--config", try Self.config(dir).path, "--out", run.path],
      via: ["/usr/bin/prlimit", "--fsize=60000"])
    #expect(status == 1 && text.contains("File too large") && text.contains("run the same command"), "\(text)")
    #expect(!text.contains("Error Domain") && !text.contains("UserInfo"), "\(text)")
    let leftovers = (FileManager.default.enumerator(atPath: run.path)?.allObjects as? [String] ?? []).filter {
      $0.contains(".tmp-")
    }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }

  @Test func failedMerge_leavesNoPartialFolder() throws {
    let dir = TestSupport.temporaryDirectory("merge-cleanup")
    let c = try Self.config(dir)
    let s0 = dir.appendingPathComponent("s0"), s1 = dir.appendingPathComponent("s1")
    #expect(try runUnlearn(["evaluate", "--config", c.path, "--out", s0.path, "--shard", "0/2", "--quiet"]).0 == 0)
    #expect(try runUnlearn(["evaluate", "--config", c.path, "--out", s1.path, "--shard", "1/2", "--quiet"]).0 == 0)
    // Shard 1's copy of a shared file differs: the merge is refused after copying shard 0.
    let splits = s1.appendingPathComponent("splits.json")
    try Data((try String(contentsOf: splits, encoding: .utf8) + " ").utf8).write(to: splits)
    let merged = dir.appendingPathComponent("merged")
    let (status, _, err) = try runUnlearn(["merge", s0.path, s1.path, "--out", merged.path])
    #expect(status == 1 && err.contains("differs from"), "\(err)")
    #expect(!FileManager.default.fileExists(atPath: merged.path))
  }

  @Test func unreadableClassFolder_isAnError_forAnUnprivilegedUser() throws {
    guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
    let dir = URL(fileURLWithPath: "/tmp/unlearn-unreadable-\(UUID().uuidString)")
    for (k, name) in ["a", "b"].enumerated() {
      let folder = dir.appendingPathComponent(name)
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      try Data(contentsOf: TestSupport.fixtures.appendingPathComponent("png/gray8.png")).write(
        to: folder.appendingPathComponent("\(k).png"))
    }
    chmod(dir.path, 0o755)
    chmod(dir.appendingPathComponent("a").path, 0o755)
    chmod(dir.appendingPathComponent("b").path, 0)
    let (status, _, text) = try runUnlearn(
      ["dataset", "inspect", dir.path], via: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    #expect(status == 1 && text.contains("\(dir.path)/b: folder cannot be listed"), "\(text)")
  }

  @Test func scorers_refuseImpossibleInputs() throws {
    let dir = TestSupport.temporaryDirectory("scorer-inputs")
    let u = dir.appendingPathComponent("u.npy"), r = dir.appendingPathComponent("r.npy")
    try NPYArray(shape: [2, 3], storage: .float64([0, 1, 2, 0, 1, 2])).encoded().write(to: u)
    try NPYArray(shape: [2, 3], storage: .float64([0, 1, 2, 0, 1, 3])).encoded().write(to: r)
    let accuracy = [
      "--retain-accuracy-unlearned", "500", "--retain-accuracy-retrained", "0.9", "--test-accuracy-unlearned", "0.9",
      "--test-accuracy-retrained", "0.9",
    ]
    let (s1, _, e1) = try runUnlearn(["score", "challenge", "--unlearned", u.path, "--retrained", r.path] + accuracy)
    #expect(s1 != 0 && e1.contains("a percentage (0–100)"), "\(e1)")
    let empty = dir.appendingPathComponent("e.npy")
    try NPYArray(shape: [2, 0], storage: .float64([])).encoded().write(to: empty)
    let (s2, _, e2) = try runUnlearn(["score", "challenge", "--unlearned", empty.path, "--retrained", empty.path])
    #expect(s2 == 1 && e2.contains("F needs at least one"), "\(e2)")
    let negative = dir.appendingPathComponent("n.npy")
    try NPYArray(shape: [3], storage: .float64([0.1, -2, 0.3])).encoded().write(to: negative)
    let (s3, _, e3) = try runUnlearn(["score", "mia", "--members", negative.path, "--nonmembers", negative.path])
    #expect(s3 == 1 && e3.contains("losses must be ≥ 0"), "\(e3)")
  }
}
