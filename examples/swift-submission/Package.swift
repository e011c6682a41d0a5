// swift-tools-version: 6.0
// A participant's package: one unlearning algorithm in Swift, evaluated by the
// harness's own command line without forking it.
//
//   swift build -c release
//   .build/release/my-unlearn evaluate --algorithms shrink-perturb,finetune
//
// Outside this repository, replace the path with the harness's location (or its git URL).
import Foundation
import PackageDescription

// A path dependency's package identity is the last component of its folder name,
// whatever the clone is called; the harness is two folders up.
let harness = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
let harnessIdentity = harness.lastPathComponent.lowercased()

let package = Package(
  name: "my-submission",
  dependencies: [
    .package(path: harness.path)
  ],
  targets: [
    .executableTarget(
      name: "my-unlearn",
      dependencies: [
        .product(name: "UnlearnCLI", package: harnessIdentity),
        .product(name: "Harness", package: harnessIdentity),
        .product(name: "Networks", package: harnessIdentity),
        .product(name: "NumericCore", package: harnessIdentity),
      ])
  ],
  swiftLanguageModes: [.v6]
)
