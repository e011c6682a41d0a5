import Foundation
import Harness
import Networks
import NumericCore

/// Small unlearning algorithms for the tests of the harness itself, so that runner,
/// store and scorer tests need neither the baselines nor the command line.
public enum Fake {
  /// Retraining from scratch on the retain set (named `retrain`, so it is the reference).
  public struct Retrain: UnlearningAlgorithm {
    public init() {}
    public var name: String { "retrain" }
    public var kind: UnlearningKind { .exact }

    public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
      let weights = try Trainer.fromScratch(
        request.original.architecture, on: request.retain, config: request.training,
        initSeed: Seeds.derive(request.seed, "init"), shuffleSeed: Seeds.derive(request.seed, "shuffle"),
        deadline: request.deadline)
      var model = UnlearnedModel(weights)
      model.workFraction = 1
      return model
    }
  }

  /// The original plus seeded Gaussian noise of standard deviation `scale`.
  public struct Noise: UnlearningAlgorithm {
    public var name: String
    public var scale: Float

    public init(name: String = "noise", scale: Float = 0.01) {
      self.name = name
      self.scale = scale
    }

    public var kind: UnlearningKind { .approximate }
    public var hyperParameters: [String: ConfigValue] { ["scale": .double(Double(scale))] }

    public func validate() throws {
      guard scale.isFinite, scale >= 0 else { throw HarnessError("algorithms.\(name).scale", "must be ≥ 0") }
    }

    public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
      try validate()
      var rng = Xoshiro256StarStar(seed: request.seed)
      var w = request.original
      for i in w.parameters.indices { w.parameters[i] += scale * Float(rng.nextGaussian()) }
      return UnlearnedModel(w)
    }
  }

  /// Fails the jobs whose index is in `failing` (by throwing), succeeds on the others like ``Noise``.
  public struct Failing: UnlearningAlgorithm {
    public var name: String
    public var failing: Set<Int>

    public init(name: String = "failing", failing: Set<Int>) {
      self.name = name
      self.failing = failing
    }

    public var kind: UnlearningKind { .approximate }

    public func unlearn(_ request: UnlearningRequest) throws -> UnlearnedModel {
      let index = request.jobDirectory.flatMap { Int($0.lastPathComponent) } ?? -1
      if failing.contains(index) { throw HarnessError("\(name) #\(index)", "failed on purpose") }
      return try Noise(name: name).unlearn(request)
    }
  }
}

extension TestSupport {
  /// The digits experiment with an MLP 64-16-10 trained for 4 epochs, `models` models per algorithm.
  public static func quickSpec(models: Int = 3, referenceOriginals: Int = 2) -> ExperimentSpec {
    var s = ExperimentSpec()
    s.dataset.path = digitsPath
    s.model = ModelSpec(architecture: .mlp, hidden: [16])
    s.training.epochs = 4
    s.evaluation.models = models
    s.evaluation.referenceOriginals = referenceOriginals
    return s
  }

  /// Every `.npy`, `.npz` and `.safetensors` file under `dir`, by relative path.
  public static func outputs(_ dir: URL) throws -> [String: Data] {
    var out = [String: Data]()
    guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return out }
    for case let url as URL in e where ["npy", "npz", "safetensors"].contains(url.pathExtension) {
      out[String(url.path.dropFirst(dir.path.count))] = try Data(contentsOf: url)
    }
    return out
  }
}
