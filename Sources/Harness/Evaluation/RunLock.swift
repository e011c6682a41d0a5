import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// An advisory lock (`flock`) on a run folder, held while a process writes into it: two
/// `unlearn` processes on one `--out` would otherwise mix their outputs (one's configuration,
/// the other's logits). The lock file `.lock` holds the holder's process id, so that the
/// refusal can name it. The kernel releases the lock when the process ends, however it ends.
/// On a file system without locks (`flock` fails otherwise than "held"), the run goes on unlocked.
public final class RunLock: Sendable {
  public static let fileName = ".lock"

  /// Folders this process holds (a merge scores the folder it has just filled, under one lock).
  private static let held = Mutex<[String: (fd: Int32, count: Int)]>([:])
  private let key: String

  /// Creates `folder` if needed and locks it, or throws naming the process that holds it.
  public init(_ folder: URL) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let key = folder.standardizedFileURL.resolvingSymlinksInPath().path
    self.key = key
    let path = key + "/" + Self.fileName
    try Self.held.withLock { held in
      if let entry = held[key] {
        held[key] = (entry.fd, entry.count + 1)
        return
      }
      let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
      guard fd >= 0 else {
        throw HarnessError(folder.path, "cannot create its lock file (\(String(cString: strerror(errno))))")
      }
      guard flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK else {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = pread(fd, &buffer, 63, 0)
        close(fd)
        let holder =
          n > 0 ? String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
        throw HarnessError(
          folder.path,
          "is in use by another unlearn process (pid \(holder)); wait for it to finish, stop it, or choose another "
            + "--out folder")
      }
      let text = Array("\(getpid())\n".utf8)
      _ = ftruncate(fd, 0)
      _ = pwrite(fd, text, text.count, 0)
      held[key] = (fd, 1)
    }
  }

  deinit {
    Self.held.withLock { held in
      guard let entry = held[key] else { return }
      if entry.count > 1 {
        held[key] = (entry.fd, entry.count - 1)
      } else {
        close(entry.fd)
        held[key] = nil
      }
    }
  }
}
