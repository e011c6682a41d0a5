import CZlib
import Foundation

/// A NumPy `.npz` archive: named `.npy` arrays in one uncompressed zip file, as `numpy.savez`
/// writes it and `numpy.load` reads it (`np.load("logits.npz")["forget"]`).
///
/// Written as plain zip (PKWARE's APPNOTE 6.3): every entry stored (method 0) with its CRC-32,
/// dated 1980-01-01 00:00 so that the same arrays always give the same bytes. Read with every
/// offset and size checked against the file; compressed, encrypted, multi-disk and zip64
/// archives are refused with an error that says so.
public struct NPZArchive: Sendable, Equatable {
  /// One named array (the name without the `.npy` of its zip entry).
  public struct Entry: Sendable, Equatable {
    public var name: String
    public var array: NPYArray

    public init(name: String, array: NPYArray) {
      self.name = name
      self.array = array
    }
  }

  /// The arrays, in the archive's order.
  public var entries: [Entry]

  public init(_ entries: [Entry]) { self.entries = entries }

  /// The array named `name`, nil when the archive has none.
  public subscript(name: String) -> NPYArray? { entries.first { $0.name == name }?.array }

  // MARK: Encoding

  /// The complete `.npz` file. Throws past the limits of zip without zip64 extensions (an entry or
  /// the archive of 4 GiB or more, 65,535 entries or more), or for a name that is not printable ASCII.
  public func encoded() throws -> Data {
    var out = Data(), directory = Data()
    func fail(_ why: String) -> NumericCoreError { .unwritableFile("npz archive", why) }
    guard entries.count < 0xFFFF else { throw fail("\(entries.count) arrays: zip without zip64 holds at most 65,534") }
    for entry in entries {
      let name = Array("\(entry.name).npy".utf8)
      guard name.allSatisfy({ (0x20..<0x7F).contains($0) }), name.count < 0xFFFF else {
        throw fail("array name '\(entry.name)' must be printable ASCII")
      }
      let body = entry.array.encoded()
      let offset = out.count
      guard body.count < 0xFFFF_FFFF, offset < 0xFFFF_FFFF else {
        throw fail("array '\(entry.name)' ends past 4 GiB: zip without zip64 cannot hold it")
      }
      let crc = body.withUnsafeBytes { Self.crc32(0, $0) }
      // Local file header, then the data.
      Self.put32(&out, Self.localSignature)
      Self.putCommon(&out, crc: crc, size: body.count, nameLength: name.count)
      out.append(contentsOf: name)
      out.append(body)
      // Its central directory header.
      Self.put32(&directory, Self.centralSignature)
      Self.put16(&directory, Self.version)  // made by: MS-DOS attributes, zip 2.0
      Self.putCommon(&directory, crc: crc, size: body.count, nameLength: name.count)
      Self.put16(&directory, 0)  // comment length
      Self.put16(&directory, 0)  // disk number
      Self.put16(&directory, 0)  // internal attributes
      Self.put32(&directory, 0)  // external attributes
      Self.put32(&directory, UInt32(offset))
      directory.append(contentsOf: name)
    }
    guard out.count + directory.count < 0xFFFF_FFFF else {
      throw fail("the archive reaches 4 GiB: zip without zip64 cannot hold it")
    }
    let directoryOffset = out.count
    out.append(directory)
    Self.put32(&out, Self.endSignature)
    Self.put16(&out, 0)  // this disk
    Self.put16(&out, 0)  // the directory's disk
    Self.put16(&out, UInt16(entries.count))
    Self.put16(&out, UInt16(entries.count))
    Self.put32(&out, UInt32(directory.count))
    Self.put32(&out, UInt32(directoryOffset))
    Self.put16(&out, 0)  // comment length
    return out
  }

