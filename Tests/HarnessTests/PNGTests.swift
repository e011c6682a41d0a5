import Foundation
import Harness
import TestSupport
import Testing

struct ExpectedImage: Decodable {
  var width: Int
  var height: Int
  var channels: Int
  var pixels: [Int]
}

@Suite struct PNGTests {
  static let expected: [String: ExpectedImage] = {
    let url = TestSupport.fixtures.appendingPathComponent("png/expected.json")
    return (try? JSONDecoder().decode([String: ExpectedImage].self, from: Data(contentsOf: url))) ?? [:]
  }()

  @Test func fixtures_coverEveryColourTypeBitDepthAndInterlace() {
    let names = Set(Self.expected.keys)
    for base in [
      "gray1", "gray2", "gray4", "gray8", "gray16", "graya8", "graya16", "rgb8", "rgb16", "rgba8", "rgba16", "palette1",
      "palette2", "palette4", "palette8", "palette8-trns",
    ] {
      #expect(names.contains("\(base).png") && names.contains("\(base)-adam7.png"), "missing fixture \(base)")
    }
  }

  @Test(arguments: PNGTests.expected.keys.sorted())
  func decode_matchesKnownPixelValues(name: String) throws {
    let e = try #require(Self.expected[name])
    let img = try PNGImage.read(TestSupport.fixtures.appendingPathComponent("png/\(name)"))
    #expect(img.width == e.width && img.height == e.height && img.channels == e.channels)
    #expect(img.pixels.map(Int.init) == e.pixels, "\(name)")
  }

  @Test(arguments: [
    ("bad-truncated.png", "truncated or corrupt"), ("bad-not-png.png", "not a PNG file"),
    ("bad-huge.png", "beyond the limit"), ("bad-corrupt-data.png", "truncated or corrupt"),
  ])
  func decode_badFilesGiveErrorsNamingTheFile(name: String, needle: String) {
    let url = TestSupport.fixtures.appendingPathComponent("png/\(name)")
    #expect {
      try PNGImage.read(url, name: name)
    } throws: { error in
      let text = "\(error)"
      return text.hasPrefix(name) && text.contains(needle)
    }
  }

  @Test func read_missingFileIsNamed() {
    #expect { try PNGImage.read(URL(fileURLWithPath: "/nonexistent/x.png")) } throws: {
      "\($0)".contains("/nonexistent/x.png")
    }
  }
}
