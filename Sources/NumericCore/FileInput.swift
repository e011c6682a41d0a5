import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reading input files that may be hostile: only regular files (a directory, FIFO or device
/// given as a file is an error, and a FIFO never blocks the run), at most `limit` bytes (the
/// size is checked before anything is read), and errors that name the file and say what to do.
public enum FileInput {
  /// Default limit for files the harness reads whole (configurations, manifests, images, arrays).
  public static let defaultLimit = 1 << 30

  /// The size of the regular file at `url`, or an error saying what it is instead.
  public static func regularFileSize(_ url: URL) throws -> Int {
    var st = stat()
    guard stat(url.path, &st) == 0 else { throw unreadable(url, errno) }
    try checkRegular(url, st)
    return Int(st.st_size)
  }

  /// The error for a failed stat or open of `url`.
  static func unreadable(_ url: URL, _ e: Int32) -> NumericCoreError {
    .unreadableFile(url.path, e == ENOENT ? "no such file" : String(cString: strerror(e)))
  }

  /// Throws unless `st` describes a regular file, saying what it is instead.
  static func checkRegular(_ url: URL, _ st: stat) throws {
    let kind = st.st_mode & S_IFMT
    guard kind == S_IFREG else {
      throw NumericCoreError.unreadableFile(
        url.path, kind == S_IFDIR ? "it is a folder, not a file" : "it is not a regular file (a FIFO, socket or device)"
      )
    }
  }

  /// The bytes of the regular file at `url`, refusing files over `limit` bytes before reading them.
  public static func read(_ url: URL, limit: Int = defaultLimit) throws -> Data {
    try readWithIdentity(url, limit: limit).data
  }

  /// The identity of the regular file at `url` now (nil when it is not one).
  public static func identity(_ url: URL) -> FileIdentity? {
    var st = stat()
    guard stat(url.path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
    return FileIdentity(st)
  }

  /// ``read(_:limit:)``, with the identity of the file it read (from the open descriptor, so the
  /// two belong together even if the path is replaced meanwhile).
  public static func readWithIdentity(_ url: URL, limit: Int = defaultLimit) throws -> (
    data: Data, identity: FileIdentity
  ) {
    // O_NONBLOCK: opening a FIFO must not hang; what the path is comes from the open descriptor.
    let fd = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { throw unreadable(url, errno) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw unreadable(url, errno) }
    try checkRegular(url, st)
    let size = Int(st.st_size)
    guard size <= limit else {
      throw NumericCoreError.unreadableFile(
        url.path, "it is \(size) bytes, over the \(limit)-byte limit for this kind of file")
    }
    // Read at most limit + 1 bytes: a file that grew past the limit meanwhile is still refused.
    var data = Data(count: min(Int(st.st_size), limit) + 1)
    var filled = 0
    let ok = data.withUnsafeMutableBytes { raw -> Bool in
      while filled < raw.count {
        let r = Glibc.read(fd, raw.baseAddress! + filled, raw.count - filled)
        if r < 0 {
          if errno == EINTR { continue }
          return false
        }
        if r == 0 { break }
        filled += r
        // Exactly the size the descriptor reported, in a short read: the end of the file (one
        // that grew meanwhile fills the extra byte instead, and is refused below if too large).
        if filled == size && filled < raw.count { break }
      }
      return true
    }
    guard ok else { throw NumericCoreError.unreadableFile(url.path, String(cString: strerror(errno))) }
    guard filled <= limit else {
      throw NumericCoreError.unreadableFile(url.path, "it grew past the \(limit)-byte limit while being read")
    }
    data.count = filled
    return (data, FileIdentity(st))
  }
}

/// What tells one version of a file from another without reading it: device, inode, size and
/// modification time. A file replaced by a new one (as the harness writes its outputs: a temporary
/// file renamed over the old) has another inode; a rewrite in place that kept the size within the
/// file system's timestamp granularity (a few milliseconds on Linux) would not show.
public struct FileIdentity: Equatable, Sendable {
  let device: UInt64, inode: UInt64, size: Int64, seconds: Int64, nanoseconds: Int64

  init(_ st: stat) {
    #if canImport(Darwin)
      let m = st.st_mtimespec
    #else
      let m = st.st_mtim
    #endif
    device = UInt64(truncatingIfNeeded: st.st_dev)
    inode = UInt64(truncatingIfNeeded: st.st_ino)
    size = Int64(st.st_size)
    seconds = Int64(m.tv_sec)
    nanoseconds = Int64(m.tv_nsec)
  }
}

/// SHA-256 digests of files this process has read whole, each with the identity of the version it
/// read: a later fingerprint of the same file (a run's manifest) reuses the digest while the file
/// is unchanged instead of reading it again.
public final class FileDigests: Sendable {
  private let digests = Mutex<[String: (hex: String, identity: FileIdentity)]>([:])

  public init() {}

  /// Records the digest of `data`, the contents of the file at `url` as `identity` identifies them.
  public func record(_ url: URL, data: Data, identity: FileIdentity) {
    let hex = SHA256.hex(data: data)
    digests.withLock { $0[url.standardizedFileURL.path] = (hex, identity) }
  }

  /// The recorded digest of the file at `url`, if the file is still the version that was read.
  public func hex(_ url: URL) -> String? {
    guard let d = digests.withLock({ $0[url.standardizedFileURL.path] }) else { return nil }
    return FileInput.identity(url) == d.identity ? d.hex : nil
  }
}
