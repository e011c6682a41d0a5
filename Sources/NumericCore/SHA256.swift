import CKernels
import Foundation

/// SHA-256 (FIPS 180-4), used for split, dataset and output fingerprints.
/// Self-contained so that the harness needs no crypto dependency; the block function is C, with
/// the x86 SHA instructions when the CPU has them (``isAccelerated``).
public struct SHA256 {
  private var h: [UInt32] = [
    0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
  ]
  /// Bytes short of a whole block (fewer than 64).
  private var pending: [UInt8] = []
  private var length: UInt64 = 0
  private let portable: Bool

  public init() { portable = false }

  /// A hash that always uses the portable C block function (for tests of the accelerated one).
  init(portable: Bool) { self.portable = portable }

  /// Whether this CPU computes the block function with the SHA instructions.
  public static var isAccelerated: Bool { unlearn_sha256_accelerated() != 0 }

  /// Adds bytes to the message.
  public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
    let contiguous: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
    if contiguous == nil { Array(bytes).withUnsafeBytes { update($0) } }
  }

  /// Adds the bytes of a buffer: whole blocks straight from it, the rest kept for later.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    length &+= UInt64(bytes.count)
    var rest = bytes
    if !pending.isEmpty {
      let take = Swift.min(64 - pending.count, rest.count)
      pending.append(contentsOf: rest.prefix(take))
      rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(take))
      guard pending.count == 64 else { return }
      pending.withUnsafeBytes { compress($0) }
      pending.removeAll(keepingCapacity: true)
    }
    let whole = rest.count / 64 * 64
    if whole > 0 { compress(UnsafeRawBufferPointer(rebasing: rest.prefix(whole))) }
    pending.append(contentsOf: rest.dropFirst(whole))
  }

  /// Finishes and returns the 32-byte digest.
  public mutating func finalize() -> [UInt8] {
    let bitLength = length &* 8
    var tail = pending
    tail.append(0x80)
    while tail.count % 64 != 56 { tail.append(0) }
    for i in (0..<8).reversed() { tail.append(UInt8((bitLength >> (UInt64(i) * 8)) & 0xff)) }
    tail.withUnsafeBytes { compress($0) }
    pending = []
    var out = [UInt8]()
    out.reserveCapacity(32)
    for word in h { for s in [24, 16, 8, 0] { out.append(UInt8((word >> UInt32(s)) & 0xff)) } }
    return out
  }

  /// Folds whole 64-byte blocks into the state.
  private mutating func compress(_ blocks: UnsafeRawBufferPointer) {
    guard let base = blocks.bindMemory(to: UInt8.self).baseAddress else { return }
    let portable = portable
    h.withUnsafeMutableBufferPointer { h in
      if portable {
        unlearn_sha256_blocks_portable(h.baseAddress, base, blocks.count / 64)
      } else {
        unlearn_sha256_blocks(h.baseAddress, base, blocks.count / 64)
      }
    }
  }

  /// The digest of `bytes`.
  public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
    var s = SHA256()
    s.update(bytes)
    return s.finalize()
  }

  /// The lowercase hexadecimal digest of `bytes`.
  public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    hexText(hash(bytes))
  }

  /// The lowercase hexadecimal digest of `data` (hashed from its storage, without a copy).
  public static func hex(data: Data) -> String {
    var s = SHA256()
    data.withUnsafeBytes { s.update($0) }
    return hexText(s.finalize())
  }

  /// A digest as lowercase hexadecimal.
  private static func hexText(_ digest: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8]()
    text.reserveCapacity(2 * digest.count)
    for b in digest {
      text.append(digits[Int(b >> 4)])
      text.append(digits[Int(b & 15)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// The lowercase hexadecimal digest of a UTF-8 string.
  public static func hex(_ string: String) -> String { hex(Array(string.utf8)) }

  /// The lowercase hexadecimal digest of a file's contents, read in 1 MiB chunks.
  public static func hex(fileAt url: URL) throws -> String {
    _ = try FileInput.regularFileSize(url)
    // open/read into one 64 KiB buffer: FileHandle's read(upToCount:) allocated (and the kernel
    // zeroed) a fresh buffer of the requested size for every file, most of a manifest's time.
    let fd = open(url.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw NumericCoreError.unreadableFile(url.path, String(cString: strerror(errno))) }
    defer { close(fd) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 64)
    defer { buffer.deallocate() }
    var s = SHA256()
    while true {
      let got = read(fd, buffer.baseAddress, buffer.count)
      if got < 0 && errno == EINTR { continue }
      guard got >= 0 else { throw NumericCoreError.unreadableFile(url.path, String(cString: strerror(errno))) }
      if got == 0 { break }
      s.update(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
    }
    return hexText(s.finalize())
  }
}
