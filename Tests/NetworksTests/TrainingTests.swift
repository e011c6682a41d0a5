import Foundation
import Networks
import NumericCore
import TestSupport
import Testing

/// A linearly separable toy problem: class = argmax of a fixed linear map.
func toyProblem(n: Int, seed: UInt64) -> LabeledExamples {
  let x = TestSupport.randomValues(n * 4, seed: seed)
  var y = [Int32]()
  for i in 0..<n {
    let a = x[4 * i] + x[4 * i + 1], b = x[4 * i + 2] - x[4 * i + 3], c = -a - b
    y.append(Int32([a, b, c].enumerated().max { $0.element < $1.element }!.offset))
  }
  return LabeledExamples(features: Tensor(shape: [n, 4], scalars: x), labels: y)
}

@Suite struct OptimizerTests {
  @Test(arguments: [OptimizerKind.sgd, .adam])
  func optimizer_convergesOnALinearProblem(kind: OptimizerKind) throws {
    let data = toyProblem(n: 300, seed: 1)
    let net = try Network(architecture: Architecture(kind: .softmax, inputShape: [1, 2, 2], numClasses: 3))
    net.initialize(seed: 2)
    let before = net.loss(data)
    let config = TrainingConfig(
      epochs: 40, batchSize: 16, optimizer: kind, learningRate: kind == .sgd ? 0.2 : 0.05, weightDecay: 0,
      schedule: .constant)
    try Trainer.train(net, on: data, config: config, seed: 3)
    #expect(net.loss(data) < 0.25 * before)
    #expect(net.accuracy(data) > 0.95)
  }

  @Test func sgd_stepMatchesPyTorchSemantics() {
    // torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01), two steps with gradient g:
    // d1 = g + λθ0; v1 = d1; θ1 = θ0 − 0.1·v1; d2 = g + λθ1; v2 = 0.9·v1 + d2; θ2 = θ1 − 0.1·v2.
    let p = FloatBuffer([1, -2]), g = FloatBuffer([0.5, 0.25]), v = FloatBuffer(count: 2)
    var theta: [Double] = [1, -2], vel: [Double] = [0, 0]
    for _ in 0..<2 {
      Kernels.sgdStep(
        parameters: p.view, gradients: g.view, velocity: v.view, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
      for i in 0..<2 {
        let d = Double(g[i]) + 0.01 * theta[i]
        vel[i] = 0.9 * vel[i] + d
        theta[i] -= 0.1 * vel[i]
      }
    }
    #expect(abs(Double(p[0]) - theta[0]) < 1e-6 && abs(Double(p[1]) - theta[1]) < 1e-6)
  }

  @Test func adam_firstStepMovesEachParameterByTheLearningRate() {
    // With bias correction, Adam's first step is −lr·sign(g) (up to ε).
    let p = FloatBuffer([1, -2, 3]), g = FloatBuffer([0.5, -0.25, 4])
    let m = FloatBuffer(count: 3), s = FloatBuffer(count: 3)
    Kernels.adamStep(
      parameters: p.view, gradients: g.view, firstMoment: m.view, secondMoment: s.view, step: 1, learningRate: 0.01,
      beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0)
    #expect(abs(p[0] - 0.99) < 1e-6 && abs(p[1] - -1.99) < 1e-6 && abs(p[2] - 2.99) < 1e-6)
  }

  @Test func cosineSchedule_matchesCosineAnnealingLR() {
    let s = LearningRateSchedule.cosine
    #expect(s.rate(base: 0.1, epoch: 0, epochs: 10) == 0.1)
    #expect(abs(s.rate(base: 0.1, epoch: 5, epochs: 10) - 0.05) < 1e-7)
    #expect(abs(s.rate(base: 0.1, epoch: 9, epochs: 10) - Float(0.1 * (1 + cos(Double.pi * 0.9)) / 2)) < 1e-8)
    #expect(LearningRateSchedule.constant.rate(base: 0.1, epoch: 9, epochs: 10) == 0.1)
  }
}

@Suite struct DeterminismTests {
  @Test func training_isBitIdenticalForASeedAndDiffersAcrossSeeds() throws {
    let data = toyProblem(n: 200, seed: 5)
    let arch = Architecture(kind: .mlp, inputShape: [1, 2, 2], numClasses: 3, hidden: [16])
    func run(_ seed: UInt64) throws -> [Float] {
      let net = try Network(architecture: arch)
      net.initialize(seed: seed)
      try Trainer.train(net, on: data, config: TrainingConfig(epochs: 3, batchSize: 32), seed: seed)
      return net.parameters.array
    }
    let a = try run(1), b = try run(1), c = try run(2)
    #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
    #expect(a != c)
  }

