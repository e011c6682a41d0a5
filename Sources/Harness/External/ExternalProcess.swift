import Foundation

/// How the harness runs a participant's or a backend's command on a work folder: the part of
/// the external protocol shared by external algorithms and external models.
///
/// The command runs as `command… WORK_DIR` (also in `$UNLEARN_WORK_DIR`) from the harness's
/// working directory, with standard input from /dev/null, standard output and error appended
/// to `external.log`, a clean environment (`PATH`, `HOME`, `LANG`, `TMPDIR` inside the work
/// folder, one BLAS/OpenMP thread, `PYTHONHASHSEED=0`, and the variables named in
/// `pass_environment`) and a wall-clock time-out, after which it and every process it started
/// are killed (``Subprocess``).
public enum ExternalProcess {
  /// The version of the work-folder protocol, written as `protocol_version` in `request.json`.
  /// 1: external algorithms on the harness's own networks. 2: also external models
  /// (`model.kind: external`), whose commands train and unlearn opaque checkpoints.
  public static let protocolVersion = 2

  /// The command's environment: nothing of the harness's but what is listed.
  public static func environment(work: URL, pass: [String]) -> [String: String] {
    let own = ProcessInfo.processInfo.environment
    var env = [
      "PATH": own["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "HOME": own["HOME"] ?? "/tmp",
      "LANG": "C.UTF-8", "TMPDIR": work.appendingPathComponent("tmp").path, "UNLEARN_WORK_DIR": work.path,
      "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1",
      "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    ]
    for v in pass { env[v] = own[v] }
    return env
  }

  /// Runs `command` on `work` and returns normally only when it exited with status 0. Otherwise
  /// throws an error naming the command, how it ended, the end of its log and (`keepNote`) where
  /// its work folder is kept. `timeoutHint` says which key raises the time-out.
  public static func run(
    _ command: [String], work: URL, log: URL, timeout: Double, passEnvironment: [String],
    cancel: @escaping @Sendable () -> Bool, timeoutHint: String, keepNote: String
  ) throws {
    let fm = FileManager.default
    try fm.createDirectory(at: work.appendingPathComponent("tmp"), withIntermediateDirectories: true)
    try fm.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
    try? fm.removeItem(at: log)
    let (ending, _) = try Subprocess.run(
      command + [work.path], environment: environment(work: work, pass: passEnvironment), log: log,
      timeout: timeout, cancel: cancel)
    switch ending {
    case .exited(0): return
    case .exited(let code): throw failure(command, "exited with status \(code)", log: log, keepNote: keepNote)
    case .signalled(let s): throw failure(command, "was killed by signal \(s)", log: log, keepNote: keepNote)
    case .timedOut(let t):
      throw failure(
        command, "timed out after \(shortDecimal(t)) s and was killed (raise \(timeoutHint) if it needs longer)",
        log: log, keepNote: keepNote)
    case .cancelled:
      throw HarnessError("external command \(command.joined(separator: " "))", "stopped: the run was interrupted")
    }
  }

  /// An error about `command`: why, then the end of its log, then `keepNote`.
  public static func failure(_ command: [String], _ why: String, log: URL, keepNote: String = "") -> HarnessError {
    let tail = Subprocess.tail(log)
    let shown =
      tail.isEmpty
      ? "" : "; the end of \(log.path):\n" + tail.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
    return HarnessError("external command \(command.joined(separator: " "))", why + shown + keepNote)
  }

  /// A command from the configuration: a list of arguments, or one line run by `/bin/sh -c`.
  /// `what` names the owner in the message for a missing command ("an external algorithm").
  public static func command(_ value: ConfigValue?, what: String, fail: (String) -> HarnessError) throws -> [String] {
    switch value {
    case .string(let s)? where !s.trimmingCharacters(in: .whitespaces).isEmpty: return ["/bin/sh", "-c", s]
    case .list(let a)? where !a.isEmpty:
      return try a.map { v in
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return "\(d)"
        default: throw fail("expected a list of arguments (text), found \(v)")
        }
      }
    default:
      throw fail("\(what) needs a command: a list of arguments such as [python3, my_script.py], or one shell line")
    }
  }
}

/// `2`, `0.5`: a number of seconds without trailing zeros.
public func shortDecimal(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(format: "%g", x) }
