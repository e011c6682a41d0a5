import Foundation
import Networks
import NumericCore

/// An experiment made concrete: the dataset loaded, the splits cut and the
/// architecture fixed. Everything downstream (training, unlearning, scoring)
/// starts from this value.
public struct PreparedExperiment: Sendable {
  public var spec: ExperimentSpec
  public var dataset: Dataset
  public var splits: Splits
  public var architecture: Architecture

  /// Loads the dataset and cuts the splits (paths relative to `baseDirectory`).
  public init(spec: ExperimentSpec, baseDirectory: URL? = nil) throws {
    self.spec = spec
    let path: String
    if let base = baseDirectory, !spec.dataset.path.hasPrefix("/") {
      path = base.appendingPathComponent(spec.dataset.path).path
    } else {
      path = spec.dataset.path
    }
    dataset = try Dataset.load(path: path, layout: spec.dataset.layout)
    splits = try Splits.make(dataset, config: spec.split)
    architecture = spec.model.architecture(inputShape: dataset.shape, numClasses: dataset.numClasses)
    if spec.model.kind == .builtin {
      do { try architecture.validate() } catch { throw HarnessError("model", "\(error)") }
    }
  }

  /// True when an external backend's commands train the models (`model.kind: external`).
  public var isExternal: Bool { spec.model.kind == .external }

  /// The examples of one split.
  public func examples(_ ids: [Int]) -> LabeledExamples { dataset.examples.subset(ids) }

  /// Trains the original model on the training split (seed derived from the
  /// experiment seed and `index`, so several originals can be trained).
  public func trainOriginal(index: Int = 0, observer: Trainer.Observer? = nil) throws -> ModelWeights {
    let seeds = originalSeeds(index: index)
    return try Trainer.fromScratch(
      architecture, on: examples(splits.train), config: spec.training, initSeed: seeds.initialisation,
      shuffleSeed: seeds.shuffle, observer: observer)
  }

  /// The seeds of original `index`: its initialisation and its shuffling, hashes of
  /// (experiment seed, "original", "init" or "shuffle", index).
  public func originalSeeds(index: Int = 0) -> (initialisation: UInt64, shuffle: UInt64) {
    (
      Seeds.derive(spec.seed, "original", "init", String(index)),
      Seeds.derive(spec.seed, "original", "shuffle", String(index))
    )
  }

  /// Accuracy of `weights` on every named split.
  public func accuracies(_ weights: ModelWeights) throws -> [(split: String, accuracy: Double)] {
    let net = try Network(weights: weights)
    return splits.named.map { ($0.name, net.accuracy(examples($0.ids))) }
  }
}

/// Saving and loading model weights as `model.safetensors` (PyTorch names and
/// shapes) with an `architecture.json` sidecar.
public enum ModelFiles {
  public static func save(_ weights: ModelWeights, to directory: URL, name: String = "model") throws {
    let net = try Network(weights: weights, maxBatch: 1)
    let meta = [
      "format": "pt", "torch_module": weights.architecture.torchModuleSource,
      "torch_class": Architecture.torchClassName,
    ]
    try writeAtomically(
      Safetensors.encode(net.namedTensors, metadata: meta), to: directory.appendingPathComponent("\(name).safetensors"))
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeAtomically(try enc.encode(weights.architecture), to: directory.appendingPathComponent("architecture.json"))
  }

  /// Loads weights for `architecture` from a safetensors file, validating names, shapes and values.
  /// A file larger than the architecture's weights can be (float64 plus a 1 MiB header) is refused
  /// before it is read.
  public static func load(_ url: URL, architecture: Architecture) throws -> ModelWeights {
    let parameters = architecture.checkedParameterCount() ?? Architecture.maximumParameters
    let (entries, _) = try Safetensors.read(url, limit: 8 + (1 << 20) + 8 * parameters)
    let net = try Network(architecture: architecture, maxBatch: 1)
    try net.load(namedTensors: entries, source: url.path)
    return net.weights
  }
}
