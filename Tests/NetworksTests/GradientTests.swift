import Foundation
import NumericCore
import TestSupport
import Testing

@testable import Networks

/// Checks a layer's backward pass against central finite differences of
/// L = Σ r ⊙ forward(x) for a fixed random r (so ∂L/∂y = r), in double-checked float.
func checkLayerGradients(_ layer: any Layer, batch: Int, seed: UInt64, inputScale: Float = 1, tolerance: Double = 2e-2)
{
  layer.prepare(maxBatch: batch)
  let nIn = batch * layer.inputSize, nOut = batch * layer.outputSize
  let x = FloatBuffer(TestSupport.randomValues(nIn, seed: seed).map { $0 * inputScale })
  let p = FloatBuffer(count: max(layer.parameterCount, 1))
  if layer.parameterCount > 0 {
    var rng = Xoshiro256StarStar(seed: seed + 1)
    layer.initialize(p.view(offset: 0, count: layer.parameterCount), using: &rng)
  }
  let params = p.view(offset: 0, count: layer.parameterCount)
  let r = FloatBuffer(TestSupport.randomValues(nOut, seed: seed + 2))
  let y = FloatBuffer(count: nOut)
  func objective() -> Double {
    layer.forward(x.view, y.view, batch: batch, parameters: params)
    return (0..<nOut).reduce(0.0) { $0 + Double(y[$1]) * Double(r[$1]) }
  }
  _ = objective()
  let dx = FloatBuffer(count: nIn)
  let dp = FloatBuffer(count: max(layer.parameterCount, 1))
  layer.backward(
    input: x.view, output: y.view, outputGrad: r.view, inputGrad: dx.view, batch: batch, parameters: params,
    parameterGrads: dp.view(offset: 0, count: layer.parameterCount))
  let eps: Float = 1e-2
  func numeric(_ buf: FloatBuffer, _ i: Int) -> Double {
    let saved = buf[i]
    buf[i] = saved + eps
    let up = objective()
    buf[i] = saved - eps
    let down = objective()
    buf[i] = saved
    return (up - down) / (2 * Double(eps))
  }
  var worst = 0.0
  for i in 0..<nIn {
    let n = numeric(x, i), a = Double(dx[i])
    worst = max(worst, abs(n - a) / max(1, abs(n)))
  }
  for i in 0..<layer.parameterCount {
    let n = numeric(p, i), a = Double(dp[i])
    worst = max(worst, abs(n - a) / max(1, abs(n)))
  }
  #expect(worst < tolerance, "\(type(of: layer)): worst relative gradient error \(worst)")
}

@Suite struct LayerGradientTests {
  @Test func linear_gradientMatchesFiniteDifference() {
    checkLayerGradients(Linear(inputSize: 7, outputSize: 5), batch: 4, seed: 10)
  }

  @Test func conv2D_gradientMatchesFiniteDifference() {
    checkLayerGradients(
      Conv2D(inChannels: 2, outChannels: 3, kernel: 3, padding: 1, height: 5, width: 4), batch: 3, seed: 20)
    checkLayerGradients(
      Conv2D(inChannels: 1, outChannels: 2, kernel: 3, padding: 0, height: 4, width: 5), batch: 2, seed: 21)
    // A column budget of one example per chunk: the chunked passes must give the same gradients.
    checkLayerGradients(
      Conv2D(inChannels: 2, outChannels: 3, kernel: 3, padding: 1, height: 5, width: 4, columnBudget: 1), batch: 3,
      seed: 22)
    // Chunks whose columns are not kept from the forward pass (rebuilt in backward).
    checkLayerGradients(
      Conv2D(
        inChannels: 2, outChannels: 3, kernel: 3, padding: 1, height: 5, width: 4, columnBudget: 1, storedColumnLimit: 0
      ), batch: 3, seed: 22)
  }

