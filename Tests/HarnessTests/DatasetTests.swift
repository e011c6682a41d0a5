import Foundation
import Harness
import Networks
import TestSupport
import Testing

/// Builds small datasets from the PNG fixtures in a temporary folder.
enum Fixture {
  static func png(_ name: String) -> Data {
    FileManager.default.contents(atPath: TestSupport.fixtures.appendingPathComponent("png/\(name)").path)!
  }

  static func folder(_ files: [String: Data], text: [String: String] = [:]) throws -> URL {
    let root = TestSupport.temporaryDirectory("dataset")
    for (path, data) in files {
      let url = root.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try data.write(to: url)
    }
    for (path, t) in text { try Data(t.utf8).write(to: root.appendingPathComponent(path)) }
    return root
  }

  static func expectError(_ needle: String, naming file: String, _ body: () throws -> Void) {
    do {
      try body()
      Issue.record("expected an error naming \(file)")
    } catch {
      #expect("\(error)".contains(file), "\(error)")
      #expect("\(error)".contains(needle), "\(error)")
    }
  }
}

@Suite struct DatasetLayoutTests {
  @Test func digits_loadsWithItsManifest() throws {
    let d = try Dataset.load(path: TestSupport.digitsPath)
    #expect(d.count == 1797 && d.numClasses == 10 && d.shape == [1, 8, 8] && d.layout == .manifest)
    #expect(d.perClassCounts == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    #expect(d.examples.features.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
  }

  @Test func imageFolder_sortsClassesAndFiles() throws {
    let root = try Fixture.folder([
      "cat/b.png": Fixture.png("gray8.png"), "cat/a.png": Fixture.png("gray4.png"),
      "ant/z.png": Fixture.png("gray2.png"),
    ])
    let d = try Dataset.load(path: root.path)
    #expect(d.layout == .imagefolder && d.classNames == ["ant", "cat"])
    #expect(d.paths == ["ant/z.png", "cat/a.png", "cat/b.png"] && d.examples.labels == [0, 1, 1])
  }

  @Test func kaggle_readsTrainLabels() throws {
    let root = try Fixture.folder(
      [
        "train/1.png": Fixture.png("rgb8.png"), "train/2.png": Fixture.png("rgb16.png"),
        "train/10.png": Fixture.png("palette8.png"),
      ],
      text: ["trainLabels.csv": "id,label\n10,frog\n2,cat\n1,frog\n"])
    let d = try Dataset.load(path: root.path)
    #expect(d.layout == .kaggle && d.classNames == ["cat", "frog"] && d.shape == [3, 3, 5])
    #expect(d.paths == ["train/1.png", "train/2.png", "train/10.png"] && d.examples.labels == [1, 0, 1])
  }

  @Test func manifest_mixedGrayAndRGB_expandsToThreeChannels() throws {
    let root = try Fixture.folder(
      ["a.png": Fixture.png("gray8.png"), "b.png": Fixture.png("rgba8.png")],
      text: ["labels.csv": "path,label,group\na.png,x,g1\nb.png,y,g2\n"])
    let d = try Dataset.load(path: root.path)
    #expect(d.shape == [3, 3, 5] && d.groups == ["g1", "g2"])
    // The gray image's three planes are equal.
    let row = Array(d.examples.features.row(0))
    #expect(Array(row[0..<15]) == Array(row[15..<30]) && Array(row[0..<15]) == Array(row[30..<45]))
  }

  @Test func sizeMismatch_namesTheFile() throws {
    let root = try Fixture.folder(
      ["a.png": Fixture.png("gray8.png"), "b.png": Fixture.png("odd-size.png")],
      text: ["labels.csv": "path,label\na.png,0\nb.png,1\n"])
    Fixture.expectError("every image of a dataset must have the same size", naming: "b.png") {
      _ = try Dataset.load(path: root.path)
    }
  }

  @Test func pathOutsideRoot_missingFile_andCorruptFile_areNamed() throws {
    let outside = try Fixture.folder(
      ["a.png": Fixture.png("gray8.png")], text: ["labels.csv": "path,label\na.png,0\n../escape.png,1\n"])
    Fixture.expectError("outside the dataset root", naming: "../escape.png") {
      _ = try Dataset.load(path: outside.path)
    }
    let missing = try Fixture.folder(
      ["a.png": Fixture.png("gray8.png")], text: ["labels.csv": "path,label\na.png,0\nnope.png,1\n"])
    Fixture.expectError("cannot be read (no such file)", naming: "nope.png") {
      _ = try Dataset.load(path: missing.path)
    }
    let corrupt = try Fixture.folder(
      ["a.png": Fixture.png("gray8.png"), "t.png": Fixture.png("bad-truncated.png")],
      text: ["labels.csv": "path,label\na.png,0\nt.png,1\n"])
    Fixture.expectError("truncated", naming: "t.png") { _ = try Dataset.load(path: corrupt.path) }
    let twice = try Fixture.folder(
      ["a.png": Fixture.png("gray8.png")], text: ["labels.csv": "path,label\na.png,0\na.png,1\n"])
    Fixture.expectError("listed twice", naming: "labels.csv") { _ = try Dataset.load(path: twice.path) }
    Fixture.expectError("cannot tell the dataset layout", naming: "empty") {
      let empty = TestSupport.temporaryDirectory("empty")
      _ = try Dataset.load(path: empty.path)
    }
  }
}
