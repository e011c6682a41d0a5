import Foundation
import NumericCore

/// The optimiser family.
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
  case sgd, adam
}

/// How examples are weighted in the loss.
public enum ClassWeighting: String, Codable, Sendable, CaseIterable {
  /// Every example counts once.
  case none
  /// Weight 1/count(class) in the training set, as the NeurIPS 2023 challenge's original model.
  case balanced
}

/// Hyper-parameters of supervised training (validated by ``Trainer``).
public struct TrainingConfig: Codable, Sendable, Equatable {
  public var epochs: Int
  public var batchSize: Int
  public var optimizer: OptimizerKind
  public var learningRate: Float
  public var momentum: Float
  public var weightDecay: Float
  public var schedule: LearningRateSchedule
  public var classWeighting: ClassWeighting

  /// Defaults: 30 epochs, batch 64, SGD(lr 0.05, momentum 0.9, weight decay 5e-4), cosine schedule.
  public init(
    epochs: Int = 30, batchSize: Int = 64, optimizer: OptimizerKind = .sgd, learningRate: Float = 0.05,
    momentum: Float = 0.9, weightDecay: Float = 5e-4, schedule: LearningRateSchedule = .cosine,
    classWeighting: ClassWeighting = .none
  ) {
    self.epochs = epochs
    self.batchSize = batchSize
    self.optimizer = optimizer
    self.learningRate = learningRate
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.schedule = schedule
    self.classWeighting = classWeighting
  }

  /// Throws naming the offending field.
  public func validate() throws {
    guard epochs >= 0 else { throw NetworkError.invalidTraining("epochs must be ≥ 0, got \(epochs)") }
    guard batchSize >= 1 else { throw NetworkError.invalidTraining("batch_size must be ≥ 1, got \(batchSize)") }
    guard learningRate.isFinite, learningRate >= 0 else {
      throw NetworkError.invalidTraining("learning_rate must be ≥ 0, got \(learningRate)")
    }
    guard momentum >= 0, momentum < 1 else {
      throw NetworkError.invalidTraining("momentum must be in [0, 1), got \(momentum)")
    }
    guard weightDecay >= 0 else { throw NetworkError.invalidTraining("weight_decay must be ≥ 0, got \(weightDecay)") }
  }

  /// A fresh optimiser for this configuration.
  public func makeOptimizer() -> any Optimizer {
    switch optimizer {
    case .sgd: SGD(momentum: momentum, weightDecay: weightDecay)
    case .adam: Adam(weightDecay: weightDecay)
    }
  }
}

/// Class weights `1/count(c)` over `labels` (0 for absent classes), or nil for ``ClassWeighting/none``.
public func classWeights(_ weighting: ClassWeighting, labels: [Int32], numClasses: Int) -> [Float]? {
  guard weighting == .balanced else { return nil }
  var counts = [Int](repeating: 0, count: numClasses)
  for y in labels { counts[Int(y)] += 1 }
  return counts.map { $0 > 0 ? 1 / Float($0) : 0 }
}

/// A wall-clock deadline for an algorithm's time budget.
public struct Deadline: Sendable {
  let end: UInt64

  /// `seconds` from now.
  public init(seconds: Double) {
    end = DispatchTime.now().uptimeNanoseconds &+ UInt64(Swift.max(0, Swift.min(seconds, 1e9)) * 1e9)
  }

  public var hasPassed: Bool { DispatchTime.now().uptimeNanoseconds >= end }
}

/// Mini-batch training: each epoch visits the examples in a fresh seeded
/// permutation, in batches of `batchSize` (the last batch may be smaller),
/// stepping the optimiser after each batch and the schedule after each epoch.
public enum Trainer {
  /// Per-epoch progress: epoch index, mean training loss of the epoch.
  public typealias Observer = (_ epoch: Int, _ meanLoss: Double) -> Void

