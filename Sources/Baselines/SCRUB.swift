import Foundation
import Harness
import Networks
import NumericCore

/// SCRUB (Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded
/// Machine Unlearning", NeurIPS 2023): a student, initialised as the original
/// (the teacher), alternates max-steps that move away from the teacher on the
/// forget set with min-steps that stay close to it (and to the labels) on retain.
///
/// ```
/// max-step (first m epochs), per forget batch:   θ ← θ + η ∇ KL(p_teacher ‖ p_θ)
/// min-step (every epoch), per retain batch:      θ ← θ − η ∇ [α·KL(p_teacher ‖ p_θ) + γ·CE(p_θ, y)]
/// ```
/// The min-step is one soft-target cross-entropy against (α·p_teacher + γ·e_y)/(α + γ)
/// with the learning rate scaled by α + γ (the same gradient). The temperature is 1
/// (the authors use 4 for ResNets; with T = 1 the KL gradient is exact).
/// Hyper-parameters (`algorithms.scrub`): `alpha` (default 0.001), `gamma` (0.99),
/// `max_steps` m (2): the authors' notebook values; and the training keys, defaulting
/// to 5 epochs of SGD lr 0.05, momentum 0.9, weight decay 5e-4, constant, batch 64
/// (their ResNet rate, 5e-4, does not move the digits MLP).
/// Defaults: `alpha` 0.001, `gamma` 0.99, `max_steps` 2, `epochs` 5, `batch_size` 64, `optimizer` sgd,
/// `learning_rate` 0.05, `momentum` 0.9, `weight_decay` 0.0005, `schedule` constant, `class_weighting` none.
public struct SCRUB: UnlearningAlgorithm {
  public var name: String { "scrub" }
  public var kind: UnlearningKind { .approximate }
  public var alpha: Double
  public var gamma: Double
  public var maxSteps: Int
  public var training: TrainingConfig

  public static let defaults = TrainingConfig(
    epochs: 5, batchSize: 64, optimizer: .sgd, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: .constant
  )

  public init(alpha: Double = 0.001, gamma: Double = 0.99, maxSteps: Int = 2, training: TrainingConfig = SCRUB.defaults)
  {
    self.alpha = alpha
    self.gamma = gamma
    self.maxSteps = maxSteps
    self.training = training
  }

  public init(parameters r: ConfigReader) throws {
    alpha = try r.double("alpha", default: 0.001)
    gamma = try r.double("gamma", default: 0.99)
    maxSteps = try r.int("max_steps", default: 2, range: 0...100_000)
    training = try r.training(defaults: Self.defaults)
    try r.finish()
  }

  public func validate() throws {
    try check(alpha >= 0 && alpha.isFinite, name, "alpha", "must be a number ≥ 0, got \(alpha)")
    try check(gamma >= 0 && gamma.isFinite, name, "gamma", "must be a number ≥ 0, got \(gamma)")
    try check(alpha + gamma > 0, name, "alpha", "alpha and gamma must not both be 0")
    try check(maxSteps >= 0, name, "max_steps", "must be ≥ 0, got \(maxSteps)")
    try checkRecipe(training, name)
  }

  public var hyperParameters: [String: ConfigValue] {
    training.configValues.merging(["alpha": .double(alpha), "gamma": .double(gamma), "max_steps": .int(maxSteps)]) {
      $1
    }
  }

  public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    try validate()
    let net = try makeNetwork(request.original, batchSize: training.batchSize)
    let teacherForget = softmaxRows(net.logits(request.forget.features))
    let teacherRetain = softmaxRows(net.logits(request.retain.features))
    // Min-step targets: (α·p_teacher + γ·e_y)/(α + γ).
    let k = net.architecture.numClasses
    var mixed = teacherRetain
    for i in 0..<request.retain.count {
      for c in 0..<k {
        let onehot: Float = Int(request.retain.labels[i]) == c ? 1 : 0
        mixed.scalars[i * k + c] = Float(
          (alpha * Double(teacherRetain.scalars[i * k + c]) + gamma * Double(onehot)) / (alpha + gamma))
      }
    }
    let opt = training.makeOptimizer()
    try untilDeadline {
      for epoch in 0..<training.epochs {
        var stage = training
        stage.epochs = 1
        stage.schedule = .constant
        let lr = training.schedule.rate(base: training.learningRate, epoch: epoch, epochs: training.epochs)
        if epoch < maxSteps && request.forget.count > 0 {
          stage.learningRate = lr
          try Trainer.train(
            net, on: request.forget, config: stage, seed: Seeds.derive(request.seed, "scrub", "max", String(epoch)),
            optimizer: opt,
            ascend: true, softTargets: teacherForget, deadline: request.deadline)
        }
        stage.learningRate = lr * Float(alpha + gamma)
        try Trainer.train(
          net, on: request.retain, config: stage, seed: Seeds.derive(request.seed, "scrub", "min", String(epoch)),
          optimizer: opt,
          softTargets: mixed, deadline: request.deadline)
      }
    }
    return UnlearnedModel(net.weights)
  }
}

/// Row-wise softmax of `[n, classes]` logits (teacher targets).
func softmaxRows(_ z: Tensor) -> Tensor {
  Tensor(shape: z.shape, scalars: Softmax.probabilities(z).flatMap { $0.map(Float.init) })
}