  /// Kept columns and rebuilt columns give bit-identical gradients.
  @Test func conv2D_keptAndRebuiltColumns_giveTheSameGradients() {
    func gradients(_ limit: Int) -> [Float] {
      let conv = Conv2D(
        inChannels: 2, outChannels: 3, kernel: 3, padding: 1, height: 5, width: 4, columnBudget: 2 * 18 * 20,
        storedColumnLimit: limit)
      conv.prepare(maxBatch: 5)
      let x = FloatBuffer(TestSupport.randomValues(5 * conv.inputSize, seed: 25))
      let p = FloatBuffer(TestSupport.randomValues(conv.parameterCount, seed: 26))
      let dy = FloatBuffer(TestSupport.randomValues(5 * conv.outputSize, seed: 27))
      let y = FloatBuffer(count: 5 * conv.outputSize), dx = FloatBuffer(count: 5 * conv.inputSize)
      let dp = FloatBuffer(count: conv.parameterCount)
      conv.forward(x.view, y.view, batch: 5, parameters: p.view)
      conv.backward(
        input: x.view, output: y.view, outputGrad: dy.view, inputGrad: dx.view, batch: 5, parameters: p.view,
        parameterGrads: dp.view)
      return dp.array + dx.array
    }
    #expect(gradients(1 << 20) == gradients(0))
  }

  @Test func conv2D_chunkingDoesNotChangeTheOutput() {
    let whole = Conv2D(inChannels: 2, outChannels: 3, kernel: 3, padding: 1, height: 5, width: 4)
    let chunked = Conv2D(
      inChannels: 2, outChannels: 3, kernel: 3, padding: 1, height: 5, width: 4, columnBudget: 2 * 18 * 20)
    whole.prepare(maxBatch: 5)
    chunked.prepare(maxBatch: 5)
    let x = FloatBuffer(TestSupport.randomValues(5 * whole.inputSize, seed: 23))
    let p = FloatBuffer(TestSupport.randomValues(whole.parameterCount, seed: 24))
    let y1 = FloatBuffer(count: 5 * whole.outputSize), y2 = FloatBuffer(count: 5 * whole.outputSize)
    whole.forward(x.view, y1.view, batch: 5, parameters: p.view)
    chunked.forward(x.view, y2.view, batch: 5, parameters: p.view)
    #expect(y1.array == y2.array)
  }

  /// A layer whose products run in several column blocks (16 → 32 channels, 3 examples of 12×12:
  /// 432 columns in blocks of 208, 208 and 16) against the convolution written out in Double.
  @Test func conv2D_columnBlocks_matchTheConvolutionWrittenOut() {
    let (cin, cout, k, pad, h, w, batch) = (16, 32, 3, 1, 12, 12, 3)
    let conv = Conv2D(inChannels: cin, outChannels: cout, kernel: k, padding: pad, height: h, width: w)
    #expect(Array(Conv2D.blocks(batch * h * w, perColumn: cout * cin * k * k)).map(\.width) == [208, 208, 16])
    conv.prepare(maxBatch: batch)
    let x = FloatBuffer(TestSupport.randomValues(batch * conv.inputSize, seed: 40))
    let p = FloatBuffer(TestSupport.randomValues(conv.parameterCount, seed: 41))
    let dy = FloatBuffer(TestSupport.randomValues(batch * conv.outputSize, seed: 42))
    let y = FloatBuffer(count: batch * conv.outputSize), dx = FloatBuffer(count: batch * conv.inputSize)
    let dp = FloatBuffer(count: conv.parameterCount)
    conv.forward(x.view, y.view, batch: batch, parameters: p.view)
    conv.backward(
      input: x.view, output: y.view, outputGrad: dy.view, inputGrad: dx.view, batch: batch, parameters: p.view,
      parameterGrads: dp.view)
    // CBHW activations; W [out, in, k, k] then the bias.
    func xi(_ c: Int, _ b: Int, _ r: Int, _ q: Int) -> Int { ((c * batch + b) * h + r) * w + q }
    func wi(_ o: Int, _ c: Int, _ i: Int, _ j: Int) -> Int { ((o * cin + c) * k + i) * k + j }
    var yRef = [Double](repeating: 0, count: y.count), dxRef = [Double](repeating: 0, count: dx.count)
    var dpRef = [Double](repeating: 0, count: dp.count)
    for o in 0..<cout {
      for b in 0..<batch {
        for r in 0..<h {
          for q in 0..<w {
            let out = xi(o, b, r, q)
            var sum = Double(p[cout * cin * k * k + o])
            dpRef[cout * cin * k * k + o] += Double(dy[out])
            for c in 0..<cin {
              for i in 0..<k {
                for j in 0..<k {
                  let rr = r + i - pad, qq = q + j - pad
                  guard rr >= 0 && rr < h && qq >= 0 && qq < w else { continue }
                  sum += Double(p[wi(o, c, i, j)]) * Double(x[xi(c, b, rr, qq)])
                  dpRef[wi(o, c, i, j)] += Double(dy[out]) * Double(x[xi(c, b, rr, qq)])
                  dxRef[xi(c, b, rr, qq)] += Double(dy[out]) * Double(p[wi(o, c, i, j)])
                }
              }
            }
            yRef[out] = sum
          }
        }
      }
    }
    func worst(_ got: FloatBuffer, _ want: [Double]) -> Double {
      (0..<want.count).map { abs(Double(got[$0]) - want[$0]) / max(1, abs(want[$0])) }.max() ?? 0
    }
    #expect(worst(y, yRef) < 1e-5 && worst(dx, dxRef) < 1e-5 && worst(dp, dpRef) < 1e-5)
  }

