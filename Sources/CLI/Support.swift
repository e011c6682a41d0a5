import ArgumentParser
import Foundation
import Harness
import NumericCore
import Synchronization
import UnlearnKit

/// Runs `body`, turning harness and library errors into one clear line on
/// stderr and a non-zero exit (no stack trace for a user mistake).
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch let e as ExitCode {
    throw e
  } catch let e as ValidationError {
    throw e
  } catch {
    FileHandle.standardError.write(Data("error: \(describe(error))\n".utf8))
    // Stopped by a signal: the conventional 128 + its number (130 for Ctrl-C, 143 for SIGTERM).
    let signal = interrupted.load(ordering: .relaxed)
    throw signal != 0 ? ExitCode(128 + signal) : ExitCode.failure
  }
}

/// One line for an error: ours as they are; a Foundation file error as its path and the
/// system's reason (not a dump of its user-info dictionary).
func describe(_ error: any Error) -> String {
  if error is HarnessError || error is NumericCoreError { return "\(error)" }
  let ns = error as NSError
  guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
  let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
  var reason = ns.localizedDescription
  if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
    reason = String(cString: strerror(Int32(underlying.code)))
  } else if ns.domain == NSPOSIXErrorDomain {
    reason = String(cString: strerror(Int32(ns.code)))
  }
  return path.map { "\($0): \(reason)" } ?? reason
}

/// Options shared by commands that read an experiment configuration.
struct ConfigOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "YAML experiment configuration.", discussion: "Without it, the embedded digits default runs.", valueName: "file"))
  var config: String?

  func load() throws -> ExperimentSpec {
    guard let config else { return .digitsDefault }
    return try ExperimentSpec.load(file: URL(fileURLWithPath: config))
  }
}

/// Prints `value` as pretty, key-sorted JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
  let enc = JSONEncoder()
  enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  print(String(decoding: try enc.encode(value), as: UTF8.self))
}

/// Set by SIGINT, SIGTERM or SIGHUP: the runner starts no new job, running external commands
/// are stopped, finished jobs are kept. Holds the signal's number (0: none).
let interrupted = Atomic<Int32>(0)

/// The signals that stop a run cleanly: Ctrl-C, and what `timeout`, systemd, Slurm's `scancel`
/// and Kubernetes send (SIGTERM), and a closed terminal (SIGHUP).
let stopSignals = [SIGINT, SIGTERM, SIGHUP]

/// Installs the handlers that stop a run cleanly.
func handleInterrupts() {
  for s in stopSignals {
    signal(s) { sig in interrupted.store(sig, ordering: .relaxed) }
  }
  // A parent may have spawned us with these signals blocked (the mask is inherited); unblock
  // them before any worker thread starts, so that the handlers above run.
  var set = sigset_t()
  sigemptyset(&set)
  for s in stopSignals { sigaddset(&set, s) }
  pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// The exit status of a run in which some jobs failed (results are still written): distinct
/// from 1 (the run could not be done at all) so that CI can tell the two apart.
let jobsFailedExitCode: Int32 = 3

/// Exits with ``jobsFailedExitCode`` when `report` has failed jobs, after saying so on stderr.
func exitIfJobsFailed(_ failures: Int) throws {
  guard failures > 0 else { return }
  let jobs = failures == 1 ? "1 job" : "\(failures) jobs"
  FileHandle.standardError.write(
    Data(
      "unlearn: \(jobs) failed (see the failures above and in results.json); exit status \(jobsFailedExitCode)\n".utf8))
  throw ExitCode(jobsFailedExitCode)
}

/// Progress lines on stderr, unless `quiet`.
func logger(quiet: Bool) -> @Sendable (String) -> Void {
  { line in if !quiet { FileHandle.standardError.write(Data("\(line)\n".utf8)) } }
}

/// The options of a command that runs an evaluation into `out`: progress on stderr, a
/// progress meter, SIGINT handling.
func evaluationOptions(out: String, file: String, shard: ShardSpec? = nil, quiet: Bool) -> EvaluationOptions {
  handleInterrupts()
  let meter = ProgressMeter(quiet: quiet)
  return EvaluationOptions(
    out: URL(fileURLWithPath: out), file: file, shard: shard, log: logger(quiet: quiet),
    onJobDone: { meter.update(done: $0, total: $1) }, shouldStop: { interrupted.load(ordering: .relaxed) != 0 })
}
