import ArgumentParser
import Foundation
import Harness
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
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    throw ExitCode.failure
  }
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

/// Set by SIGINT: the runner starts no new job, finished ones are kept.
let interrupted = Atomic<Bool>(false)

/// Installs the SIGINT handler that stops a run cleanly.
func handleInterrupts() {
  signal(SIGINT) { _ in
    interrupted.store(true, ordering: .relaxed)
  }
  // A parent may have spawned us with SIGINT blocked (the mask is inherited); unblock it
  // before any worker thread starts, so that the handler above runs.
  var set = sigset_t()
  sigemptyset(&set)
  sigaddset(&set, SIGINT)
  pthread_sigmask(SIG_UNBLOCK, &set, nil)
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
    onJobDone: { meter.update(done: $0, total: $1) }, shouldStop: { interrupted.load(ordering: .relaxed) })
}