  /// zlib's CRC-32 (the checksum of zip, gzip and PNG) of `bytes`, continuing from `crc` (0 to
  /// start): crc32(crc32(0, a), b) is the CRC of a followed by b.
  static func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
    UInt32(crc32_z(uLong(crc), bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count))
  }

  static let localSignature: UInt32 = 0x0403_4B50, centralSignature: UInt32 = 0x0201_4B50
  static let endSignature: UInt32 = 0x0605_4B50
  /// Version 2.0 of the format (what `numpy.savez` writes as "needed to extract").
  static let version: UInt16 = 20
  /// 1980-01-01 in MS-DOS date format (the earliest date zip can hold; time 00:00:00).
  static let dosDate: UInt16 = 1 << 5 | 1

  /// The fields local and central headers share, from "version needed" to "extra field length".
  private static func putCommon(_ d: inout Data, crc: UInt32, size: Int, nameLength: Int) {
    put16(&d, version)
    put16(&d, 0)  // flags
    put16(&d, 0)  // method: stored
    put16(&d, 0)  // time
    put16(&d, dosDate)
    put32(&d, crc)
    put32(&d, UInt32(size))  // compressed size
    put32(&d, UInt32(size))  // uncompressed size
    put16(&d, UInt16(nameLength))
    put16(&d, 0)  // extra field length
  }

  private static func put16(_ d: inout Data, _ v: UInt16) { d.append(contentsOf: [UInt8(v & 0xFF), UInt8(v >> 8)]) }
  private static func put32(_ d: inout Data, _ v: UInt32) {
    d.append(contentsOf: [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)])
  }

  // MARK: Decoding

  /// Parses a `.npz` file; `name` is used in error messages. With `only`, decodes just the arrays
  /// of those names (the others are still listed in the directory and checked for bounds, but
  /// their data are neither checksummed nor decoded, and they are left out of the result).
  public static func decode(_ data: Data, name: String = "archive", only: Set<String>? = nil) throws -> NPZArchive {
    try data.withUnsafeBytes { try decode(bytes: $0, name: name, only: only) }
  }

  static func decode(bytes: UnsafeRawBufferPointer, name: String, only: Set<String>?) throws -> NPZArchive {
    func fail(_ why: String) -> NumericCoreError { .malformedFile(name, why) }
    func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
    let count = bytes.count
    // The end-of-directory record: the last 22 bytes, or earlier by a comment of up to 65,535 bytes.
    guard count >= 22 else { throw fail("not a .npz file (too short for a zip archive)") }
    var end = count - 22
    let earliest = Swift.max(0, count - 22 - 0xFFFF)
    while end >= earliest && !(u32(end) == Int(endSignature) && end + 22 + u16(end + 20) == count) { end -= 1 }
    guard end >= earliest else { throw fail("not a .npz file (no zip end-of-directory record)") }
    let total = u16(end + 10), directorySize = u32(end + 12), directoryOffset = u32(end + 16)
    guard u16(end + 4) == 0, u16(end + 6) == 0, u16(end + 8) == total else {
      throw fail("multi-disk zip archives are not supported")
    }
    guard total != 0xFFFF, directorySize != 0xFFFF_FFFF, directoryOffset != 0xFFFF_FFFF else {
      throw fail("zip64 archives are not supported (arrays of 4 GiB or more)")
    }
    guard directoryOffset + directorySize <= end else { throw fail("the zip directory runs past its end record") }
    var entries = [Entry](), seen = Set<String>()
    var at = directoryOffset
    for _ in 0..<total {
      guard at + 46 <= directoryOffset + directorySize, u32(at) == Int(centralSignature) else {
        throw fail("truncated or corrupt zip directory")
      }
      let flags = u16(at + 8), method = u16(at + 10), crc = u32(at + 16)
      let compressed = u32(at + 20), size = u32(at + 24)
      let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
      let local = u32(at + 42)
      let next = at + 46 + nameLength + extraLength + commentLength
      guard next <= directoryOffset + directorySize else { throw fail("truncated or corrupt zip directory") }
      let nameStart = at + 46
      let entryName = String(
        decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<(nameStart + nameLength)]), as: UTF8.self)
      at = next
      guard entryName.hasSuffix(".npy"), entryName.count > 4 else {
        throw fail("entry '\(entryName)' is not a .npy array")
      }
      let arrayName = String(entryName.dropLast(4))
      guard seen.insert(arrayName).inserted else { throw fail("array '\(arrayName)' appears twice") }
      guard flags & 1 == 0 else { throw fail("entry '\(entryName)' is encrypted") }
      guard method == 0, compressed == size else {
        throw fail("entry '\(entryName)' is compressed: save with numpy.savez, not numpy.savez_compressed")
      }
      guard compressed != 0xFFFF_FFFF, local != 0xFFFF_FFFF else {
        throw fail("zip64 archives are not supported (arrays of 4 GiB or more)")
      }
      guard local + 30 <= directoryOffset, u32(local) == Int(localSignature) else {
        throw fail("entry '\(entryName)' has no local header at offset \(local)")
      }
      // The local header repeats the name, the flags and the method (its sizes may be deferred
      // to a data descriptor or a zip64 field: the directory's are the ones used).
      let localName = local + 30, localNameLength = u16(local + 26)
      guard localName + localNameLength <= directoryOffset, localNameLength == nameLength,
        memcmp(bytes.baseAddress! + localName, bytes.baseAddress! + nameStart, nameLength) == 0,
        u16(local + 6) & 1 == 0, u16(local + 8) == 0
      else { throw fail("entry '\(entryName)': its local header does not match the zip directory") }
      let start = localName + nameLength + u16(local + 28)
      guard start + size <= directoryOffset else { throw fail("entry '\(entryName)' runs past the zip directory") }
      if let only, !only.contains(arrayName) { continue }
      let body = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + size)])
      let actual = crc32(0, body)
      guard Int(actual) == crc else { throw fail("entry '\(entryName)' fails its CRC-32 check: the file is corrupt") }
      entries.append(Entry(name: arrayName, array: try NPYArray.decode(bytes: body, name: "\(name)[\(arrayName)]")))
    }
    return NPZArchive(entries)
  }

  /// Reads a `.npz` file (see `decode`).
  public static func read(_ url: URL, only: Set<String>? = nil, limit: Int = FileInput.defaultLimit) throws
    -> NPZArchive
  {
    try decode(try FileInput.read(url, limit: limit), name: url.path, only: only)
  }
}
