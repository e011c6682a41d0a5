import Foundation

/// What a population of models is, in an evaluation run.
///
/// Every row of the result table is one role in one deletion round. The references
/// (everything but ``algorithm(_:)``) are shown next to the evaluated algorithms and
/// never ranked.
public enum Role: Hashable, Sendable, CustomStringConvertible {
  /// The model before unlearning (one model, trained on the whole training set).
  case original
  /// The models retrained from scratch on the retain set: the reference every metric compares with.
  case retrain
  /// Models trained on the whole training set with other seeds: what doing nothing gives, and
  /// the IN references of the per-example attacks.
  case originalSeeds
  /// An algorithm's own original before any unlearning (SISA's ensemble), when it trains one.
  case ownOriginal(String)
  /// An exact algorithm's own reference: its own training from scratch on the retain set, N times
  /// (SISA's ensembles), when it declares one; it is then scored against these, not against retrain.
  case ownReference(String)
  /// An evaluated unlearning algorithm.
  case algorithm(String)

  /// The job name of ``originalSeeds``.
  public static let originalSeedsName = "original-seeds"

  /// The role of the jobs of the algorithm called `name` (`retrain` and `original-seeds` are references).
  public init(algorithm name: String) {
    switch name {
    case "retrain": self = .retrain
    case Role.originalSeedsName: self = .originalSeeds
    default: self = .algorithm(name)
    }
  }

  /// The role of a result row from its name (the inverse of ``name``).
  public init(rowName: String) {
    if rowName == "original" {
      self = .original
    } else if rowName.hasSuffix(" (original)") {
      self = .ownOriginal(String(rowName.dropLast(" (original)".count)))
    } else if rowName.hasSuffix(" (reference)") {
      self = .ownReference(String(rowName.dropLast(" (reference)".count)))
    } else {
      self.init(algorithm: rowName)
    }
  }

  /// The row name: `original`, `retrain`, `original-seeds`, `sisa (original)`, `sisa (reference)`,
  /// `finetune`.
  public var name: String {
    switch self {
    case .original: "original"
    case .retrain: "retrain"
    case .originalSeeds: Role.originalSeedsName
    case .ownOriginal(let a): "\(a) (original)"
    case .ownReference(let a): "\(a) (reference)"
    case .algorithm(let a): a
    }
  }

  public var description: String { name }

  /// The algorithm whose jobs (under `jobs/<name>/`) hold this population; nil for the original.
  public var jobName: String? {
    switch self {
    case .original: nil
    case .retrain, .originalSeeds, .algorithm: name
    case .ownOriginal(let a), .ownReference(let a): a
    }
  }

  /// True for every role but an evaluated algorithm: shown, never ranked.
  public var isReference: Bool {
    if case .algorithm = self { return false }
    return true
  }

  /// True for the originals (the original and an algorithm's own original): trained on the
  /// whole training set, one model per original (`evaluation.originals`), not the result of unlearning.
  public var isOriginal: Bool {
    switch self {
    case .original, .ownOriginal: true
    default: false
    }
  }
}

extension Role: Codable {
  public init(from decoder: any Decoder) throws {
    self.init(rowName: try decoder.singleValueContainer().decode(String.self))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(name)
  }
}
