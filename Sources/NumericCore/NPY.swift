import Foundation

/// An array read from or written to a NumPy `.npy` file (format 1.0–3.0,
/// little-endian, C order).
public struct NPYArray: Sendable, Equatable {
  /// The element storage, by dtype.
  public enum Storage: Sendable, Equatable {
    case float32([Float])
    case float64([Double])
    case int64([Int64])
    case int32([Int32])
    case uint8([UInt8])
  }

  public var shape: [Int]
  public var storage: Storage

  public init(shape: [Int], storage: Storage) {
    self.shape = shape
    self.storage = storage
  }

  public init(_ tensor: Tensor) { self.init(shape: tensor.shape, storage: .float32(tensor.scalars)) }

  /// NumPy's dtype string (`<f4`, `<f8`, `<i8`, `<i4`, `|u1`).
  public var dtype: String {
    switch storage {
    case .float32: "<f4"
    case .float64: "<f8"
    case .int64: "<i8"
    case .int32: "<i4"
    case .uint8: "|u1"
    }
  }

  /// Number of elements.
  public var count: Int {
    switch storage {
    case .float32(let v): v.count
    case .float64(let v): v.count
    case .int64(let v): v.count
    case .int32(let v): v.count
    case .uint8(let v): v.count
    }
  }

  /// The elements widened to `Double` (exact for every supported dtype but int64 beyond 2^53).
  public var doubles: [Double] {
    switch storage {
    case .float32(let v): v.map(Double.init)
    case .float64(let v): v
    case .int64(let v): v.map(Double.init)
    case .int32(let v): v.map(Double.init)
    case .uint8(let v): v.map(Double.init)
    }
  }

  /// The elements as integers, or nil when the dtype is floating point.
  public var integers: [Int]? {
    switch storage {
    case .int64(let v): v.map(Int.init)
    case .int32(let v): v.map(Int.init)
    case .uint8(let v): v.map(Int.init)
    default: nil
    }
  }

  // MARK: Encoding

