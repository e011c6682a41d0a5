import CCairo
import CZlib
import Foundation
import Harness

/// A plot drawn once, in the two forms the reports use.
public struct RenderedPlot: Sendable {
  /// PNG, RGB, at twice the drawing's size.
  public var png: Data
  /// A standalone `<svg>` element (text as glyph outlines, ids prefixed so several can share a page,
  /// the plot's title as its accessible name and tooltip).
  public var svg: String
}

/// Collects the bytes cairo writes to a stream.
private final class ByteSink {
  var data = Data()
}

private func appendBytes(_ closure: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<UInt8>?, _ length: UInt32)
  -> cairo_status_t
{
  guard let closure, let bytes else { return CAIRO_STATUS_WRITE_ERROR }
  Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue().data.append(bytes, count: Int(length))
  return CAIRO_STATUS_SUCCESS
}

extension Plot {
  /// Draws the plot once into a cairo recording surface, then replays that drawing onto
  /// a PNG image surface (2× resolution, anti-aliased) and an SVG surface.
  /// - Parameter id: prefix for the SVG's internal ids (unique per plot on a page).
  public func render(id: String) throws -> RenderedPlot {
    var extents = cairo_rectangle_t(x: 0, y: 0, width: Self.width, height: Self.height)
    guard let recording = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents) else {
      throw HarnessError("plot \(title)", "cairo could not create a surface")
    }
    defer { cairo_surface_destroy(recording) }
    let cr = cairo_create(recording)
    PlotPainter(plot: self, cr: cr).paint()
    cairo_destroy(cr)
    let png = try replayPNG(recording)
    let svg = try replaySVG(recording)
    return RenderedPlot(png: png, svg: Self.standalone(svg, id: id, title: title))
  }

  func replayPNG(_ recording: OpaquePointer) throws -> Data {
    let image = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(Self.width * 2), Int32(Self.height * 2))
    defer { cairo_surface_destroy(image) }
    let cr = cairo_create(image)
    cairo_scale(cr, 2, 2)
    cairo_set_source_surface(cr, recording, 0, 0)
    cairo_paint(cr)
    cairo_destroy(cr)
    cairo_surface_flush(image)
    let w = Int(cairo_image_surface_get_width(image)), h = Int(cairo_image_surface_get_height(image))
    let stride = Int(cairo_image_surface_get_stride(image))
    guard cairo_surface_status(image) == CAIRO_STATUS_SUCCESS, let pixels = cairo_image_surface_get_data(image) else {
      throw HarnessError("plot \(title)", "cairo could not draw the image")
    }
    return try Self.png(rgb24: UnsafeRawPointer(pixels), width: w, height: h, stride: stride, name: "plot \(title)")
  }

  /// An RGB PNG of a cairo RGB24 image (each pixel 0x00RRGGBB in a native-endian 32-bit word):
  /// every row with the "Up" filter (the difference to the row above, zero wherever a plot repeats
  /// its rows), deflated at zlib level 3. Cairo's own writer tries every filter on every row and
  /// deflates at level 6: the same pixels in files a fifth smaller, at twice the time.
  static func png(rgb24 pixels: UnsafeRawPointer, width w: Int, height h: Int, stride: Int, name: String) throws
    -> Data
  {
    let rowBytes = 1 + 3 * w
    var raw = [UInt8](repeating: 0, count: h * rowBytes)
    raw.withUnsafeMutableBufferPointer { out in
      for y in 0..<h {
        let row = pixels + y * stride, o = y * rowBytes
        out[o] = 2  // Up
        let above = y > 0 ? pixels + (y - 1) * stride : nil
        for x in 0..<w {
          let v = row.load(fromByteOffset: 4 * x, as: UInt32.self)
          let u = above?.load(fromByteOffset: 4 * x, as: UInt32.self) ?? 0
          out[o + 1 + 3 * x] = UInt8(truncatingIfNeeded: v >> 16) &- UInt8(truncatingIfNeeded: u >> 16)
          out[o + 2 + 3 * x] = UInt8(truncatingIfNeeded: v >> 8) &- UInt8(truncatingIfNeeded: u >> 8)
          out[o + 3 + 3 * x] = UInt8(truncatingIfNeeded: v) &- UInt8(truncatingIfNeeded: u)
        }
      }
    }
    var bound = compressBound(uLong(raw.count))
    var deflated = [UInt8](repeating: 0, count: Int(bound))
    let status = compress2(&deflated, &bound, raw, uLong(raw.count), 3)
    guard status == Z_OK else { throw HarnessError(name, "zlib could not compress the PNG (status \(status))") }
    deflated.removeSubrange(Int(bound)...)
    var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    /// A 32-bit big-endian integer.
    func be32(_ v: Int) -> [UInt8] {
      [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
    }
    func chunk(_ type: String, _ body: [UInt8]) {
      let typed = Array(type.utf8) + body
      png.append(contentsOf: be32(body.count))
      png.append(contentsOf: typed)
      png.append(contentsOf: be32(Int(crc32(0, typed, uInt(typed.count)))))
    }
    // 8-bit RGB, deflate, filter method 0 (a filter per row), no interlace.
    chunk("IHDR", be32(w) + be32(h) + [8, 2, 0, 0, 0])
    chunk("IDAT", deflated)
    chunk("IEND", [])
    return png
  }

  func replaySVG(_ recording: OpaquePointer) throws -> String {
    let sink = ByteSink()
    let surface = cairo_svg_surface_create_for_stream(
      appendBytes, Unmanaged.passUnretained(sink).toOpaque(), Self.width, Self.height)
    cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX)
    let cr = cairo_create(surface)
    cairo_set_source_surface(cr, recording, 0, 0)
    cairo_paint(cr)
    cairo_destroy(cr)
    cairo_surface_finish(surface)
    let status = cairo_surface_status(surface)
    cairo_surface_destroy(surface)
    guard status == CAIRO_STATUS_SUCCESS else {
      throw HarnessError(
        "plot \(title)", "cairo could not write the SVG (\(String(cString: cairo_status_to_string(status))))")
    }
    return String(decoding: sink.data, as: UTF8.self)
  }

  /// The `<svg>` element of cairo's document, with every id and reference prefixed by `id`, and
  /// `title` as its accessible name (`role="img"`, `aria-label`) and `<title>` (the tooltip).
  static func standalone(_ document: String, id: String, title: String) -> String {
    var s = document
    if let start = s.range(of: "<svg") { s = String(s[start.lowerBound...]) }
    for (a, b) in [("id=\"", "id=\"\(id)-"), ("href=\"#", "href=\"#\(id)-"), ("url(#", "url(#\(id)-")] {
      s = s.replacingOccurrences(of: a, with: b)
    }
    let name = EvaluationReport.escape(title)
    if let open = s.range(of: "<svg"), let close = s.range(of: ">", range: open.upperBound..<s.endIndex) {
      s.replaceSubrange(
        open.upperBound..<close.upperBound,
        with: " role=\"img\" aria-label=\"\(name)\"" + s[open.upperBound..<close.upperBound] + "<title>\(name)</title>")
    }
    return s.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

/// Lays out and paints one plot on a cairo context: title on top, the frame with grid
/// and ticks, x label below, y label rotated on the left, legend on the right, every
/// margin measured from the text it holds.
struct PlotPainter {
  let plot: Plot
  let cr: OpaquePointer?

  static let font = "DejaVu Sans"
  static let ink = RGB(40, 40, 40), grid = RGB(232, 232, 232)

  func paint() {
    set(RGB(255, 255, 255))
    cairo_paint(cr)
    let frame = self.frame()
    drawGrid(frame)
    cairo_save(cr)
    cairo_rectangle(cr, frame.minX, frame.minY, frame.width, frame.height)
    cairo_clip(cr)
    if plot.diagonal { drawDiagonal(frame) }
    for s in plot.series where s.bars { drawBars(s, frame) }
    for s in plot.series where !s.bars { drawLine(s, frame) }
    cairo_restore(cr)
    set(Self.ink)
    cairo_set_line_width(cr, 1)
    cairo_rectangle(cr, frame.minX, frame.minY, frame.width, frame.height)
    cairo_stroke(cr)
    drawLegend(frame)
    drawLabels(frame)
  }

  // MARK: Layout

  func frame() -> CGRectLike {
    let tickHeight = 11.0, labelSize = 12.0
    let yTickWidth =
      Plot.ticks(plot.yRange, plot.yScale).map { width(Plot.label($0, plot.yScale), size: 11) }.max() ?? 0
    let legend = plot.series.map { width($0.name, size: 11) }.max().map { $0 + 36 } ?? 12
    let left = 14 + labelSize + 8 + yTickWidth + 6
    let top = 16 + 14 + 12.0
    let bottom = 6 + tickHeight + 10 + labelSize + 12
    let right = Swift.min(legend, Plot.width * 0.4)
    return CGRectLike(minX: left, minY: top, maxX: Plot.width - right, maxY: Plot.height - bottom)
  }

  /// Pixel position of a data point.
  func pixel(_ x: Double, _ y: Double, _ f: CGRectLike) -> (Double, Double) {
    let ux = Swift.min(Swift.max(Plot.unit(x, plot.xRange, plot.xScale), 0), 1)
    let uy = Swift.min(Swift.max(Plot.unit(y, plot.yRange, plot.yScale), 0), 1)
    return (f.minX + ux * f.width, f.maxY - uy * f.height)
  }

  // MARK: Parts

  func drawGrid(_ f: CGRectLike) {
    cairo_set_line_width(cr, 1)
    for t in Plot.ticks(plot.xRange, plot.xScale) {
      let (px, _) = pixel(t, plot.yRange.lowerBound, f)
      set(Self.grid)
      line(px, f.minY, px, f.maxY)
      set(Self.ink)
      text(Plot.label(t, plot.xScale), x: px, y: f.maxY + 6, size: 11, anchor: .top)
    }
    for t in Plot.ticks(plot.yRange, plot.yScale) {
      let (_, py) = pixel(plot.xRange.lowerBound, t, f)
      set(Self.grid)
      line(f.minX, py, f.maxX, py)
      set(Self.ink)
      text(Plot.label(t, plot.yScale), x: f.minX - 6, y: py, size: 11, anchor: .right)
    }
  }

  func drawDiagonal(_ f: CGRectLike) {
    let lo = Swift.max(plot.xRange.lowerBound, plot.yRange.lowerBound)
    let hi = Swift.min(plot.xRange.upperBound, plot.yRange.upperBound)
    let (ax, ay) = pixel(lo, lo, f), (bx, by) = pixel(hi, hi, f)
    set(RGB(160, 160, 160))
    cairo_set_line_width(cr, 1)
    var dash = [2.0, 3.0]
    cairo_set_dash(cr, &dash, 2, 0)
    line(ax, ay, bx, by)
    cairo_set_dash(cr, nil, 0, 0)
  }

  func drawBars(_ s: Plot.Series, _ f: CGRectLike) {
    set(s.color, alpha: 0.45)
    for (x, y) in s.points where y > 0 {
      let (ax, ay) = pixel(x - s.barWidth / 2, y, f), (bx, by) = pixel(x + s.barWidth / 2, plot.yRange.lowerBound, f)
      cairo_rectangle(cr, ax, ay, Swift.max(bx - ax, 0.5), Swift.max(by - ay, 0))
      cairo_fill(cr)
    }
  }

  func drawLine(_ s: Plot.Series, _ f: CGRectLike) {
    guard let first = s.points.first else { return }
    set(s.color)
    cairo_set_line_width(cr, 1.8)
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
    if s.dashed {
      var dash = [6.0, 4.0]
      cairo_set_dash(cr, &dash, 2, 0)
    }
    let (x0, y0) = pixel(first.0, first.1, f)
    cairo_move_to(cr, x0, y0)
    for p in s.points.dropFirst() {
      let (x, y) = pixel(p.0, p.1, f)
      cairo_line_to(cr, x, y)
    }
    cairo_stroke(cr)
    cairo_set_dash(cr, nil, 0, 0)
  }

  func drawLegend(_ f: CGRectLike) {
    for (k, s) in plot.series.enumerated() {
      let y = f.minY + 8 + Double(k) * 17
      set(s.color, alpha: s.bars ? 0.6 : 1)
      if s.bars {
        cairo_rectangle(cr, f.maxX + 10, y - 5, 14, 10)
        cairo_fill(cr)
      } else {
        cairo_set_line_width(cr, 2.2)
        if s.dashed {
          var dash = [4.0, 2.5]
          cairo_set_dash(cr, &dash, 2, 0)
        }
        line(f.maxX + 10, y, f.maxX + 24, y)
        cairo_set_dash(cr, nil, 0, 0)
      }
      set(Self.ink)
      text(s.name, x: f.maxX + 30, y: y, size: 11, anchor: .left)
    }
  }

  func drawLabels(_ f: CGRectLike) {
    set(Self.ink)
    text(plot.title, x: Plot.width / 2, y: 12, size: 14, bold: true, anchor: .top)
    let xCentre = width(plot.xLabel, size: 12) <= f.width ? (f.minX + f.maxX) / 2 : Plot.width / 2
    text(plot.xLabel, x: xCentre, y: Plot.height - 10, size: 12, anchor: .bottom)
    cairo_save(cr)
    cairo_translate(cr, 14, (f.minY + f.maxY) / 2)
    cairo_rotate(cr, -Double.pi / 2)
    text(plot.yLabel, x: 0, y: 0, size: 12, anchor: .top)
    cairo_restore(cr)
  }

  // MARK: Primitives

  func set(_ c: RGB, alpha: Double = 1) {
    cairo_set_source_rgba(cr, Double(c.r) / 255, Double(c.g) / 255, Double(c.b) / 255, alpha)
  }

  func line(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double) {
    cairo_move_to(cr, ax, ay)
    cairo_line_to(cr, bx, by)
    cairo_stroke(cr)
  }

  func font(size: Double, bold: Bool) {
    cairo_select_font_face(
      cr, Self.font, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
    cairo_set_font_size(cr, size)
  }

  func width(_ s: String, size: Double, bold: Bool = false) -> Double {
    font(size: size, bold: bold)
    var e = cairo_text_extents_t()
    cairo_text_extents(cr, s, &e)
    return e.x_advance
  }

  enum Anchor { case top, bottom, left, right }

  /// Draws `s` with the anchor's side of its box at (x, y): top/bottom centred horizontally,
  /// left/right centred vertically on the font's x-height.
  func text(_ s: String, x: Double, y: Double, size: Double, bold: Bool = false, anchor: Anchor) {
    font(size: size, bold: bold)
    var e = cairo_font_extents_t()
    cairo_font_extents(cr, &e)
    let w = width(s, size: size, bold: bold)
    let (px, py): (Double, Double)
    switch anchor {
    case .top: (px, py) = (x - w / 2, y + e.ascent)
    case .bottom: (px, py) = (x - w / 2, y - e.descent)
    case .left: (px, py) = (x, y + (e.ascent - e.descent) / 2)
    case .right: (px, py) = (x - w, y + (e.ascent - e.descent) / 2)
    }
    cairo_move_to(cr, px, py)
    cairo_show_text(cr, s)
  }
}

/// A rectangle in drawing coordinates.
struct CGRectLike {
  var minX: Double, minY: Double, maxX: Double, maxY: Double
  var width: Double { maxX - minX }
  var height: Double { maxY - minY }
}
