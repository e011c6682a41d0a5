import Foundation
import Synchronization

/// Progress of a batch of jobs on stderr: on a terminal one line redrawn in place
/// (`37/64 jobs · 2.4 jobs/s · ETA 0:11`); otherwise (a log file, a Slurm job) a plain
/// line every 10 % or 30 s, whichever comes first, and at the end; nothing when quiet.
final class ProgressMeter: Sendable {
  private struct State {
    var total = 0
    var start = Date()
    var lastLine = Date()
    var lastFraction = 0.0
  }
  private let state = Mutex(State())
  let quiet: Bool
  let terminal: Bool
  let label: String

  init(label: String = "jobs", quiet: Bool, terminal: Bool = isatty(STDERR_FILENO) == 1) {
    self.label = label
    self.quiet = quiet
    self.terminal = terminal
  }

  /// `done` of `total` jobs finished (called from worker threads); `done` 0 starts the clock.
  func update(done: Int, total: Int) {
    guard !quiet, total > 0 else { return }
    let line: String? = state.withLock { s in
      let now = Date()
      if done == 0 {
        s = State(total: total, start: now, lastLine: now, lastFraction: 0)
        return nil
      }
      let elapsed = now.timeIntervalSince(s.start)
      let fraction = Double(done) / Double(total)
      let finished = done == total
      if !terminal && !finished && fraction - s.lastFraction < 0.1 && now.timeIntervalSince(s.lastLine) < 30 {
        return nil
      }
      s.lastLine = now
      s.lastFraction = fraction
      return Self.describe(done: done, total: total, elapsed: elapsed, label: label)
    }
    guard let line else { return }
    let text = terminal ? "\r\u{1B}[K  " + line + (done == total ? "\n" : "") : "  " + line + "\n"
    FileHandle.standardError.write(Data(text.utf8))
  }

  /// `37/64 jobs · 2.4 jobs/s · ETA 0:11` (the finished form gives the elapsed time).
  static func describe(done: Int, total: Int, elapsed: Double, label: String) -> String {
    let rate = elapsed > 0 ? Double(done) / elapsed : 0
    var parts = ["\(done)/\(total) \(label)"]
    if done > 0 && elapsed > 0 {
      parts.append(rate >= 1 ? String(format: "%.1f \(label)/s", rate) : String(format: "%.1f s per job", 1 / rate))
    }
    if done == total {
      parts.append("took \(clock(elapsed))")
    } else if done > 0 && rate > 0 {
      parts.append("ETA \(clock(Double(total - done) / rate))")
    }
    return parts.joined(separator: " · ")
  }

  /// `0:07`, `12:30`, `1:02:03`.
  static func clock(_ seconds: Double) -> String {
    let t = Int(seconds.rounded())
    let h = t / 3600, m = t / 60 % 60, s = t % 60
    return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
  }
}
