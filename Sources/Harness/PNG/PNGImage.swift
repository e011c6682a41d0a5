import CPNGDecoder
import Foundation
import NumericCore

/// A decoded PNG image with 8-bit channels, interleaved row-major `[height, width, channels]`.
public struct PNGImage: Sendable, Equatable {
  public var width: Int
  public var height: Int
  /// 1 (gray) or 3 (RGB): alpha is dropped, palettes are expanded to RGB.
  public var channels: Int
  public var pixels: [UInt8]

  public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
    precondition(pixels.count == width * height * channels)
    self.width = width
    self.height = height
    self.channels = channels
    self.pixels = pixels
  }

  /// Largest accepted side and pixel count: a file declaring more is refused
  /// before any pixel memory is allocated.
  public static let maximumSide = 16_384
  public static let maximumPixels = 1 << 26
  /// Largest accepted PNG file (bytes), checked before the file is read.
  public static let maximumFileBytes = 256 << 20

  /// Decodes a PNG of any colour type and bit depth (gray, gray+alpha, RGB,
  /// RGBA, palette; 1/2/4/8/16-bit; Adam7 interlaced) through libpng,
  /// normalised to 8-bit channels:
  /// - sub-byte gray is scaled to 0–255 (a 1-bit 1 becomes 255, 2-bit 1 is 85);
  /// - 16-bit samples are scaled to 8 bits with rounding, `(v·255 + 32895) >> 16`
  ///   (exact for multiples of 257), with no gamma conversion;
  /// - palettes expand to RGB; alpha channels and tRNS are dropped, not composited.
  ///
  /// The declared size is checked (here and inside libpng) before any pixel
  /// memory is allocated.
  /// - Parameter name: the file name used in errors.
  public static func decode(_ data: Data, name: String) throws -> PNGImage {
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    let bytes = [UInt8](data)
    guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
      throw HarnessError(name, "not a PNG file (bad signature); re-export the image as PNG")
    }
    // IHDR is the first chunk: width and height are big-endian at bytes 16..<24.
    if bytes.count >= 24, Array(bytes[12..<16]) == Array("IHDR".utf8) {
      let w = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, h = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
      guard w <= maximumSide, h <= maximumSide, w * h <= maximumPixels else {
        throw HarnessError(
          name,
          "declares \(w)×\(h) pixels, beyond the limit of \(maximumSide) per side and \(maximumPixels) in all; "
            + "the file is corrupt or too large for an image dataset"
        )
      }
    }
    var pixels: UnsafeMutablePointer<UInt8>? = nil
    var width: UInt32 = 0, height: UInt32 = 0
    var channels: Int32 = 0
    var message = [CChar](repeating: 0, count: 256)
    let status = bytes.withUnsafeBufferPointer { raw in
      unlearn_png_decode(
        raw.baseAddress, raw.count, UInt32(maximumSide), UInt64(maximumPixels), &pixels, &width, &height, &channels,
        &message, message.count)
    }
    guard status == 0, let p = pixels else {
      let why = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw HarnessError(name, "truncated or corrupt PNG data (libpng: \(why)); re-export the image")
    }
    defer { unlearn_png_free(p) }
    let count = Int(width) * Int(height) * Int(channels)
    return PNGImage(
      width: Int(width), height: Int(height), channels: Int(channels),
      pixels: Array(UnsafeBufferPointer(start: p, count: count)))
  }

  /// Reads and decodes a PNG file.
  public static func read(_ url: URL, name: String? = nil) throws -> PNGImage {
    let label = name ?? url.path
    return try decode(try HarnessError.read(url, name: label, limit: maximumFileBytes), name: label)
  }

  /// The image with `channels` channels (gray is replicated to RGB; RGB cannot be reduced).
  public func expanded(to target: Int) -> PNGImage {
    if target == channels { return self }
    precondition(channels == 1 && target == 3, "only gray → RGB expansion is supported")
    var out = [UInt8](repeating: 0, count: width * height * 3)
    for p in 0..<(width * height) {
      out[3 * p] = pixels[p]
      out[3 * p + 1] = pixels[p]
      out[3 * p + 2] = pixels[p]
    }
    return PNGImage(width: width, height: height, channels: 3, pixels: out)
  }

  /// Planar `[channels, height, width]` floats in [0, 1] (value / 255), PyTorch's CHW order.
  public var planarFloats: [Float] {
    var out = [Float](repeating: 0, count: pixels.count)
    let hw = width * height
    for p in 0..<hw {
      for c in 0..<channels { out[c * hw + p] = Float(pixels[p * channels + c]) / 255 }
    }
    return out
  }
}
