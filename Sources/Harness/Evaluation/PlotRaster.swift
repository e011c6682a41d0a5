import CPNGDecoder
import Foundation

/// Rasterises a ``Plot`` into an RGB image and encodes it with libpng
/// (`plots/*.png`): the same frame, ticks, curves, bars and legend as the SVG,
/// with text in a 3×5 pixel font drawn at 2× (upper case).
extension Plot {
  public func png() throws -> Data {
    var canvas = Canvas(width: Int(Self.width), height: Int(Self.height))
    let (x0, y0) = pixel(xRange.lowerBound, yRange.lowerBound), (x1, y1) = pixel(xRange.upperBound, yRange.upperBound)
    let grid = RGB(229, 229, 229), ink = RGB(51, 51, 51)
    for t in ticks(xRange, xScale) {
      let (px, _) = pixel(t, yRange.lowerBound)
      canvas.line(px, y1, px, y0, grid)
      canvas.text(Self.label(t, xScale), px, y0 + 6, centered: true, ink)
    }
    for t in ticks(yRange, yScale) {
      let (_, py) = pixel(xRange.lowerBound, t)
      canvas.line(x0, py, x1, py, grid)
      canvas.text(Self.label(t, yScale), x0 - 4 - Double(Canvas.textWidth(Self.label(t, yScale))), py - 5, ink)
    }
    canvas.line(x0, y0, x1, y0, ink)
    canvas.line(x0, y1, x1, y1, ink)
    canvas.line(x0, y0, x0, y1, ink)
    canvas.line(x1, y0, x1, y1, ink)
    if diagonal {
      let lo = Swift.max(xRange.lowerBound, yRange.lowerBound), hi = Swift.min(xRange.upperBound, yRange.upperBound)
      let (ax, ay) = pixel(lo, lo), (bx, by) = pixel(hi, hi)
      canvas.line(ax, ay, bx, by, RGB(153, 153, 153), dash: 3)
    }
    for (k, s) in series.enumerated() {
      if s.bars {
        for (x, y) in s.points where y > 0 {
          let (ax, ay) = pixel(x - s.barWidth / 2, y), (bx, by) = pixel(x + s.barWidth / 2, yRange.lowerBound)
          canvas.fill(ax, ay, bx, by, s.color, alpha: 0.45)
        }
      } else {
        let pts = s.points.map { pixel($0.0, $0.1) }
        for i in pts.indices.dropFirst() {
          canvas.line(pts[i - 1].0, pts[i - 1].1, pts[i].0, pts[i].1, s.color, dash: s.dashed ? 5 : 0, thick: true)
        }
      }
      let ly = Self.top + 8 + Double(k) * 16
      canvas.fill(x1 + 10, ly - 8, x1 + 22, ly, s.color, alpha: 1)
      canvas.text(s.name, x1 + 26, ly - 8, ink)
    }
    canvas.text(title, Self.left, 3, ink)
    canvas.text(xLabel, (x0 + x1) / 2, Self.height - 16, centered: true, ink)
    canvas.text(yLabel, 4, Self.top - 12, ink)
    var out: UnsafeMutablePointer<UInt8>?
    var size = 0
    let status = canvas.pixels.withUnsafeBufferPointer {
      unlearn_png_encode_rgb($0.baseAddress, UInt32(canvas.width), UInt32(canvas.height), &out, &size)
    }
    guard status == 0, let out else { throw HarnessError("plot \(title)", "libpng could not encode the image") }
    defer { unlearn_png_free_encoded(out) }
    return Data(bytes: out, count: size)
  }
}

/// An RGB raster with lines, filled rectangles and a tiny bitmap font.
struct Canvas {
  let width: Int, height: Int
  var pixels: [UInt8]

  init(width: Int, height: Int) {
    self.width = width
    self.height = height
    pixels = [UInt8](repeating: 255, count: width * height * 3)
  }

