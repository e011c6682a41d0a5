// swift-tools-version: 6.0
// The reference evaluation harness for machine unlearning.
import PackageDescription

let package = Package(
  name: "unlearn",
  products: [
    // Libraries are exported so that a participant's own package can depend on
    // the harness and register its own `UnlearningAlgorithm`.
    .library(name: "NumericCore", targets: ["NumericCore"]),
    .library(name: "Networks", targets: ["Networks"]),
    .library(name: "Harness", targets: ["Harness"]),
    .library(name: "Attacks", targets: ["Attacks"]),
    .library(name: "Baselines", targets: ["Baselines"]),
    .library(name: "Reports", targets: ["Reports"]),
    // The evaluation pipeline and the registry of algorithms and metrics, as a library.
    .library(name: "UnlearnKit", targets: ["UnlearnKit"]),
    // The command line as a library: a participant's executable registers its algorithms
    // and runs every `unlearn` command (examples/swift-submission).
    .library(name: "UnlearnCLI", targets: ["UnlearnCLI"]),
    .executable(name: "unlearn", targets: ["UnlearnMain"]),
    .executable(name: "unlearn-bench", targets: ["Benchmarks"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
  ],
  targets: [
    // System libraries (installed by `make`: libpng-dev, libopenblas-dev, libcairo2-dev).
    .systemLibrary(
      name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
      providers: [.apt(["libpng-dev"])]),
    .systemLibrary(
      name: "CBLAS", path: "Sources/CBLAS",
      providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
      name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
      providers: [.apt(["libcairo2-dev"])]),
    // zlib (installed with libpng-dev): CRC-32 of .npz entries, deflate of the plots' PNGs.
    .systemLibrary(
      name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]),

    // libpng's low-level reader behind setjmp error handling (C cannot longjmp through Swift).
    .target(name: "CPNGDecoder", dependencies: ["CPNG"]),
    // The supervisor of external commands: a child subreaper that takes every descendant down with it.
    .target(name: "CSupervisor"),
    // Kernels that use CPU extensions behind a run-time check (SHA-256 with the x86 SHA instructions).
    .target(name: "CKernels"),

    // Libraries, in the one direction of dependencies:
    // NumericCore -> Networks -> Harness -> {Attacks, Baselines, Reports} -> UnlearnKit -> UnlearnCLI.
    .target(name: "NumericCore", dependencies: ["CBLAS", "CKernels", "CZlib"]),
    .target(name: "Networks", dependencies: ["NumericCore"]),
    .target(
      name: "Harness",
      dependencies: [
        "NumericCore", "Networks", "CPNGDecoder", "CSupervisor", .product(name: "Yams", package: "Yams"),
      ]),
    .target(name: "Attacks", dependencies: ["Harness", "NumericCore", "CKernels"]),
    .target(name: "Baselines", dependencies: ["Harness", "Networks", "NumericCore"]),
    .target(name: "Reports", dependencies: ["Harness", "NumericCore", "CCairo", "CZlib"]),
    .target(
      name: "UnlearnKit", dependencies: ["Harness", "Attacks", "Baselines", "Reports", "Networks", "NumericCore"]),

    // The command line (a library), and the executables.
    .target(
      name: "UnlearnCLI",
      dependencies: [
        "UnlearnKit", "Harness", "Attacks", "Baselines", "Reports", "Networks", "NumericCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Sources/CLI"),
    .executableTarget(name: "UnlearnMain", dependencies: ["UnlearnCLI"]),
    .executableTarget(
      name: "Benchmarks", dependencies: ["Harness", "Networks", "NumericCore"]),

    // Tests.
    .target(
      name: "TestSupport", dependencies: ["NumericCore", "Networks", "Harness"],
      path: "Tests/TestSupport"),
    .testTarget(name: "NumericCoreTests", dependencies: ["NumericCore", "CKernels", "TestSupport"]),
    // Counts heap allocations per thread in the test process (glibc); see allocation_counter.c.
    .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
    .testTarget(name: "NetworksTests", dependencies: ["Networks", "NumericCore", "TestSupport", "AllocationCounter"]),
    .testTarget(
      name: "HarnessTests", dependencies: ["Harness", "Networks", "NumericCore", "TestSupport"]),
    .testTarget(
      name: "AttacksTests", dependencies: ["Attacks", "Harness", "NumericCore", "CKernels", "TestSupport"]),
    .testTarget(
      name: "BaselinesTests", dependencies: ["Baselines", "Harness", "Networks", "NumericCore", "TestSupport"]),
    .testTarget(name: "ReportsTests", dependencies: ["Reports", "Harness", "NumericCore", "TestSupport"]),
    .testTarget(
      name: "UnlearnKitTests",
      dependencies: [
        "UnlearnKit", "Reports", "Attacks", "Baselines", "Harness", "Networks", "NumericCore", "TestSupport",
      ]),
    .testTarget(
      name: "CLITests",
      dependencies: [
        "UnlearnCLI", "UnlearnKit", "Reports", "Attacks", "Baselines", "Harness", "Networks", "NumericCore",
        "TestSupport",
      ]),
  ],
  swiftLanguageModes: [.v6]
)