  @Test func training_givesTheSameBitsOnEveryWorkerCount() throws {
    let data = toyProblem(n: 200, seed: 6)
    let arch = Architecture(kind: .cnn, inputShape: [1, 2, 2], numClasses: 3, channels: [2])
    let job: @Sendable (Int) throws -> [UInt32] = { i in
      let net = try Network(architecture: arch)
      net.initialize(seed: UInt64(i))
      try Trainer.train(net, on: data, config: TrainingConfig(epochs: 2, batchSize: 16), seed: UInt64(i))
      return net.parameters.array.map(\.bitPattern)
    }
    #expect(try WorkerPool.map(count: 4, workers: 1, job) == WorkerPool.map(count: 4, workers: 2, job))
  }
}

@Suite struct WeightsTests {
  @Test func namedTensors_usePyTorchNamesAndShapes() throws {
    let mlp = try Network(
      architecture: Architecture(kind: .mlp, inputShape: [1, 8, 8], numClasses: 10, hidden: [128, 128]))
    #expect(
      mlp.tensorSpecs.map(\.name) == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.4.weight", "layers.4.bias",
      ])
    #expect(mlp.tensorSpecs[0].shape == [128, 64])
    #expect(mlp.parameterCount == 64 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10)
    let cnn = try Network(
      architecture: Architecture(kind: .cnn, inputShape: [3, 28, 28], numClasses: 10, channels: [16, 32]))
    #expect(
      cnn.tensorSpecs.map(\.name) == [
        "layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias", "layers.7.weight", "layers.7.bias",
      ])
    #expect(cnn.tensorSpecs[0].shape == [16, 3, 3, 3] && cnn.tensorSpecs[4].shape == [10, 32 * 7 * 7])
    #expect(
      cnn.architecture.torchSequential.hasPrefix(
        "nn.Conv2d(3, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2)"))
  }

  @Test func safetensors_roundTripsModelWeights() throws {
    let net = try Network(architecture: Architecture(kind: .cnn, inputShape: [1, 8, 8], numClasses: 3, channels: [4]))
    net.initialize(seed: 4)
    let data = Safetensors.encode(net.namedTensors)
    let other = try Network(architecture: net.architecture)
    try other.load(namedTensors: try Safetensors.decode(data, name: "m").entries, source: "m")
    #expect(other.weights == net.weights)
  }

  @Test func load_rejectsMissingMisshapenNonFiniteAndExtraTensors() throws {
    let net = try Network(architecture: Architecture(kind: .softmax, inputShape: [1, 2, 2], numClasses: 3))
    let good = net.namedTensors
    var missing = good
    missing.removeLast()
    var shaped = good
    shaped[0].tensor = Tensor(shape: [4, 3], scalars: shaped[0].tensor.scalars)
    var nan = good
    nan[1].tensor.scalars[0] = .nan
    var extra = good
    extra.append(.init(name: "layers.9.weight", tensor: Tensor(zeros: [1])))
    for (entries, needle) in [
      (missing, "missing tensor 'layers.0.bias'"), (shaped, "has shape [4, 3]"), (nan, "NaN"),
      (extra, "unexpected tensors"),
    ] {
      #expect { try net.load(namedTensors: entries, source: "u.safetensors") } throws: {
        "\($0)".contains(needle) && "\($0)".contains("u.safetensors")
      }
    }
  }
}
