// swift-tools-version: 6.0
// libFuzzer targets for the harness's readers of untrusted files: `make fuzz` builds this
// package with `-sanitize=fuzzer,address` and runs each target on its seed corpus
// (fuzz/corpus/<target>/). One binary; the UNLEARN_FUZZ_TARGET environment variable picks
// the reader: png, npy, safetensors, yaml or csv.
import Foundation
import PackageDescription

let harness = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("..").standardized
let harnessIdentity = harness.lastPathComponent.lowercased()

let package = Package(
  name: "unlearn-fuzz",
  dependencies: [.package(path: harness.path)],
  targets: [
    .target(name: "CFuzzDriver"),
    .executableTarget(
      name: "unlearn-fuzz",
      dependencies: [
        "CFuzzDriver",
        .product(name: "Harness", package: harnessIdentity),
        .product(name: "NumericCore", package: harnessIdentity),
      ],
      // The entry point calls libFuzzer's driver (SwiftPM names an executable's entry point itself).
      swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
  ],
  swiftLanguageModes: [.v6]
)
