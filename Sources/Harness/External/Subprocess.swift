import CSupervisor
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs a command under a supervisor process (``unlearn_spawn_supervised``, CSupervisor) with a
/// clean environment, its standard output and error going to a size-capped log file, and a
/// wall-clock time-out.
///
/// Nothing the command starts outlives its job: the supervisor is a child subreaper, so
/// descendants that double-fork or call `setsid` are reparented to it, and when the command
/// ends (or is stopped) it kills every process that descends from it. On a time-out or a
/// cancelled run the command's group gets SIGTERM, then everything SIGKILL two seconds later,
/// so a hung script cannot leave workers (a Python `multiprocessing` pool, a shell pipeline)
/// behind. The supervisor also gets SIGTERM when the harness thread that started it dies, so
/// even `kill -9` of the harness takes the commands with it. The command starts with default
/// signal handlers and an empty signal mask, in its own process group: the terminal's Ctrl-C
/// goes to the harness, which stops the commands itself.
public enum Subprocess {
  public enum Termination: Sendable, Equatable {
    case exited(Int32)
    case signalled(Int32)
    case timedOut(seconds: Double)
    /// `cancel` returned true; the process group was stopped.
    case cancelled
  }

  /// The most a command writes into its log; the rest is dropped (and counted in the log).
  public static let logCap: Int64 = 16 << 20
  /// Seconds between SIGTERM and SIGKILL when a command is stopped.
  public static let grace = 2.0

  /// Runs `arguments` (the first is looked up on `PATH` when it has no slash) with
  /// exactly `environment`, standard input from /dev/null and both output streams
  /// appended to `log` (at most ``logCap`` bytes). Returns how it ended and the wall time.
  /// `cancel` is polled while it runs: when it returns true the command is stopped as on a
  /// time-out.
  public static func run(
    _ arguments: [String], environment: [String: String], log: URL, timeout: Double?,
    cancel: @Sendable () -> Bool = { false }
  ) throws -> (termination: Termination, seconds: Double) {
    precondition(!arguments.isEmpty)
    var executable = arguments[0]
    if !executable.contains("/") {
      guard let found = lookUp(executable, path: environment["PATH"] ?? "/usr/bin:/bin") else {
        throw HarnessError(executable, "command not found on PATH (\(environment["PATH"] ?? "")); give its full path")
      }
      executable = found
    }
    guard access(executable, X_OK) == 0 else {
      throw HarnessError(executable, "is not an executable file (check the path and chmod +x)")
    }
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.keys.sorted().map { strdup("\($0)=\(environment[$0]!)") } + [nil]
    defer {
      for p in argv { free(p) }
      for p in envp { free(p) }
    }
    var supervisor: Int32 = 0, statusFD: Int32 = -1
    let start = DispatchTime.now().uptimeNanoseconds
    let rc = unlearn_spawn_supervised(
      executable, argv, envp, log.path, logCap, Int32(grace * 1000), &supervisor, &statusFD)
    guard rc == 0 else { throw HarnessError(executable, "could not be started (\(String(cString: strerror(rc))))") }
    defer { close(statusFD) }

    func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    var wait: Int32 = 0
    var timedOut = false, cancelled = false
    // Poll: a blocking waitpid could not honour the time-out, and a 5 ms tick costs nothing next to a job.
    while true {
      let r = waitpid(supervisor, &wait, WNOHANG)
      if r == supervisor { break }
      if r < 0 && errno != EINTR {
        throw HarnessError(executable, "lost track of the process (\(String(cString: strerror(errno))))")
      }
      cancelled = cancel()
      if cancelled || (timeout.map { elapsed() > $0 } ?? false) {
        timedOut = !cancelled
        kill(supervisor, SIGTERM)
        // The supervisor kills everything within its grace period; if it hangs, it goes too.
        let stop = DispatchTime.now().uptimeNanoseconds
        while waitpid(supervisor, &wait, WNOHANG) == 0 {
          if Double(DispatchTime.now().uptimeNanoseconds - stop) / 1e9 > grace + 10 {
            kill(supervisor, SIGKILL)
            _ = waitpid(supervisor, &wait, 0)
            break
          }
          usleep(5_000)
        }
        break
      }
      usleep(5_000)
    }
    let seconds = elapsed()
    if cancelled { return (.cancelled, seconds) }
    if timedOut { return (.timedOut(seconds: timeout ?? 0), seconds) }
    var status: Int32 = 0
    guard read(statusFD, &status, MemoryLayout<Int32>.size) == MemoryLayout<Int32>.size, status != -1 else {
      throw HarnessError(executable, "its supervisor ended without reporting how the command ended")
    }
    let low = status & 0x7f
    if low == 0 { return (.exited((status >> 8) & 0xff), seconds) }
    return (.signalled(low), seconds)
  }

  /// The first executable `name` in the colon-separated `path`.
  static func lookUp(_ name: String, path: String) -> String? {
    for dir in path.split(separator: ":") where !dir.isEmpty {
      let candidate = "\(dir)/\(name)"
      if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
  }

  /// The last `lines` lines of a log (at most `bytes` bytes), for error messages.
  public static func tail(_ log: URL, lines: Int = 6, bytes: Int = 800) -> String {
    guard let data = FileManager.default.contents(atPath: log.path), !data.isEmpty else { return "" }
    let text = String(decoding: data.suffix(bytes), as: UTF8.self)
    return text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
  }
}
