import Foundation

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
    guard stat(url.path, &st) == 0 else {
      let e = errno
      throw NumericCoreError.unreadableFile(url.path, e == ENOENT ? "no such file" : String(cString: strerror(e)))
    }
    let kind = st.st_mode & S_IFMT
    guard kind == S_IFREG else {
      throw NumericCoreError.unreadableFile(
        url.path, kind == S_IFDIR ? "it is a folder, not a file" : "it is not a regular file (a FIFO, socket or device)"
      )
    }
    return Int(st.st_size)
  }

  /// The bytes of the regular file at `url`, refusing files over `limit` bytes before reading them.
  public static func read(_ url: URL, limit: Int = defaultLimit) throws -> Data {
    let size = try regularFileSize(url)
    guard size <= limit else {
      throw NumericCoreError.unreadableFile(
        url.path, "it is \(size) bytes, over the \(limit)-byte limit for this kind of file")
    }
    // O_NONBLOCK: if the file was swapped for a FIFO after the check, open must not hang.
    let fd = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { throw NumericCoreError.unreadableFile(url.path, String(cString: strerror(errno))) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
      throw NumericCoreError.unreadableFile(url.path, "it is not a regular file")
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
      }
      return true
    }
    guard ok else { throw NumericCoreError.unreadableFile(url.path, String(cString: strerror(errno))) }
    guard filled <= limit else {
      throw NumericCoreError.unreadableFile(url.path, "it grew past the \(limit)-byte limit while being read")
    }
    data.count = filled
    return data
  }
}
