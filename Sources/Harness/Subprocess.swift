import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs a command as its own process group with a clean environment, its
/// standard output and error going to a log file, and a wall-clock time-out.
///
/// On time-out the whole group gets SIGTERM, then SIGKILL two seconds later, so
/// a hung script cannot leave workers (a Python `multiprocessing` pool, a shell
/// pipeline) behind. The child starts with default signal handlers and an empty
/// signal mask, whatever the harness has installed; being in its own group it
/// does not receive the terminal's Ctrl-C, which the harness handles.
public enum Subprocess {
  public enum Termination: Sendable, Equatable {
    case exited(Int32)
    case signalled(Int32)
    case timedOut(seconds: Double)
    /// `cancel` returned true; the process group was stopped.
    case cancelled
  }

  /// Runs `arguments` (the first is looked up on `PATH` when it has no slash) with
  /// exactly `environment`, standard input from /dev/null and both output streams
  /// appended to `log`. Returns how it ended and the wall time. `cancel` is polled while it
  /// runs: when it returns true the process group is stopped as on a time-out.
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

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    posix_spawnattr_setpgroup(&attributes, 0)
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for s in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT] { sigaddset(&defaults, s) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)

    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.keys.sorted().map { strdup("\($0)=\(environment[$0]!)") } + [nil]
    defer {
      for p in argv { free(p) }
      for p in envp { free(p) }
    }
    var pid = pid_t()
    let start = DispatchTime.now().uptimeNanoseconds
    let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard rc == 0 else { throw HarnessError(executable, "could not be started (\(String(cString: strerror(rc))))") }

    func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    var status: Int32 = 0
    var timedOut = false, cancelled = false
    // Poll: a blocking waitpid could not honour the time-out, and a 5 ms tick costs nothing next to a job.
    while true {
      let r = waitpid(pid, &status, WNOHANG)
      if r == pid { break }
      if r < 0 && errno != EINTR {
        throw HarnessError(executable, "lost track of the process (\(String(cString: strerror(errno))))")
      }
      cancelled = cancel()
      if cancelled || (timeout.map { elapsed() > $0 } ?? false) {
        timedOut = !cancelled
        kill(-pid, SIGTERM)
        let grace = DispatchTime.now().uptimeNanoseconds
        while waitpid(pid, &status, WNOHANG) == 0 {
          if DispatchTime.now().uptimeNanoseconds - grace > 2_000_000_000 {
            kill(-pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            break
          }
          usleep(5_000)
        }
        break
      }
      usleep(5_000)
    }
    // Whatever the command left running in its group goes with it.
    kill(-pid, SIGKILL)
    let seconds = elapsed()
    if cancelled { return (.cancelled, seconds) }
    if timedOut { return (.timedOut(seconds: timeout ?? 0), seconds) }
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
