import Foundation

/// Reading and writing the safetensors format (Hugging Face): an 8-byte
/// little-endian header length `N`, `N` bytes of JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the raw little-endian tensor bytes.
///
/// The reader validates everything before trusting it: header size against the
/// file, JSON structure, dtypes, shapes against byte ranges, and that the byte
/// ranges tile the data area exactly (no gaps, no overlaps), as the format
/// requires. Tensors are written as `F32`.
public enum Safetensors {
  /// The largest header accepted (the reference implementation uses 100 MB).
  public static let maximumHeaderBytes = 100_000_000

  /// A named tensor in file order.
  public struct Entry: Sendable, Equatable {
    public var name: String
    public var tensor: Tensor
    public init(name: String, tensor: Tensor) {
      self.name = name
      self.tensor = tensor
    }
  }

  /// Encodes `entries` (in the given order) with optional string metadata.
  /// The output is byte-for-byte deterministic.
  public static func encode(_ entries: [Entry], metadata: [String: String] = [:]) -> Data {
    var parts = [String]()
    if !metadata.isEmpty {
      let meta = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
      parts.append("\"__metadata__\":{\(meta.joined(separator: ","))}")
    }
    var offset = 0
    for e in entries {
      let bytes = e.tensor.scalars.count * 4
      let shape = e.tensor.shape.map(String.init).joined(separator: ",")
      parts.append(
        "\(jsonString(e.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
      offset += bytes
    }
    var header = "{" + parts.joined(separator: ",") + "}"
    while header.utf8.count % 8 != 0 { header += " " }
    var out = Data()
    var n = UInt64(header.utf8.count).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(contentsOf: header.utf8)
    for e in entries { e.tensor.scalars.withUnsafeBytes { out.append(contentsOf: $0) } }
    return out
  }

  /// Decodes and validates a safetensors file. `name` appears in every error.
  /// Returns the entries in data order and the metadata.
  public static func decode(_ data: Data, name: String) throws -> (entries: [Entry], metadata: [String: String]) {
    func fail(_ why: String) -> NumericCoreError { .malformedFile(name, why) }
    guard data.count >= 8 else { throw fail("file is \(data.count) bytes, shorter than the 8-byte header length") }
    let bytes = [UInt8](data)
    var n: UInt64 = 0
    for i in (0..<8).reversed() { n = n << 8 | UInt64(bytes[i]) }
    guard n <= UInt64(maximumHeaderBytes) else {
      throw fail(
        "declared header size \(n) bytes exceeds the \(maximumHeaderBytes)-byte limit "
          + "(corrupt or not a safetensors file)"
      )
    }
    guard 8 + Int(n) <= bytes.count else {
      throw fail("declared header size \(n) bytes runs past the end of the \(bytes.count)-byte file")
    }
    let headerBytes = Data(bytes[8..<(8 + Int(n))])
    guard let object = try? JSONSerialization.jsonObject(with: headerBytes), let header = object as? [String: Any]
    else {
      throw fail("header is not a JSON object")
    }
    if let duplicate = duplicateKey(headerBytes) {
      throw fail("tensor '\(duplicate)' appears twice in the header (each name must be unique)")
    }
    let dataArea = bytes[(8 + Int(n))...]
    var metadata = [String: String]()
    var entries = [(begin: Int, end: Int, entry: Entry)]()
    for (key, value) in header {
      if key == "__metadata__" {
        guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
        for (k, v) in m {
          guard let s = v as? String else { throw fail("__metadata__[\(k)] is not a string") }
          metadata[k] = s
        }
        continue
      }
      guard let info = value as? [String: Any] else { throw fail("tensor '\(key)': entry is not an object") }
      guard let dtype = info["dtype"] as? String else { throw fail("tensor '\(key)': missing dtype") }
      guard let shapeAny = info["shape"] as? [Any], let offsetsAny = info["data_offsets"] as? [Any],
        offsetsAny.count == 2
      else { throw fail("tensor '\(key)': missing or malformed shape/data_offsets") }
      var shape = [Int]()
      for d in shapeAny {
        guard let v = integer(d), v <= 1 << 31 else {
          throw fail("tensor '\(key)': bad shape \(shapeAny)")
        }
        shape.append(v)
      }
      guard let begin = integer(offsetsAny[0]), let end = integer(offsetsAny[1]),
        begin >= 0, end >= begin, end <= dataArea.count
      else { throw fail("tensor '\(key)': data_offsets \(offsetsAny) outside the \(dataArea.count)-byte data area") }
      var count = 1
      for d in shape {
        let (p, o) = count.multipliedReportingOverflow(by: d)
        guard !o else { throw fail("tensor '\(key)': shape \(shape) overflows") }
        count = p
      }
      let width: Int
      switch dtype {
      case "F32": width = 4
      case "F64": width = 8
      default: throw fail("tensor '\(key)': unsupported dtype \(dtype) (save the weights as float32)")
      }
      let (needed, o) = count.multipliedReportingOverflow(by: width)
      guard !o, needed == end - begin else {
        throw fail(
          "tensor '\(key)': shape \(shape) of \(dtype) needs \(o ? "more than Int.max" : String(needed)) "
            + "bytes, data_offsets give \(end - begin)")
      }
      // Copied out of the file's bytes: tensors need not start at aligned offsets.
      let raw = Array(dataArea[(dataArea.startIndex + begin)..<(dataArea.startIndex + end)])
      let scalars: [Float] =
        width == 4
        ? raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        : raw.withUnsafeBytes { $0.bindMemory(to: Double.self).map { Float($0) } }
      entries.append((begin, end, Entry(name: key, tensor: Tensor(shape: shape, scalars: scalars))))
    }
    // The byte ranges must tile the data area: sorted by offset, each starts where the last ended.
    entries.sort { $0.begin < $1.begin || ($0.begin == $1.begin && $0.entry.name < $1.entry.name) }
    var cursor = 0
    for (begin, end, e) in entries {
      guard begin == cursor else {
        throw fail(
          begin < cursor
            ? "tensor '\(e.name)' overlaps the previous tensor's bytes"
            : "gap before tensor '\(e.name)' in the data area")
      }
      cursor = end
    }
    guard cursor == dataArea.count else {
      throw fail("\(dataArea.count - cursor) trailing bytes after the last tensor")
    }
    return (entries.map(\.entry), metadata)
  }

  /// Reads and validates a safetensors file of at most `limit` bytes (checked before reading).
  public static func read(_ url: URL, limit: Int = FileInput.defaultLimit) throws -> (
    entries: [Entry], metadata: [String: String]
  ) {
    try decode(try FileInput.read(url, limit: limit), name: url.path)
  }

  /// A non-negative whole JSON number below 2^53, or nil (fractions, huge values, strings).
  static func integer(_ value: Any) -> Int? {
    guard let n = value as? NSNumber else { return nil }
    let d = n.doubleValue
    guard d.isFinite, d >= 0, d < 9_007_199_254_740_992, d == d.rounded() else { return nil }
    return Int(d)
  }

  /// The first key that appears twice at the top level of a JSON object (JSONSerialization
  /// keeps the last silently), compared after unescaping.
  static func duplicateKey(_ json: Data) -> String? {
    var seen = Set<String>()
    var depth = 0, inString = false, escaped = false, expectKey = false
    var start = 0
    let bytes = [UInt8](json)
    for (i, b) in bytes.enumerated() {
      if inString {
        if escaped {
          escaped = false
        } else if b == UInt8(ascii: "\\") {
          escaped = true
        } else if b == UInt8(ascii: "\"") {
          inString = false
          if depth == 1 && expectKey {
            let token = Data(bytes[start...i])
            let key =
              (try? JSONSerialization.jsonObject(with: token, options: .fragmentsAllowed) as? String)
              ?? String(decoding: token, as: UTF8.self)
            if !seen.insert(key).inserted { return key }
            expectKey = false
          }
        }
        continue
      }
      switch b {
      case UInt8(ascii: "\""):
        inString = true
        start = i
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
        expectKey = depth == 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
      case UInt8(ascii: ","): expectKey = depth == 1
      default: break
      }
    }
    return nil
  }

  private static func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "\r": out += "\\r"
      default:
        if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
      }
    }
    return out + "\""
  }
}
