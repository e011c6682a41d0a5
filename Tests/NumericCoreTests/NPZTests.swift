import CKernels
import Foundation
import TestSupport
import Testing

@testable import NumericCore

@Suite struct NPZTests {
  let archive = NPZArchive([
    .init(name: "forget", array: NPYArray(shape: [2, 3], storage: .float32([1, -2, 3.5, 4, 5, 6]))),
    .init(name: "retain", array: NPYArray(shape: [3], storage: .float64([0.1, -2, 1e300]))),
    .init(name: "ids", array: NPYArray(shape: [2, 2], storage: .int64([1, -2, 3, 1 << 40]))),
    .init(name: "empty", array: NPYArray(shape: [0, 10], storage: .float32([]))),
  ])

  @Test func crc32_matchesTheStandardCheckValueAndContinues() {
    let bytes = Array("123456789".utf8)
    #expect(bytes.withUnsafeBytes { NPZArchive.crc32(0, $0) } == 0xCBF4_3926)
    #expect(NPZArchive.crc32(0, UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
    // Every split point of a longer input (both the eight-byte steps and the byte tail).
    let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let whole = long.withUnsafeBytes { NPZArchive.crc32(0, $0) }
    for cut in [0, 1, 7, 8, 9, 500, 999, 1000] {
      let head = long.withUnsafeBytes { NPZArchive.crc32(0, UnsafeRawBufferPointer(rebasing: $0[..<cut])) }
      let both = long.withUnsafeBytes { NPZArchive.crc32(head, UnsafeRawBufferPointer(rebasing: $0[cut...])) }
      #expect(both == whole, "split at \(cut)")
    }
  }

  @Test func roundTripsAndGivesTheSameBytesEveryTime() throws {
    let data = try archive.encoded()
    #expect(try archive.encoded() == data)
    #expect(try NPZArchive.decode(data) == archive)
    let some = try NPZArchive.decode(data, only: ["retain", "empty"])
    #expect(some.entries.map(\.name) == ["retain", "empty"])
    #expect(some["retain"] == archive["retain"] && some["forget"] == nil)
  }

  /// NumPy reads our archives and we read NumPy's: `np.load` of ours gives the same arrays, and
  /// `np.savez` of them gives an archive we decode to the same arrays.
  @Test func interoperatesWithNumPy() throws {
    let dir = TestSupport.temporaryDirectory("npz")
    defer { try? FileManager.default.removeItem(at: dir) }
    let ours = dir.appendingPathComponent("ours.npz"), theirs = dir.appendingPathComponent("theirs.npz")
    try archive.encoded().write(to: ours)
    let script = """
      import numpy as np, sys
      z = np.load(sys.argv[1])
      assert z.files == ["forget", "retain", "ids", "empty"], z.files
      assert z["forget"].dtype == np.float32 and z["forget"].shape == (2, 3)
      assert (z["forget"] == np.array([[1, -2, 3.5], [4, 5, 6]], np.float32)).all()
      assert (z["retain"] == np.array([0.1, -2, 1e300])).all() and z["ids"][1, 1] == 1 << 40
      assert z["empty"].shape == (0, 10)
      np.savez(sys.argv[2], **{k: z[k] for k in z.files})
      """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, ours.path, theirs.path]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "numpy could not read our archive")
    #expect(try NPZArchive.read(theirs) == archive)
  }

  /// Every truncation and every single-byte corruption of an archive either decodes or throws a
  /// NumericCoreError; none crashes. Corrupt data bytes fail the CRC check.
  @Test func rejectsTruncatedAndCorruptArchivesWithoutCrashing() throws {
    let data = try archive.encoded()
    for cut in 0..<data.count {
      #expect(throws: NumericCoreError.self) { try NPZArchive.decode(data.prefix(cut), name: "x.npz") }
    }
    // Every byte of array data is covered by a CRC: flipping any of them is an error. (Some
    // header bytes, such as the version and the date, are read by no one.)
    var start = 0
    for entry in archive.entries {
      let name = "\(entry.name).npy".utf8.count, body = entry.array.encoded().count
      start += 30 + name
      for i in start..<(start + body) {
        var bad = data
        bad[i] ^= 0xA5
        #expect(throws: NumericCoreError.self, "byte \(i) of \(entry.name)") { try NPZArchive.decode(bad) }
      }
      if entry.name == "forget" {
        var flipped = data
        flipped[start + 128] ^= 1
        #expect {
          try NPZArchive.decode(flipped, name: "x.npz")
        } throws: { "\($0)".contains("x.npz: entry 'forget.npy' fails its CRC-32 check") }
      }
      start += body
    }
    var renamed = data
    renamed[30] = UInt8(ascii: "g")  // the first local header's copy of "forget.npy"
    #expect {
      try NPZArchive.decode(renamed, name: "x.npz")
    } throws: { "\($0)".contains("its local header does not match the zip directory") }
    // Any other byte: decoded or refused, never a crash.
    for i in 0..<data.count {
      var bad = data
      bad[i] ^= 0xA5
      _ = try? NPZArchive.decode(bad, name: "x.npz")
    }
  }

  @Test func refusesCompressedEntriesSayingWhatToDo() throws {
    var data = try archive.encoded()
    data[8] = 8  // the first local header's method: deflate
    // The central directory's copy is what the reader trusts: find it by its signature.
    let central = data.firstRange(of: Data([0x50, 0x4B, 0x01, 0x02]))!.lowerBound
    data[central + 10] = 8
    #expect {
      try NPZArchive.decode(data, name: "x.npz")
    } throws: { "\($0)".contains("compressed: save with numpy.savez, not numpy.savez_compressed") }
  }
}