  @Test func conv2D_columnBlocks_coverTheColumnsInSmallProductsOfWhole16s() {
    for (columns, perColumn) in [(784, 4608), (3136, 144), (1, 4608), (17, 10_000_000), (1568, 3888)] {
      let blocks = Array(Conv2D.blocks(columns, perColumn: perColumn))
      #expect(blocks.first?.first == 0 && blocks.map(\.width).reduce(0, +) == columns)
      #expect(zip(blocks, blocks.dropFirst()).allSatisfy { $0.first + $0.width == $1.first })
      #expect(
        blocks.dropLast().allSatisfy { $0.width % 16 == 0 && ($0.width * perColumn <= 1_000_000 || $0.width == 16) })
    }
  }

  @Test func relu_gradientMatchesFiniteDifference() {
    // Inputs far from the kink relative to eps: scale up, then the few values within eps of 0 are unlikely.
    checkLayerGradients(ReLU(size: 9), batch: 3, seed: 30, inputScale: 10)
  }

  /// The fused ReLU + max-pool gives the bits of ReLU then max-pool, forward and backward.
  @Test(arguments: [5, 4, 14, 28]) func fusedReLUMaxPool_equalsReLUThenMaxPool(width w: Int) {
    let (c, h, batch) = (3, 6, 4)
    let fused = MaxPool2D(channels: c, height: h, width: w, relu: true)
    let relu = ReLU(size: c * h * w), pool = MaxPool2D(channels: c, height: h, width: w)
    fused.prepare(maxBatch: batch)
    pool.prepare(maxBatch: batch)
    // Mixed signs, exact zeros and ties, so that every branch is taken.
    var values = TestSupport.randomValues(batch * fused.inputSize, seed: 41).map { ($0 * 4).rounded() / 4 }
    values[0] = 0
    let x = FloatBuffer(values), none = FloatBuffer(count: 0)
    let y1 = FloatBuffer(count: batch * fused.outputSize), r = FloatBuffer(count: batch * relu.outputSize)
    let y2 = FloatBuffer(count: batch * fused.outputSize)
    fused.forward(x.view, y1.view, batch: batch, parameters: none.view)
    relu.forward(x.view, r.view, batch: batch, parameters: none.view)
    pool.forward(r.view, y2.view, batch: batch, parameters: none.view)
    #expect(y1.array == y2.array)
    let dy = FloatBuffer(TestSupport.randomValues(batch * fused.outputSize, seed: 42))
    let dx1 = FloatBuffer(count: batch * fused.inputSize), dr = FloatBuffer(count: batch * fused.inputSize)
    let dx2 = FloatBuffer(count: batch * fused.inputSize)
    fused.backward(
      input: x.view, output: y1.view, outputGrad: dy.view, inputGrad: dx1.view, batch: batch, parameters: none.view,
      parameterGrads: none.view)
    pool.backward(
      input: r.view, output: y2.view, outputGrad: dy.view, inputGrad: dr.view, batch: batch, parameters: none.view,
      parameterGrads: none.view)
    relu.backward(
      input: x.view, output: r.view, outputGrad: dr.view, inputGrad: dx2.view, batch: batch, parameters: none.view,
      parameterGrads: none.view)
    #expect(dx1.array == dx2.array)
    #expect(fused.torchModuleCount == 2 && fused.torchDescription == "nn.ReLU(), nn.MaxPool2d(2)")
  }

  @Test func maxPool_gradientMatchesFiniteDifference() {
    checkLayerGradients(MaxPool2D(channels: 2, height: 4, width: 5), batch: 2, seed: 40, inputScale: 10)
    checkLayerGradients(MaxPool2D(channels: 2, height: 4, width: 5, relu: true), batch: 2, seed: 43, inputScale: 10)
    // Even sizes: the backward pass writes whole windows instead of zeroing and scattering.
    checkLayerGradients(MaxPool2D(channels: 2, height: 4, width: 6), batch: 2, seed: 44, inputScale: 10)
    checkLayerGradients(MaxPool2D(channels: 2, height: 4, width: 6, relu: true), batch: 2, seed: 45, inputScale: 10)
  }

  @Test func flatten_andChannelMajor_gradientsMatchFiniteDifference() {
    checkLayerGradients(Flatten(channels: 3, planeSize: 4), batch: 2, seed: 50)
    checkLayerGradients(ToChannelMajor(channels: 3, planeSize: 4), batch: 2, seed: 51)
  }
}

