import AllocationCounter
import Networks
import NumericCore
import Testing

/// A training step (gradients, then the optimizer's update) allocates nothing on
/// the heap: the numbers come from `AllocationCounter`, which counts the calling
/// thread's malloc/calloc/realloc/memalign calls in this test process.
@Suite struct AllocationTests {
  func examples(_ n: Int, _ d: Int, seed: UInt64) -> LabeledExamples {
    var rng = Xoshiro256StarStar(seed: seed)
    return LabeledExamples(
      features: Tensor(shape: [n, d], scalars: (0..<(n * d)).map { _ in rng.nextUnitFloat() }),
      labels: (0..<n).map { _ in Int32(rng.nextIndex(below: 10)) })
  }

  /// Allocations made by `body` on this thread (nil where they cannot be counted).
  func allocations(_ body: () -> Void) -> Int? {
    let before = allocation_counter_thread_count()
    guard before >= 0 else { return nil }
    body()
    return allocation_counter_thread_count() - before
  }

  /// With BLAS on one thread, as in every job (OpenBLAS's threaded path allocates 512 KiB per product).
  @Test(arguments: ["mlp", "cnn"])
  func trainingSteps_allocateNothing(model: String) throws {
    BLASThreads.setSingleThreaded()
    let arch =
      model == "mlp"
      ? Architecture(kind: .mlp, inputShape: [1, 8, 8], numClasses: 10, hidden: [128, 128])
      : Architecture(kind: .cnn, inputShape: [1, 28, 28], numClasses: 10, channels: [16, 32])
    let net = try Network(architecture: arch, maxBatch: 64)
    if model == "cnn" { #expect(net.microBatch < 64) }  // the passes are exercised too
    net.initialize(seed: 1)
    let data = examples(128, arch.inputSize, seed: 2)
    let soft = Tensor(shape: [128, 10], scalars: [Float](repeating: 0.1, count: 1280))
    let weights: [Float] = [1, 2, 1, 0.5, 1, 1, 3, 1, 1, 0.25]
    let order = Array((0..<128).reversed())
    let sgd = SGD(momentum: 0.9, weightDecay: 5e-4), adam = Adam()
    func steps() {
      for start in stride(from: 0, to: 128, by: 64) {
        let batch = order[start..<(start + 64)]
        net.computeGradients(data, indices: batch)
        sgd.step(net, learningRate: 0.01)
        net.computeGradients(data, indices: batch, classWeights: weights)
        adam.step(net, learningRate: 1e-3)
        net.computeGradients(data, softTargets: soft, indices: batch)
        sgd.step(net, learningRate: 0.01)
      }
    }
    steps()  // the optimizers allocate their state on their first step
    guard let count = allocations(steps) else { return }
    #expect(count == 0, "\(model): \(count) heap allocations in 6 training steps")
    #expect(net.parameters.allFinite)
  }

  /// The counter itself counts (and exists wherever glibc does): an array of fresh storage
  /// is one allocation or more.
  @Test func counter_seesAnAllocation() {
    #if os(Linux)
      #expect(allocation_counter_thread_count() >= 0, "allocations cannot be counted: the tests above prove nothing")
    #endif
    var kept: [Int] = []
    guard let count = allocations({ kept = Array(repeating: 7, count: 1000) }) else { return }
    #expect(count >= 1 && kept.count == 1000)
  }
}
