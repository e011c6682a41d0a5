import Foundation
import Harness
import Networks
import NumericCore

/// Shared helpers for the test targets.
public enum TestSupport {
  /// The repository root (tests run from it under `swift test`).
  public static var repositoryRoot: URL {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url
  }

  /// The embedded digits dataset.
  public static var digitsPath: String { repositoryRoot.appendingPathComponent("datasets/digits").path }

  /// PNG fixtures for decoder tests.
  public static var fixtures: URL { repositoryRoot.appendingPathComponent("Tests/Fixtures") }

  /// A fresh temporary folder.
  public static func temporaryDirectory(_ name: String = "test") -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("unlearn-\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// |a − b| ≤ atol + rtol·max(|a|, |b|).
  public static func close(_ a: Double, _ b: Double, rtol: Double = 1e-6, atol: Double = 1e-9) -> Bool {
    abs(a - b) <= atol + rtol * max(abs(a), abs(b))
  }

  /// A safetensors file with `header` as its JSON header followed by `dataBytes` zero bytes.
  public static func safetensors(header: String, dataBytes: Int) -> Data {
    var out = Data()
    var n = UInt64(header.utf8.count).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(contentsOf: header.utf8)
    out.append(Data(count: dataBytes))
    return out
  }

  /// Random values in [−1, 1) from a seeded generator.
  public static func randomValues(_ n: Int, seed: UInt64) -> [Float] {
    var rng = Xoshiro256StarStar(seed: seed)
    return (0..<n).map { _ in rng.nextUnitFloat() * 2 - 1 }
  }
}

extension TestSupport {
  /// The digits experiment with a small MLP (64-`hidden`-10) trained for `epochs`.
  public static func smallDigitsExperiment(hidden: Int = 16, epochs: Int) -> PreparedExperiment {
    var spec = ExperimentSpec()
    spec.dataset.path = digitsPath
    spec.model = ModelSpec(architecture: .mlp, hidden: [hidden])
    spec.training.epochs = epochs
    return try! PreparedExperiment(spec: spec)
  }
}

extension TestSupport {
  /// A configuration on the embedded digits: `dataset: {path: …}` and then `lines`, one a line.
  public static func digitsConfig(_ lines: String...) -> String {
    (["dataset: {path: \(digitsPath)}"] + lines).joined(separator: "\n") + "\n"
  }
}

/// Process ids written by test scripts (one a line), and whether they still run (zombies count as gone).
public enum ProcessWatch {
  public static func read(_ file: URL) -> [Int32] {
    ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(whereSeparator: \.isNewline).compactMap {
      Int32($0)
    }
  }

  public static func alive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    guard let close = stat.lastIndex(of: ")") else { return false }
    return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
  }

  public static func allGone(_ pids: [Int32], within seconds: Double) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
      if !pids.contains(where: alive) { return true }
      usleep(20_000)
    }
    return !pids.contains(where: alive)
  }
}