  mutating func blend(_ x: Int, _ y: Int, _ c: RGB, _ alpha: Double = 1) {
    guard x >= 0, y >= 0, x < width, y < height else { return }
    let i = (y * width + x) * 3
    func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) * (1 - alpha) + Double(b) * alpha).rounded()) }
    pixels[i] = mix(pixels[i], c.r)
    pixels[i + 1] = mix(pixels[i + 1], c.g)
    pixels[i + 2] = mix(pixels[i + 2], c.b)
  }

  mutating func line(
    _ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, _ c: RGB, dash: Int = 0, thick: Bool = false
  ) {
    let steps = Int(Swift.max(abs(bx - ax), abs(by - ay)).rounded(.up)) + 1
    for s in 0...steps {
      if dash > 0 && (s / dash) % 2 == 1 { continue }
      let t = Double(s) / Double(Swift.max(steps, 1))
      let x = Int((ax + (bx - ax) * t).rounded()), y = Int((ay + (by - ay) * t).rounded())
      blend(x, y, c)
      if thick { blend(x, y + 1, c) }
    }
  }

  mutating func fill(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, _ c: RGB, alpha: Double) {
    let xs = Int(Swift.min(ax, bx).rounded())...Int(Swift.max(ax, bx).rounded())
    let ys = Int(Swift.min(ay, by).rounded())...Int(Swift.max(ay, by).rounded())
    for y in ys { for x in xs { blend(x, y, c, alpha) } }
  }

  static let scale = 2

  static func textWidth(_ s: String) -> Int { s.count * 4 * scale }

  /// Draws `s` with its top-left corner at (x, y) (or centred on x).
  mutating func text(_ s: String, _ x: Double, _ y: Double, centered: Bool = false, _ c: RGB) {
    var cx = Int(x.rounded()) - (centered ? Self.textWidth(s) / 2 : 0)
    let cy = Int(y.rounded())
    for ch in s.uppercased() {
      if let rows = Self.font[ch] {
        for (r, bits) in rows.enumerated() {
          for col in 0..<3 where bits & (4 >> col) != 0 {
            for dy in 0..<Self.scale {
              for dx in 0..<Self.scale { blend(cx + col * Self.scale + dx, cy + r * Self.scale + dy, c) }
            }
          }
        }
      }
      cx += 4 * Self.scale
    }
  }

  /// 3×5 glyphs, one 3-bit row each (bit 2 is the left column).
  static let font: [Character: [Int]] = [
    "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7], "4": [5, 5, 7, 1, 1],
    "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 2, 2, 2], "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7],
    "A": [2, 5, 7, 5, 5], "B": [6, 5, 6, 5, 6], "C": [3, 4, 4, 4, 3], "D": [6, 5, 5, 5, 6], "E": [7, 4, 6, 4, 7],
    "F": [7, 4, 6, 4, 4], "G": [3, 4, 5, 5, 3], "H": [5, 5, 7, 5, 5], "I": [7, 2, 2, 2, 7], "J": [1, 1, 1, 5, 2],
    "K": [5, 5, 6, 5, 5], "L": [4, 4, 4, 4, 7], "M": [5, 7, 7, 5, 5], "N": [6, 5, 5, 5, 5], "O": [2, 5, 5, 5, 2],
    "P": [6, 5, 6, 4, 4], "Q": [2, 5, 5, 6, 3], "R": [6, 5, 6, 5, 5], "S": [3, 4, 2, 1, 6], "T": [7, 2, 2, 2, 2],
    "U": [5, 5, 5, 5, 7], "V": [5, 5, 5, 5, 2], "W": [5, 5, 7, 7, 5], "X": [5, 5, 2, 5, 5], "Y": [5, 5, 2, 2, 2],
    "Z": [7, 1, 2, 4, 7], ".": [0, 0, 0, 0, 2], ",": [0, 0, 0, 2, 4], "-": [0, 0, 7, 0, 0], "−": [0, 0, 7, 0, 0],
    "+": [0, 2, 7, 2, 0], "(": [1, 2, 2, 2, 1], ")": [4, 2, 2, 2, 4], ":": [0, 2, 0, 2, 0], "/": [1, 1, 2, 4, 4],
    "%": [5, 1, 2, 4, 5], "=": [0, 7, 0, 7, 0], "_": [0, 0, 0, 0, 7], "≥": [4, 2, 1, 2, 7], "Ε": [3, 4, 6, 4, 3],
    "Σ": [7, 4, 2, 4, 7], "σ": [0, 3, 5, 5, 2], "'": [2, 2, 0, 0, 0],
  ]
}
