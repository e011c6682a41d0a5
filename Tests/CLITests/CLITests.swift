import Foundation
import TestSupport
import Testing

@testable import UnlearnCLI

/// Runs the built `unlearn` binary and returns (status, stdout, stderr); with `via`, through that
/// command (`["/usr/bin/prlimit", "--fsize=60000"]`), which gets the binary's path and `args`.
func runUnlearn(_ args: [String], via wrapper: [String] = []) throws -> (Int32, String, String) {
  let candidates = [".build/release/unlearn", ".build/debug/unlearn"].map {
    TestSupport.repositoryRoot.appendingPathComponent($0)
  }
  guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
    throw CocoaError(.fileNoSuchFile)
  }
  let p = Process()
  p.executableURL = wrapper.first.map { URL(fileURLWithPath: $0) } ?? binary
  p.arguments = wrapper.isEmpty ? args : wrapper.dropFirst() + [binary.path] + args
  p.currentDirectoryURL = TestSupport.repositoryRoot
  let out = Pipe(), err = Pipe()
  p.standardOutput = out
  p.standardError = err
  try p.run()
  let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite struct ParseTests {
  @Test func train_parsesConfigAndOut() throws {
    let t = try Train.parse(["--config", "c.yaml", "--out", "dir", "--json"])
    #expect(t.options.config == "c.yaml" && t.out == "dir" && t.json)
  }

  @Test func inspect_parsesLayout() throws {
    let i = try DatasetCommand.Inspect.parse(["datasets/digits", "--layout", "manifest"])
    #expect(i.path == "datasets/digits" && i.layout == .manifest)
    #expect(throws: (any Error).self) { try DatasetCommand.Inspect.parse(["x", "--layout", "zip"]) }
  }
}

@Suite(.serialized) struct EndToEndTests {
  @Test func datasetInspect_printsTheSummaryJSON() throws {
    let (status, out, _) = try runUnlearn(["dataset", "inspect", "datasets/digits"])
    #expect(status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    #expect(json["num_examples"] as? Int == 1797)
    #expect(json["shape"] as? [Int] == [1, 8, 8])
    #expect((json["per_class"] as? [String: Int])?["0"] == 178)
    #expect((json["classes"] as? [String])?.count == 10)
  }

  @Test func datasetInspect_badFileExitsNonZeroNamingIt() throws {
    let root = TestSupport.temporaryDirectory("cli")
    try FileManager.default.copyItem(
      at: TestSupport.fixtures.appendingPathComponent("png/gray8.png"), to: root.appendingPathComponent("a.png"))
    try FileManager.default.copyItem(
      at: TestSupport.fixtures.appendingPathComponent("png/bad-truncated.png"), to: root.appendingPathComponent("b.png")
    )
    try Data("path,label\na.png,0\nb.png,1\n".utf8).write(to: root.appendingPathComponent("labels.csv"))
    let (status, out, err) = try runUnlearn(["dataset", "inspect", root.path])
    #expect(status != 0 && out.isEmpty)
    #expect(err.hasPrefix("error: b.png") && !err.contains("Fatal"), "\(err)")
  }

  @Test func train_writesModelAndSplitsAndReportsEverySplit() throws {
    let dir = TestSupport.temporaryDirectory("train")
    let config = dir.appendingPathComponent("c.yaml")
    try Data("training:\n  epochs: 3\n".utf8).write(to: config)
    let (status, out, _) = try runUnlearn(["train", "--config", config.path, "--out", dir.path, "--json"])
    #expect(status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    let accuracy = try #require(json["accuracy"] as? [String: Double])
    #expect(Set(accuracy.keys) == ["train", "retain", "forget", "test", "validation", "audit"])
    for f in ["model.safetensors", "architecture.json", "splits.json"] {
      #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), "\(f)")
    }
  }

  @Test func train_badConfigNamesTheKey() throws {
    let dir = TestSupport.temporaryDirectory("train")
    let config = dir.appendingPathComponent("c.yaml")
    try Data("training:\n  lr: 3\n".utf8).write(to: config)
    let (status, _, err) = try runUnlearn(["train", "--config", config.path])
    #expect(status != 0 && err.contains("training.lr") && err.contains("unknown key"))
  }
}

@Suite struct ProgressTests {
  @Test func describe_givesCountRateAndETA() {
    #expect(
      ProgressMeter.describe(done: 16, total: 64, elapsed: 8, label: "jobs") == "16/64 jobs · 2.0 jobs/s · ETA 0:24")
    #expect(
      ProgressMeter.describe(done: 2, total: 10, elapsed: 10, label: "jobs")
        == "2/10 jobs · 5.0 s per job · ETA 0:40")
    #expect(
      ProgressMeter.describe(done: 10, total: 10, elapsed: 3725, label: "jobs")
        == "10/10 jobs · 372.5 s per job · took 1:02:05")
    #expect(ProgressMeter.clock(59.6) == "1:00")
  }

  /// Not a terminal (a pipe, as in CI or Slurm): plain lines with rate and ETA; --quiet: nothing on stderr.
  @Test func evaluate_reportsProgressInPlainLines_andNothingWhenQuiet() throws {
    let dir = TestSupport.temporaryDirectory("progress")
    let config = dir.appendingPathComponent("c.yaml")
    try Data(
      TestSupport.digitsConfig(
        "model: {hidden: [16]}", "training: {epochs: 2}", "evaluation: {models: 4, algorithms: [finetune]}"
      ).utf8
    ).write(to: config)
    let (s0, _, err) = try runUnlearn([
      "evaluate", "--config", config.path, "--out", dir.appendingPathComponent("a").path,
    ])
    #expect(s0 == 0)
    // 4 retrain, 16 original-seeds, 4 finetune
    let lines = err.split(separator: "\n").filter { $0.contains("/24 jobs") }
    #expect(lines.count >= 2 && lines.last!.contains("24/24 jobs") && lines.last!.contains("took"), "\(err)")
    #expect(lines.dropLast().allSatisfy { $0.contains("ETA") } && !err.contains("\r"), "\(err)")
    let (s1, _, quietErr) = try runUnlearn([
      "evaluate", "--config", config.path, "--out", dir.appendingPathComponent("b").path, "--quiet",
    ])
    #expect(s1 == 0 && quietErr.isEmpty, "\(quietErr)")
  }
}
