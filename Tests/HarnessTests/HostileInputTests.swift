import Foundation
import Networks
import NumericCore
import TestSupport
import Testing

@testable import Harness

/// Files and configurations written by someone careless or hostile: each case gives an error
/// naming the file or field, never a trap, a hang, a silent skip or an allocation out of
/// proportion to the input.
@Suite struct HostileInputTests {
  static func safetensors(_ header: String, dataBytes: Int = 0) -> Data {
    TestSupport.safetensors(header: header, dataBytes: dataBytes)
  }

  static func expectMessage(_ needle: String, _ body: () throws -> Void) {
    do {
      try body()
      Issue.record("expected an error containing '\(needle)'")
    } catch {
      #expect("\(error)".contains(needle), "\(error)")
    }
  }

  @Test func safetensors_hugeShape_isAnError_notAnOverflowTrap() {
    let data = Self.safetensors(
      #"{"w":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,16]}}"#, dataBytes: 16)
    Self.expectMessage("needs more than Int.max bytes") { _ = try Safetensors.decode(data, name: "u.safetensors") }
    // Within the per-dimension bound, the product times the width overflows Int: still an error.
    let wide = Self.safetensors(
      #"{"w":{"dtype":"F64","shape":[2147483648,2147483648,2147483648],"data_offsets":[0,16]}}"#, dataBytes: 16)
    Self.expectMessage("u.safetensors") { _ = try Safetensors.decode(wide, name: "u.safetensors") }
    let fraction = Self.safetensors(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, dataBytes: 4)
    Self.expectMessage("bad shape") { _ = try Safetensors.decode(fraction, name: "u.safetensors") }
    let huge = Self.safetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,1e300]}}"#, dataBytes: 4)
    Self.expectMessage("data_offsets") { _ = try Safetensors.decode(huge, name: "u.safetensors") }
  }

  @Test func safetensors_duplicateKeys_areRefused() {
    let data = Self.safetensors(
      #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
      dataBytes: 4)
    Self.expectMessage("'w' appears twice") { _ = try Safetensors.decode(data, name: "u.safetensors") }
    // The same name written with an escape is the same key.
    let escaped = Self.safetensors(
      #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"# + #""\u0077":{"dtype":"F32","shape":[1],"#
        + #""data_offsets":[4,8]}}"#,
      dataBytes: 8)
    Self.expectMessage("appears twice") { _ = try Safetensors.decode(escaped, name: "u.safetensors") }
    // Keys nested in the metadata or in a tensor entry are not top-level duplicates.
    let nested = Safetensors.encode(
      [
        .init(name: "a", tensor: Tensor(shape: [1], scalars: [1])),
        .init(name: "b", tensor: Tensor(shape: [1], scalars: [2])),
      ],
      metadata: ["a": "x"])
    #expect((try? Safetensors.decode(nested, name: "ok"))?.entries.count == 2)
  }

  @Test func modelFile_largerThanTheArchitectureAllows_isRefusedBeforeReading() throws {
    let dir = TestSupport.temporaryDirectory("big-safetensors")
    let architecture = Architecture(kind: .mlp, inputShape: [1, 8, 8], numClasses: 10, hidden: [4])
    let url = dir.appendingPathComponent("unlearned.safetensors")
    // A sparse 600 MB file: refusing it must not read (or allocate) 600 MB.
    #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
    let handle = try FileHandle(forWritingTo: url)
    try handle.truncate(atOffset: 600 << 20)
    try handle.close()
    Self.expectMessage("over the") { _ = try ModelFiles.load(url, architecture: architecture) }
  }

  @Test func directoryOrFIFO_givenAsAFile_isAnError_andNeverBlocks() throws {
    let dir = TestSupport.temporaryDirectory("fifo")
    Self.expectMessage("it is a folder") { _ = try NPYArray.read(dir) }
    let fifo = dir.appendingPathComponent("pipe.yaml")
    #expect(mkfifo(fifo.path, 0o644) == 0)
    Self.expectMessage("not a regular file") { _ = try ExperimentSpec.load(file: fifo) }
    Self.expectMessage("not a regular file") { _ = try Safetensors.read(fifo) }
  }

  @Test func yamlAliasBomb_isRefusedQuickly() {
    var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in 1...9 {
      lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]")
    }
    let start = Date()
    Self.expectMessage("YAML nodes") {
      _ = try ExperimentSpec.load(yaml: lines.joined(separator: "\n"), file: "bomb.yaml")
    }
    #expect(Date().timeIntervalSince(start) < 10)
    // Aliases in moderation are fine.
    #expect(throws: Never.self) {
      _ = try ConfigReader.parse(yaml: "a: &a {x: 1}\nb: *a\n", file: "ok.yaml")
    }
  }

  /// Found by the yaml fuzz target: Yams' constructor traps on a mapping key that is not text.
  @Test func yamlComplexKeys_areAnError_notATrap() {
    for text in ["training: {[finetune, sisa]}\n", "? {a: 1}\n: 2\n", "a: {b: {[1]: 2}}\n"] {
      Self.expectMessage("not text") { _ = try ExperimentSpec.load(yaml: text, file: "f.yaml") }
    }
  }

  @Test func hugeModel_isRefusedNamingTheField() throws {
    var spec = ExperimentSpec()
    spec.dataset.path = TestSupport.digitsPath
    spec.model = ModelSpec(architecture: .mlp, hidden: [100_000, 100_000])
    Self.expectMessage("model.hidden") { _ = try PreparedExperiment(spec: spec) }
    let overflow = Architecture(kind: .mlp, inputShape: [1, 8, 8], numClasses: 10, hidden: [Int.max / 2, 4])
    #expect(overflow.checkedParameterCount() == nil)
    #expect(throws: (any Error).self) { try overflow.validate() }
    // The count agrees with the network that is built.
    let mlp = Architecture(kind: .mlp, inputShape: [1, 8, 8], numClasses: 10, hidden: [16, 8])
    let small = Architecture(kind: .cnn, inputShape: [3, 8, 8], numClasses: 10, channels: [4, 8])
    let cnn = try Network(architecture: small, maxBatch: 1), mlpNet = try Network(architecture: mlp, maxBatch: 1)
    #expect(small.checkedParameterCount() == cnn.parameterCount)
    #expect(mlp.checkedParameterCount() == mlpNet.parameterCount)
  }

  @Test func manifest_twoNamesOfOneFile_areOneExampleListedTwice() throws {
    let root = try Fixture.folder(
      ["images/0000.png": Fixture.png("gray8.png"), "images/0001.png": Fixture.png("gray8.png")],
      text: ["labels.csv": "path,label\nimages/0000.png,a\nimages/0001.png,b\n./images/0000.png,a\n"])
    Fixture.expectError("same file as images/0000.png", naming: "./images/0000.png") {
      _ = try Dataset.load(path: root.path)
    }
    let linked = try Fixture.folder(
      ["images/0000.png": Fixture.png("gray8.png"), "images/0001.png": Fixture.png("gray8.png")],
      text: ["labels.csv": "path,label\nimages/0000.png,a\nimages/0001.png,b\nalias.png,a\n"])
    try FileManager.default.createSymbolicLink(
      atPath: linked.appendingPathComponent("alias.png").path, withDestinationPath: "images/0000.png")
    Fixture.expectError("same file", naming: "alias.png") { _ = try Dataset.load(path: linked.path) }
  }

  @Test func kaggle_emptyLabel_isAnError() throws {
    let root = try Fixture.folder(
      ["train/1.png": Fixture.png("rgb8.png"), "train/2.png": Fixture.png("rgb8.png")],
      text: ["trainLabels.csv": "id,label\n1,frog\n2,\n"])
    Fixture.expectError("empty id or label", naming: "trainLabels.csv:3") { _ = try Dataset.load(path: root.path) }
  }

  @Test func imageFolder_symlinkLoop_doesNotHang() throws {
    let root = try Fixture.folder(["a/x.png": Fixture.png("gray8.png"), "b/y.png": Fixture.png("gray8.png")])
    try FileManager.default.createSymbolicLink(
      atPath: root.appendingPathComponent("a/loop").path, withDestinationPath: root.appendingPathComponent("a").path)
    let d = try Dataset.load(path: root.path)
    #expect(d.paths == ["a/x.png", "b/y.png"])
  }

  /// As an unprivileged user a class folder with mode 000 cannot be listed; root reads it anyway,
  /// so there the CLI test runs the binary as nobody.
  @Test(.enabled(if: getuid() != 0)) func imageFolder_unreadableFolder_isAnError() throws {
    let root = try Fixture.folder(["a/x.png": Fixture.png("gray8.png"), "b/y.png": Fixture.png("gray8.png")])
    chmod(root.appendingPathComponent("b").path, 0)
    defer { chmod(root.appendingPathComponent("b").path, 0o755) }
    Fixture.expectError("cannot be listed", naming: "/b") { _ = try Dataset.load(path: root.path) }
  }

  @Test func datasetContentHash_seesPixels_labelsAndOrder() throws {
    let files = ["a/x.png": Fixture.png("gray8.png"), "b/y.png": Fixture.png("gray4.png")]
    let one = try Dataset.load(path: try Fixture.folder(files).path)
    let same = try Dataset.load(path: try Fixture.folder(files).path)
    #expect(one.contentSHA256 == same.contentSHA256)
    #expect(one.fileSHA256[0] == SHA256.hex([UInt8](Fixture.png("gray8.png"))))
    let changed = try Dataset.load(
      path: try Fixture.folder(["a/x.png": Fixture.png("gray8.png"), "b/y.png": Fixture.png("gray2.png")]).path)
    #expect(changed.fileListSHA256 == one.fileListSHA256 && changed.contentSHA256 != one.contentSHA256)
  }

  @Test func emptyTestSplit_isRefusedBeforeTraining_namingTheField() throws {
    var spec = ExperimentSpec()
    spec.dataset.path = TestSupport.digitsPath
    spec.split.testFraction = 0.001
    Self.expectMessage("split.test_fraction") { _ = try PreparedExperiment(spec: spec) }
    spec.split.testFraction = 0
    Self.expectMessage("split.test_fraction") { _ = try PreparedExperiment(spec: spec) }
    let root = try Fixture.folder(
      ["0.png": Fixture.png("gray8.png"), "1.png": Fixture.png("gray4.png"), "2.png": Fixture.png("gray2.png")],
      text: ["labels.csv": "path,label,split\n0.png,a,train\n1.png,b,train\n2.png,a,validation\n"])
    var manifest = ExperimentSpec()
    manifest.dataset.path = root.path
    Self.expectMessage("no test rows") { _ = try PreparedExperiment(spec: manifest) }
  }

  @Test func namesThatBecomePaths_areValidated() {
    for bad in ["", "../../x", "z/../retrain", ".hidden", "a b", "ü", String(repeating: "a", count: 101)] {
      #expect(PathName.problem(bad) != nil, "\(bad)")
    }
    for good in ["digits", "my-run_2.1", "A"] { #expect(PathName.problem(good) == nil) }
    Self.expectMessage("c.yaml: name") { _ = try ExperimentSpec.load(yaml: "name: ''\n", file: "c.yaml") }
    Self.expectMessage("c.yaml: name") { _ = try ExperimentSpec.load(yaml: "name: ../../x\n", file: "c.yaml") }
    Self.expectMessage("reserved") { try PathName.check("original", field: "x", reservedToo: true) }
  }

  @Test func forgetKeys_thatTheStrategyIgnores_areErrors() throws {
    Self.expectMessage("split.forget.fraction") {
      _ = try ExperimentSpec.load(yaml: "split: {forget: {strategy: ids, ids: [1, 2], fraction: 0.5}}\n", file: "c")
    }
    Self.expectMessage("the text \"1\"") {
      _ = try ExperimentSpec.load(yaml: "split: {forget: {strategy: ids, ids: ['1', '2']}}\n", file: "c")
    }
    // The resolved configuration of an ids run reads back (fraction is not written for it).
    let spec = try ExperimentSpec.load(yaml: "split: {forget: {strategy: ids, ids: [1, 2]}}\n", file: "c")
    #expect(try ExperimentSpec.load(yaml: spec.yaml, file: "resolved").split.forget.ids == [1, 2])
  }

  @Test func writeAtomically_failure_namesTheFile_andLeavesNoTemporaryFile() throws {
    let dir = TestSupport.temporaryDirectory("unwritable")
    let blocker = dir.appendingPathComponent("file")
    try Data("x".utf8).write(to: blocker)
    Self.expectMessage("cannot create the folder") {
      try writeAtomically(Data("y".utf8), to: blocker.appendingPathComponent("out.json"))
    }
    // A destination that is a folder: the rename fails, and the temporary file is removed.
    let folder = dir.appendingPathComponent("taken")
    try FileManager.default.createDirectory(
      at: folder.appendingPathComponent("inside"), withIntermediateDirectories: true)
    Self.expectMessage("taken: cannot be written") { try writeAtomically(Data("y".utf8), to: folder) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["file", "taken"])
  }
}
