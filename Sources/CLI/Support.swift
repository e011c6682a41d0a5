import ArgumentParser
import Foundation
import Harness

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
