import Harness
import Networks
import NumericCore

/// Shrink & perturb, then fine-tune on the retain set:
///
/// ```
/// θ₀ ← λ·θ_original + σ·ε,  ε ~ N(0, I)
/// θ  ← E epochs of SGD on D_retain from θ₀
/// ```
/// Shrinking towards zero and adding noise partly resets the network so that the
/// fine-tuning re-fits the retain set from a less committed starting point (Ash & Adams,
/// "On Warm-Starting Neural Network Training", NeurIPS 2020). Here it is an example of a
/// participant's algorithm, not a baseline of the harness.
///
/// Configuration (`algorithms.shrink-perturb`): `shrink` λ (0.5), `noise` σ (0.01), `epochs` (3),
/// `learning_rate` (0.05), `batch_size` (64).
struct ShrinkPerturb: UnlearningAlgorithm {
  var name: String { "shrink-perturb" }
  var kind: UnlearningKind { .approximate }
  var shrink: Double
  var noise: Double
  var training: TrainingConfig

  init(_ config: ConfigReader) throws {
    shrink = try config.double("shrink", default: 0.5)
    noise = try config.double("noise", default: 0.01)
    guard shrink > 0 && shrink <= 1 else { throw config.fail("shrink", "must be in (0, 1], got \(shrink)") }
    guard noise >= 0 else { throw config.fail("noise", "must be non-negative, got \(noise)") }
    training = TrainingConfig(
      epochs: 3, batchSize: 64, optimizer: .sgd, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
    training.epochs = try config.int("epochs", default: training.epochs, range: 0...1000)
    training.learningRate = Float(try config.double("learning_rate", default: Double(training.learningRate)))
    training.batchSize = try config.int("batch_size", default: training.batchSize, range: 1...65_536)
    try config.finish()
  }

  var hyperParameters: [String: ConfigValue] {
    [
      "shrink": .double(shrink), "noise": .double(noise), "epochs": .int(training.epochs),
      "learning_rate": .double(Double(training.learningRate)), "batch_size": .int(training.batchSize),
    ]
  }

  func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
    // All randomness from the request's seed: the same request gives the same bytes.
    var rng = Xoshiro256StarStar(seed: Seeds.derive(request.seed, "shrink-perturb", "noise"))
    var weights = request.original
    for i in weights.parameters.indices {
      weights.parameters[i] = Float(shrink * Double(weights.parameters[i]) + noise * rng.nextGaussian())
    }
    let net = try Network(weights: weights, maxBatch: max(training.batchSize, 256))
    do {
      _ = try Trainer.train(
        net, on: request.retain, config: training, seed: Seeds.derive(request.seed, "shrink-perturb", "shuffle"),
        deadline: request.deadline)
    } catch NetworkError.deadlineExceeded {}  // out of time: the model so far
    return UnlearnedModel(net.weights)
  }
}