  /// Trains `network` in place on `examples`.
  ///
  /// - Parameters:
  ///   - seed: seeds the shuffling; the same seed, data and starting
  ///     parameters give bit-identical results.
  ///   - optimizer: continue with an existing optimiser state (default: fresh).
  ///   - ascend: climb the loss instead of descending it (the gradient is
  ///     negated before the optimiser step; weight decay still shrinks θ).
  ///   - softTargets: train against these rows of class probabilities
  ///     (`[examples, classes]`) instead of the labels.
  ///   - transform: called with the network and the epoch after each batch's
  ///     gradient is computed, before the step (masks, penalties).
  ///   - relabel: called at the start of every epoch with the epoch and the labels, which it
  ///     may change for that epoch (random-label methods redraw their labels every epoch).
  ///   - deadline: checked before every batch; when it has passed, training
  ///     stops with ``NetworkError/deadlineExceeded`` and the network keeps the
  ///     parameters of the last completed step.
  /// - Returns: the mean loss of the last epoch.
  @discardableResult
  public static func train(
    _ network: Network, on examples: LabeledExamples, config: TrainingConfig, seed: UInt64,
    optimizer: (any Optimizer)? = nil, ascend: Bool = false, softTargets: Tensor? = nil,
    transform: ((Network, Int) -> Void)? = nil, relabel: ((_ epoch: Int, _ labels: inout [Int32]) -> Void)? = nil,
    deadline: Deadline? = nil, observer: Observer? = nil
  ) throws -> Double {
    try config.validate()
    guard config.batchSize <= network.maxBatch else {
      throw NetworkError.invalidTraining(
        "batch_size \(config.batchSize) exceeds the network's maximum batch \(network.maxBatch)")
    }
    let n = examples.count
    guard n > 0 else { return .nan }
    let weights = classWeights(
      config.classWeighting, labels: examples.labels, numClasses: network.architecture.numClasses)
    let opt = optimizer ?? config.makeOptimizer()
    var rng = Xoshiro256StarStar(seed: seed)
    var order = Array(0..<n)
    var last = Double.nan
    var data = examples
    for epoch in 0..<config.epochs {
      relabel?(epoch, &data.labels)
      let lr = config.schedule.rate(base: config.learningRate, epoch: epoch, epochs: config.epochs)
      rng.shuffleInPlace(&order)
      var total = 0.0
      var start = 0
      while start < n {
        if let deadline, deadline.hasPassed { throw NetworkError.deadlineExceeded }
        let end = Swift.min(start + config.batchSize, n)
        let loss =
          if let softTargets {
            network.computeGradients(data, softTargets: softTargets, indices: order[start..<end])
          } else {
            network.computeGradients(data, indices: order[start..<end], classWeights: weights)
          }
        if ascend { BLAS.scal(-1, network.gradients.view) }
        transform?(network, epoch)
        opt.step(network, learningRate: lr)
        total += loss * Double(end - start)
        start = end
      }
      last = total / Double(n)
      observer?(epoch, last)
    }
    return last
  }
}

extension Trainer {
  /// Trains a new network from scratch: parameters initialised from `initSeed`
  /// (``Network/initialize(seed:)``), then
  /// ``train(_:on:config:seed:optimizer:ascend:softTargets:transform:deadline:observer:)``
  /// on `examples` shuffled by `shuffleSeed`. Every "train a model on these examples
  /// with this seed" in the harness (the original, the retrained references, the
  /// original-seeds, shadow runs) is this function, so the same seeds give the same bits.
  public static func fromScratch(
    _ architecture: Architecture, on examples: LabeledExamples, config: TrainingConfig, initSeed: UInt64,
    shuffleSeed: UInt64, deadline: Deadline? = nil, observer: Observer? = nil
  ) throws -> ModelWeights {
    let net = try Network.initialized(architecture, seed: initSeed, batchSize: config.batchSize)
    try train(net, on: examples, config: config, seed: shuffleSeed, deadline: deadline, observer: observer)
    return net.weights
  }
}

extension Network {
  /// A network of `architecture` with parameters initialised from `seed`, sized for
  /// batches of `batchSize` (and for inference in batches of 256).
  public static func initialized(_ architecture: Architecture, seed: UInt64, batchSize: Int) throws -> Network {
    let net = try Network(architecture: architecture, maxBatch: Swift.max(batchSize, 256))
    net.initialize(seed: seed)
    return net
  }
}