@Suite struct LossAndNetworkGradientTests {
  /// Finite differences of the whole network's loss against `computeGradients`.
  func checkNetwork(_ arch: Architecture, classWeights: [Float]?, seed: UInt64, microBatch: Int? = nil) throws {
    let net = try Network(architecture: arch, maxBatch: 8, microBatch: microBatch)
    net.initialize(seed: seed)
    let n = 5
    let x = TestSupport.randomValues(n * arch.inputSize, seed: seed + 1)
    var rng = Xoshiro256StarStar(seed: seed + 2)
    let y = (0..<n).map { _ in Int32(rng.nextIndex(below: arch.numClasses)) }
    let data = LabeledExamples(features: Tensor(shape: [n, arch.inputSize], scalars: x), labels: y)
    let idx = Array(0..<n)[...]
    net.computeGradients(data, indices: idx, classWeights: classWeights)
    let analytic = net.gradients.array
    // Central differences at two step sizes: where they disagree, the step
    // crossed a ReLU or max-pool kink and the parameter is not comparable;
    // such parameters are skipped, and must stay rare.
    func numeric(_ i: Int, _ eps: Float) -> Double {
      let saved = net.parameters[i]
      net.parameters[i] = saved + eps
      let up = net.loss(data, classWeights: classWeights)
      net.parameters[i] = saved - eps
      let down = net.loss(data, classWeights: classWeights)
      net.parameters[i] = saved
      return (up - down) / (2 * Double(eps))
    }
    var worst = 0.0, checked = 0, skipped = 0
    // Every parameter for small models; a strided sample for larger ones.
    let step = max(1, net.parameterCount / 400)
    for i in stride(from: 0, to: net.parameterCount, by: step) {
      let n1 = numeric(i, 2e-3), n2 = numeric(i, 1e-3)
      if abs(n1 - n2) > 1e-3 + 0.05 * abs(n2) {
        skipped += 1
        continue
      }
      checked += 1
      worst = max(worst, abs(n2 - Double(analytic[i])) / max(0.1, abs(n2)))
    }
    #expect(skipped * 10 <= checked, "\(arch.kind): \(skipped) kink crossings for \(checked) checked parameters")
    #expect(worst < 5e-2, "\(arch.kind) seed \(seed): worst relative error \(worst)")
  }

  @Test func softmaxCrossEntropy_gradientMatchesFiniteDifference() throws {
    let arch = Architecture(kind: .softmax, inputShape: [1, 3, 3], numClasses: 4)
    try checkNetwork(arch, classWeights: nil, seed: 60)
    try checkNetwork(arch, classWeights: [0.5, 2, 1, 0.25], seed: 61)
  }

  @Test func mlp_andCNN_gradientsMatchFiniteDifference() throws {
    try checkNetwork(
      Architecture(kind: .mlp, inputShape: [1, 2, 3], numClasses: 3, hidden: [5, 4]), classWeights: nil, seed: 70)
    try checkNetwork(
      Architecture(kind: .cnn, inputShape: [2, 6, 6], numClasses: 3, channels: [3, 2]), classWeights: nil, seed: 71)
  }

  /// Five examples in passes of 2, 2 and 1, with and without class weights.
  @Test func microBatchedGradients_matchFiniteDifference() throws {
    let cnn = Architecture(kind: .cnn, inputShape: [2, 6, 6], numClasses: 3, channels: [3, 2])
    try checkNetwork(cnn, classWeights: nil, seed: 76, microBatch: 2)
    try checkNetwork(cnn, classWeights: [0.5, 2, 1], seed: 75, microBatch: 2)
    try checkNetwork(
      Architecture(kind: .softmax, inputShape: [1, 3, 3], numClasses: 4), classWeights: [0.5, 2, 1, 0.25], seed: 74,
      microBatch: 2)
  }

