import Foundation
import TestSupport
import Testing

@testable import Harness

/// The supervisor of external commands: nothing a command starts outlives its job.
@Suite(.serialized) struct SubprocessTests {
  @Test func childrenThatEscape_withSetsidOrADoubleFork_dieWithTheJob() throws {
    let dir = TestSupport.temporaryDirectory("supervisor")
    let pidFile = dir.appendingPathComponent("pids")
    let script = """
      setsid sleep 300 & echo $! >> \(pidFile.path)
      ( sleep 300 & echo $! >> \(pidFile.path) ) &
      ( setsid sh -c 'sleep 300' & echo $! >> \(pidFile.path) ) &
      sleep 0.3
      echo started
      exit 0
      """
    let (ending, _) = try Subprocess.run(
      ["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin"], log: dir.appendingPathComponent("log"),
      timeout: 30)
    #expect(ending == .exited(0))
    let started = ProcessWatch.read(pidFile)
    #expect(started.count == 3)
    #expect(ProcessWatch.allGone(started, within: 3), "still running: \(started.filter(ProcessWatch.alive))")
    #expect(try String(contentsOf: dir.appendingPathComponent("log"), encoding: .utf8).contains("started"))
  }

  /// The supervisor keeps none of the caller's files open: a run folder's lock that the caller
  /// held when it started a command is free again as soon as the caller releases it, while the
  /// command still runs (a lock belongs to the open file, which a fork shares).
  @Test func theSupervisor_keepsNoneOfTheCallersFilesOpen() throws {
    let dir = TestSupport.temporaryDirectory("supervisor-files")
    let folder = dir.appendingPathComponent("run"), log = dir.appendingPathComponent("log")
    var lock: RunLock? = try RunLock(folder)
    let finished = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      _ = try? Subprocess.run(
        ["/bin/sh", "-c", "sleep 2"], environment: ["PATH": "/usr/bin:/bin"], log: log, timeout: 30)
      finished.signal()
    }
    Thread.sleep(forTimeInterval: 0.5)  // the supervisor has forked, holding whatever it kept
    withExtendedLifetime(lock) {}
    lock = nil
    let again = try RunLock(folder)
    withExtendedLifetime(again) {}
    finished.wait()
  }

  @Test func aTimedOutCommand_andItsEscapedChildren_areStopped() throws {
    let dir = TestSupport.temporaryDirectory("supervisor-timeout")
    let pidFile = dir.appendingPathComponent("pids")
    let script = "setsid sleep 300 & echo $! >> \(pidFile.path); trap '' TERM; sleep 300"
    let start = Date()
    let (ending, _) = try Subprocess.run(
      ["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin"], log: dir.appendingPathComponent("log"),
      timeout: 0.5)
    #expect(ending == .timedOut(seconds: 0.5))
    #expect(Date().timeIntervalSince(start) < Subprocess.grace + 5)
    #expect(ProcessWatch.allGone(ProcessWatch.read(pidFile), within: 3))
  }

  @Test func theLog_isCapped() throws {
    let dir = TestSupport.temporaryDirectory("supervisor-log")
    let log = dir.appendingPathComponent("log")
    let (ending, _) = try Subprocess.run(
      ["/bin/sh", "-c", "head -c \(Subprocess.logCap + 5_000_000) /dev/zero; echo done >&2"],
      environment: ["PATH": "/usr/bin:/bin"], log: log, timeout: 60)
    #expect(ending == .exited(0))
    let size = try FileManager.default.attributesOfItem(atPath: log.path)[.size] as! Int
    #expect(size > Subprocess.logCap && size < Subprocess.logCap + 1000)
    #expect(Subprocess.tail(log).contains("the log is capped"))
  }

  @Test func exitStatusAndSignals_areReported() throws {
    let dir = TestSupport.temporaryDirectory("supervisor-status")
    let log = dir.appendingPathComponent("log")
    let env = ["PATH": "/usr/bin:/bin"]
    #expect(try Subprocess.run(["/bin/sh", "-c", "exit 7"], environment: env, log: log, timeout: 10).0 == .exited(7))
    #expect(
      try Subprocess.run(["/bin/sh", "-c", "kill -SEGV $$"], environment: env, log: log, timeout: 10).0
        == .signalled(SIGSEGV))
    #expect(try Subprocess.run(["true"], environment: env, log: log, timeout: 10, cancel: { true }).0 == .cancelled)
  }
}