  /// The complete `.npy` file (format 1.0; header padded so the data starts on a 64-byte boundary).
  public func encoded() -> Data {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(dtype)', 'fortran_order': False, 'shape': \(shapeText), }"
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var out = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    let hlen = UInt16(header.utf8.count)
    out.append(contentsOf: [UInt8(hlen & 0xff), UInt8(hlen >> 8)])
    out.append(contentsOf: header.utf8)
    switch storage {
    case .float32(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
    case .float64(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
    case .int64(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
    case .int32(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
    case .uint8(let v): out.append(contentsOf: v)
    }
    return out
  }

  // MARK: Decoding

  /// Parses a `.npy` file. `name` is used in error messages.
  public static func decode(_ data: Data, name: String = "array") throws -> NPYArray {
    try data.withUnsafeBytes { try decode(bytes: $0, name: name) }
  }

  /// Parses the bytes of a `.npy` file; the data are copied once, into the array's storage.
  static func decode(bytes: UnsafeRawBufferPointer, name: String) throws -> NPYArray {
    func fail(_ why: String) -> NumericCoreError { .malformedFile(name, why) }
    guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
      throw fail("not a .npy file (missing \\x93NUMPY magic)")
    }
    let major = bytes[6]
    let headerLength: Int
    let headerStart: Int
    switch major {
    case 1:
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      headerStart = 10
    case 2, 3:
      guard bytes.count >= 12 else { throw fail("truncated header") }
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
      headerStart = 12
    default:
      throw fail("unsupported .npy format version \(major)")
    }
    guard headerLength <= 1 << 20, headerStart + headerLength <= bytes.count else {
      throw fail("header length \(headerLength) exceeds the file")
    }
    guard
      let header = String(
        bytes: UnsafeRawBufferPointer(rebasing: bytes[headerStart..<(headerStart + headerLength)]), encoding: .utf8)
    else { throw fail("header is not text") }
    guard let descr = field(header, "descr") else { throw fail("header has no 'descr'") }
    let descrValue = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
    if let fo = field(header, "fortran_order"), fo.hasPrefix("True") {
      throw fail("Fortran-ordered arrays are not supported; save with np.ascontiguousarray")
    }
    guard let shapeText = field(header, "shape") else { throw fail("header has no 'shape'") }
    let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
      .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    var shape = [Int]()
    for d in dims {
      guard let v = Int(d), v >= 0 else { throw fail("bad dimension '\(d)' in shape") }
      shape.append(v)
    }
    var count = 1
    for d in shape {
      let (p, o) = count.multipliedReportingOverflow(by: d)
      guard !o, p <= 1 << 34 else { throw fail("shape \(shape) is too large") }
      count = p
    }
    let bodyStart = headerStart + headerLength, bodyCount = bytes.count - bodyStart
    func load<T>(_ type: T.Type, _ size: Int) throws -> [T] {
      guard bodyCount == count * size else {
        throw fail(
          "expected \(count * size) data bytes for shape \(shape) and dtype \(descrValue), found \(bodyCount)")
      }
      // A byte copy: the body need not be aligned for T.
      return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 {
          UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(
            from: bytes.baseAddress! + bodyStart, byteCount: count * size)
        }
        initialized = count
      }
    }
    let storage: Storage
    switch descrValue {
    case "<f4", "=f4": storage = .float32(try load(Float.self, 4))
    case "<f8", "=f8": storage = .float64(try load(Double.self, 8))
    case "<i8", "=i8": storage = .int64(try load(Int64.self, 8))
    case "<i4", "=i4": storage = .int32(try load(Int32.self, 4))
    case "|u1", "<u1", "|b1": storage = .uint8(try load(UInt8.self, 1))
    default:
      throw fail("unsupported dtype '\(descrValue)' (use float32, float64, int32, int64 or uint8, little-endian)")
    }
    return NPYArray(shape: shape, storage: storage)
  }

  /// Reads a `.npy` file.
  public static func read(_ url: URL, limit: Int = FileInput.defaultLimit) throws -> NPYArray {
    try decode(try FileInput.read(url, limit: limit), name: url.path)
  }

  /// Extracts the raw text of `'key': value` from a NumPy header dictionary (the key in single
  /// quotes, else in double quotes; searched in the header's bytes, which the format keeps ASCII).
  private static func field(_ header: String, _ key: String) -> String? {
    let h = Array(header.utf8), k = Array(key.utf8)
    var found: Int?
    search: for quote in [UInt8(ascii: "'"), UInt8(ascii: "\"")] where h.count >= k.count + 2 {
      for i in 0...(h.count - k.count - 2) where h[i] == quote && h[i + k.count + 1] == quote {
        if h[(i + 1)..<(i + 1 + k.count)].elementsEqual(k) {
          found = i + k.count + 2
          break search
        }
      }
    }
    guard var i = found else { return nil }
    while i < h.count && (h[i] == UInt8(ascii: " ") || h[i] == UInt8(ascii: ":")) { i += 1 }
    if i < h.count && h[i] == UInt8(ascii: "(") {
      guard let close = h[i...].firstIndex(of: UInt8(ascii: ")")) else { return nil }
      return String(decoding: h[i...close], as: UTF8.self)
    }
    var end = i
    while end < h.count && h[end] != UInt8(ascii: ",") && h[end] != UInt8(ascii: "}") { end += 1 }
    return String(decoding: h[i..<end], as: UTF8.self).trimmingCharacters(in: .whitespaces)
  }
}

/// Errors raised by NumericCore's file formats.
public enum NumericCoreError: Error, CustomStringConvertible, Equatable {
  case malformedFile(String, String)
  case unreadableFile(String, String)
  case unwritableFile(String, String)

  public var description: String {
    switch self {
    case .malformedFile(let f, let why): "\(f): \(why)"
    case .unreadableFile(let f, let why): "\(f): cannot be read (\(why))"
    case .unwritableFile(let f, let why): "\(f): \(why)"
    }
  }
}

/// Writes `data` to `url` atomically: into a temporary file in the same folder, then renamed
/// over the destination, so a reader (or a resumed run) never sees a partial file. A failure (a
/// read-only folder, a full disk, a file-size limit) removes the temporary file and throws an
/// error naming the file and the system's reason.
public func writeAtomically(_ data: Data, to url: URL) throws {
  func fail(_ what: String, _ code: Int32) -> NumericCoreError {
    let hint =
      code == ENOSPC || code == EDQUOT || code == EFBIG
      ? "; free disk space (or raise the quota) and run the same command again to resume"
      : code == EACCES || code == EROFS || code == EPERM ? "; choose a writable output folder" : ""
    return .unwritableFile(url.path, "\(what) (\(String(cString: strerror(code))))\(hint)")
  }
  let dir = url.deletingLastPathComponent()
  do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
    var isDir: ObjCBool = false
    let code =
      FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) && !isDir.boolValue ? ENOTDIR : EACCES
    throw fail("cannot create the folder \(dir.path)", code)
  }
  let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
  let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
  guard fd >= 0 else { throw fail("cannot be written", errno) }
  var code: Int32 = 0
  data.withUnsafeBytes { raw in
    var done = 0
    while done < raw.count {
      let n = write(fd, raw.baseAddress! + done, raw.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        code = errno
        return
      }
      done += n
    }
  }
  if close(fd) != 0 && code == 0 { code = errno }
  if code == 0 && rename(tmp.path, url.path) != 0 { code = errno }
  if code != 0 {
    unlink(tmp.path)
    throw fail("cannot be written", code)
  }
}