  /// The bench CNN runs a batch of 64 in passes of 8; the MLP and the digits CNN in one.
  @Test func microBatch_followsTheLargestActivation() throws {
    let cnn28 = Architecture(kind: .cnn, inputShape: [1, 28, 28], numClasses: 10, channels: [16, 32])
    let bench = try Network(architecture: cnn28, maxBatch: 64)
    let digits = try Network(
      architecture: Architecture(kind: .cnn, inputShape: [1, 8, 8], numClasses: 10, channels: [16, 32]))
    let mlp = try Network(
      architecture: Architecture(kind: .mlp, inputShape: [1, 8, 8], numClasses: 10, hidden: [128, 128]))
    let copied = try Network(architecture: cnn28, microBatch: 3).copy()
    #expect(bench.microBatch == 8 && digits.microBatch >= 64 && mlp.microBatch >= 256 && copied.microBatch == 3)
  }

  /// Passes of 8 and one pass of 64 give the same loss and gradients up to the
  /// order of float additions: hard labels, class weights (one class weighted 0,
  /// so that some passes weigh nothing) and soft targets.
  @Test func microBatchedAndSinglePassGradients_agree() throws {
    let arch = Architecture(kind: .cnn, inputShape: [1, 28, 28], numClasses: 10, channels: [16, 32])
    let n = 64
    var rng = Xoshiro256StarStar(seed: 80)
    let x = (0..<(n * arch.inputSize)).map { _ in rng.nextUnitFloat() }
    // Labels 0 for the first 16 examples, so the first two passes of 8 have zero weight below.
    let y = (0..<n).map { $0 < 16 ? Int32(0) : Int32(rng.nextIndex(below: 10)) }
    let data = LabeledExamples(features: Tensor(shape: [n, arch.inputSize], scalars: x), labels: y)
    let soft = Tensor(shape: [n, 10], scalars: (0..<(n * 10)).map { _ in rng.nextUnitFloat() / 5 })
    let passes = try Network(architecture: arch, maxBatch: n),
      single = try Network(architecture: arch, maxBatch: n, microBatch: n)
    #expect(passes.microBatch == 8)
    passes.initialize(seed: 81)
    single.initialize(seed: 81)
    let idx = Array((0..<n).reversed())[...]
    let weights: [Float] = [0, 1, 2, 0.5, 1, 1, 3, 1, 1, 0.25]
    for mode in 0..<3 {
      let l1: Double, l2: Double
      switch mode {
      case 0:
        (l1, l2) = (passes.computeGradients(data, indices: idx), single.computeGradients(data, indices: idx))
      case 1:
        (l1, l2) = (
          passes.computeGradients(data, indices: idx, classWeights: weights),
          single.computeGradients(data, indices: idx, classWeights: weights)
        )
      default:
        (l1, l2) = (
          passes.computeGradients(data, softTargets: soft, indices: idx),
          single.computeGradients(data, softTargets: soft, indices: idx)
        )
      }
      #expect(abs(l1 - l2) <= 1e-6 * abs(l2), "mode \(mode): loss \(l1) vs \(l2)")
      let g1 = passes.gradients.array, g2 = single.gradients.array
      let scale = g2.map { abs($0) }.max() ?? 0
      let worst = zip(g1, g2).map { abs($0 - $1) }.max() ?? 0
      #expect(scale > 0 && worst <= 1e-5 * scale, "mode \(mode): worst difference \(worst) at scale \(scale)")
      #expect(g1.allSatisfy { $0.isFinite })
    }
  }

  @Test func softmaxCrossEntropy_matchesHandComputedValue() {
    // logits [1, 2, 3], label 2: −log(e³/(e¹+e²+e³)) = log(1 + e⁻¹ + e⁻²).
    let z = FloatBuffer([1, 2, 3, 0, 0, 0])
    let labels = IndexBuffer(count: 2)
    labels[0] = 2
    labels[1] = 0
    let loss = Kernels.softmaxCrossEntropy(logits: z.view, labels: labels, rows: 2, classes: 3, grad: nil)
    let expected = (log(1 + exp(-1.0) + exp(-2.0)) + log(3.0)) / 2
    #expect(abs(loss - expected) < 1e-6)
    // With class weights w = [3, 1, 1]: (1·ℓ₀ + 3·ℓ₁) / 4.
    let weighted = Kernels.softmaxCrossEntropy(
      logits: z.view, labels: labels, rows: 2, classes: 3, classWeights: [3, 1, 1], grad: nil)
    #expect(abs(weighted - (log(1 + exp(-1.0) + exp(-2.0)) + 3 * log(3.0)) / 4) < 1e-6)
  }
}
