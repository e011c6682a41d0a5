import ArgumentParser
import Foundation
import Harness

/// `unlearn config`: the configuration's keys, defaults and meaning; or a file resolved.
struct ConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config", abstract: "Print every configuration key with its default and meaning.",
    discussion: """
      Without options, prints the default configuration (the embedded digits run) as commented YAML: a starting \
      point for your own file. With --config, prints that file resolved (every default written out), as the run \
      folder's config.yaml will hold it, or an error naming the bad key.
      """)

  @OptionGroup var options: ConfigOptions

  func run() throws {
    try reportingErrors {
      if options.config == nil {
        print(ExperimentSpec.documentedExample, terminator: "")
      } else {
        print(try options.load().yaml, terminator: "")
      }
    }
  }
}
