import Foundation
import Harness
import Networks
import NumericCore

/// GFLOP/s of one core on a large single-precision product (OpenBLAS, one thread,
/// 1024 × 1024 × 1024, best of 5): the bench's measured peak, against which the MLP's
/// training rate is read (the FMA peak itself is a little higher still).
func measuredPeakGFLOPs() -> Double {
  let n = 1024
  let a = FloatBuffer((0..<(n * n)).map { Float($0 % 7) * 0.1 })
  let b = FloatBuffer((0..<(n * n)).map { Float($0 % 5) * 0.1 }), c = FloatBuffer(count: n * n)
  var best = Double.infinity
  for _ in 0..<5 {
    let start = Date()
    BLAS.gemm(m: n, n: n, k: n, a: a.view, lda: n, b: b.view, ldb: n, c: c.view, ldc: n)
    best = min(best, Date().timeIntervalSince(start))
  }
  return 2 * Double(n * n * n) / best / 1e9
}

/// Floating-point operations of one training sample of an MLP with layer widths `widths`
/// (forward 2·in·out per layer, backward 4·in·out: the input and the weight gradients).
func mlpFLOPsPerSample(_ widths: [Int]) -> Double {
  zip(widths, widths.dropFirst()).reduce(0) { $0 + 6 * Double($1.0 * $1.1) }
}

/// Loading a 50,000-image 32×32 RGB Kaggle-layout dataset (generated here, once, by
/// `examples/pytorch/make_kaggle_sample.py`): wall time, images/s and peak memory of
/// `unlearn dataset inspect`, against the size of its float32 tensor; then CNN training
/// samples/s (channels 16, 32, batch 64, one thread) on its first 4,096 images, loaded in process.
func loadBench(images: Int = 50_000, seconds: Double) throws {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unlearn-bench-kaggle-\(images)")
  if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("trainLabels.csv").path) {
    print("generating \(images) 32×32 RGB images in \(folder.path) (once)")
    _ = try timedRun([
      "python3", "examples/pytorch/make_kaggle_sample.py", folder.path, "--images", "\(images)", "--size", "32",
      "--classes", "10",
    ])
  }
  let binary = CommandLine.arguments[0].replacingOccurrences(of: "unlearn-bench", with: "unlearn")
  let t = try timedRun([binary, "dataset", "inspect", folder.path])
  let bytes: Int = images * 3 * 32 * 32 * 4
  let tensorMiB = Double(bytes) / 1_048_576
  print(
    String(
      format: "Loading %d images (32×32 RGB, Kaggle layout): %.1f s, %.0f images/s, peak memory %.0f MiB = %.2f× "
        + "the float32 tensor (%.0f MiB); targets ≤ 10 s and ≤ 1.5×", images, t.seconds, Double(images) / t.seconds,
      t.peakMiB, t.peakMiB / tensorMiB, tensorMiB))
  let dataset = try Dataset.load(path: folder.path)
  let shape = [3, 32, 32]
  let arch = Architecture(kind: .cnn, inputShape: shape, numClasses: dataset.classNames.count, channels: [16, 32])
  let first = dataset.examples.subset(Array(0..<min(4096, dataset.examples.count)))
  let rate = try throughput(arch, examples: first, seconds: seconds, seed: 5)
  print(String(format: "CNN (16, 32) training on these 32×32 RGB images: %.0f samples/s on one core", rate))
}
