import Foundation
import NumericCore

/// How the forget set is chosen inside the training split.
public enum ForgetStrategy: String, Codable, Sendable, CaseIterable {
  /// A seeded random `fraction` of the training examples.
  case random
  /// Every training example of one class (`class`).
  case `class`
  /// Every training example whose manifest `group` is in `groups`.
  case group
  /// An explicit list of example `ids` (all must be in the training split).
  case ids
}

/// The forget-set request of a split configuration.
public struct ForgetSpec: Codable, Sendable, Equatable {
  public var strategy: ForgetStrategy
  /// Fraction of the training split (`random`), in (0, 1).
  public var fraction: Double
  /// Class name or index (`class`).
  public var className: String?
  /// Group values (`group`).
  public var groups: [String]
  /// Example ids (`ids`).
  public var ids: [Int]

  public init(
    strategy: ForgetStrategy = .random, fraction: Double = 0.1, className: String? = nil, groups: [String] = [],
    ids: [Int] = []
  ) {
    self.strategy = strategy
    self.fraction = fraction
    self.className = className
    self.groups = groups
    self.ids = ids
  }

  enum CodingKeys: String, CodingKey {
    case strategy, fraction
    case className = "class"
    case groups, ids
  }
}

/// How to cut a dataset into train / test / validation, and forget ⊂ train.
public struct SplitConfig: Codable, Sendable, Equatable {
  /// Seed of the split (independent of the training seeds).
  public var seed: UInt64
  public var testFraction: Double
  public var validationFraction: Double
  /// The share held out for the attacks' calibration (`audit`), drawn like test; never given to
  /// an algorithm. With a manifest's split column and no `audit` rows, this share of the data
  /// is taken from the test split instead (stratified).
  public var auditFraction: Double
  /// Keep class proportions in every split (stratified sampling).
  public var stratified: Bool
  public var forget: ForgetSpec

  /// Defaults: 15 % test, 5 % validation, 10 % audit (train keeps 70 %), stratified, forget a
  /// random 10 % of train.
  public init(
    seed: UInt64 = 0, testFraction: Double = 0.15, validationFraction: Double = 0.05, auditFraction: Double = 0.1,
    stratified: Bool = true, forget: ForgetSpec = ForgetSpec()
  ) {
    self.seed = seed
    self.testFraction = testFraction
    self.validationFraction = validationFraction
    self.auditFraction = auditFraction
    self.stratified = stratified
    self.forget = forget
  }

  enum CodingKeys: String, CodingKey {
    case seed
    case testFraction = "test_fraction"
    case validationFraction = "validation_fraction"
    case auditFraction = "audit_fraction"
    case stratified, forget
  }
}

/// The example ids of each split. `retain = train \ forget`; all lists sorted.
public struct Splits: Codable, Sendable, Equatable {
  public var train: [Int]
  public var test: [Int]
  public var validation: [Int]
  /// Never trained on, never given to an algorithm: the attacks' calibration data.
  public var audit: [Int]
  public var forget: [Int]
  public var retain: [Int]

  public init(train: [Int], test: [Int], validation: [Int], audit: [Int] = [], forget: [Int]) {
    self.train = train.sorted()
    self.test = test.sorted()
    self.validation = validation.sorted()
    self.audit = audit.sorted()
    self.forget = forget.sorted()
    let f = Set(forget)
    retain = self.train.filter { !f.contains($0) }
  }

  /// The named splits, in a fixed order.
  public var named: [(name: String, ids: [Int])] {
    [
      ("train", train), ("retain", retain), ("forget", forget), ("test", test), ("validation", validation),
      ("audit", audit),
    ]
  }

  /// SHA-256 of a split: its ids sorted ascending, in decimal, one per line.
  public static func sha256(_ ids: [Int]) -> String { SHA256.hex(ids.sorted().map { "\($0)\n" }.joined()) }

  /// Checks that ids are in range and unique, that train, test and validation
  /// are pairwise disjoint, and that forget ⊂ train with retain its complement.
  /// Throws naming the first offending id and splits.
  public func validate(numExamples n: Int, source: String = "splits") throws {
    for (name, ids) in named {
      if let bad = ids.first(where: { $0 < 0 || $0 >= n }) {
        throw HarnessError(source, "\(name) contains id \(bad), outside the dataset's 0..<\(n)")
      }
      if Set(ids).count != ids.count { throw HarnessError(source, "\(name) lists an id more than once") }
    }
    let pairs = [
      ("train", train, "test", test), ("train", train, "validation", validation),
      ("test", test, "validation", validation), ("audit", audit, "train", train), ("audit", audit, "test", test),
      ("audit", audit, "validation", validation),
    ]
    for (a, x, b, y) in pairs {
      if let id = Set(x).intersection(y).min() {
        throw HarnessError(source, "example \(id) is in both \(a) and \(b); splits must not overlap")
      }
    }
    let t = Set(train)
    if let id = forget.first(where: { !t.contains($0) }) {
      throw HarnessError(
        source, "forget example \(id) is not in train; the forget set must be part of the training split")
    }
    if forget.isEmpty { throw HarnessError(source, "the forget set is empty") }
    if retain.isEmpty { throw HarnessError(source, "the retain set is empty (everything would be forgotten)") }
    let expectRetain = train.filter { !Set(forget).contains($0) }
    if retain != expectRetain { throw HarnessError(source, "retain must equal train minus forget") }
  }

  /// Cuts `dataset` as `config` asks. Deterministic in `config.seed`.
  public static func make(_ dataset: Dataset, config: SplitConfig) throws -> Splits {
    let (t, v, a) = (config.testFraction, config.validationFraction, config.auditFraction)
    guard t >= 0, v >= 0, a >= 0, t + v + a < 1 else {
      throw HarnessError(
        "split", "test_fraction, validation_fraction and audit_fraction must be ≥ 0 and sum to less than 1")
    }
    var train = [Int](), test = [Int](), validation = [Int](), audit = [Int]()
    if let assigned = dataset.assignedSplits {
      // The manifest's split column wins over fractions.
      for (i, s) in assigned.enumerated() {
        switch s {
        case "train": train.append(i)
        case "test": test.append(i)
        case "audit": audit.append(i)
        default: validation.append(i)
        }
      }
      if audit.isEmpty && a > 0 {
        // No audit rows: a stratified share of the test split (audit_fraction of the data).
        let share = Swift.min(1, a / Swift.max(t + a, 1e-12))
        let cut = strata(test, dataset, config, seed: "audit-from-test").map { members in
          let n = Int((Double(members.count) * share).rounded())
          return (Array(members[n...]), Array(members[..<n]))
        }
        test = cut.flatMap(\.0)
        audit = cut.flatMap(\.1)
      }
    } else {
      for members in strata(Array(0..<dataset.count), dataset, config, seed: "train-test-validation") {
        let sizes = [t, v, a].map { Int((Double(members.count) * $0).rounded()) }
        var start = 0
        for (k, size) in sizes.enumerated() {
          let end = Swift.min(start + size, members.count)
          switch k {
          case 0: test += members[start..<end]
          case 1: validation += members[start..<end]
          default: audit += members[start..<end]
          }
          start = end
        }
        train += members[start...]
      }
    }
    train.sort()
    // Every forgetting metric compares the forget set with unseen examples: without a test split
    // nothing can be scored, so refuse now rather than after training every model.
    guard !test.isEmpty else {
      throw HarnessError(
        dataset.assignedSplits == nil ? "split.test_fraction" : "the manifest's split column",
        dataset.assignedSplits == nil
          ? "gives an empty test split (\(t) of \(dataset.count) examples); raise it so that every class "
            + "keeps test examples (the metrics compare the forget set with unseen examples)"
          : "has no test rows; mark some rows test (the metrics compare the forget set with unseen examples)")
    }
    let forget = try chooseForget(dataset, train: train, spec: config.forget, seed: config.seed)
    let splits = Splits(train: train, test: test, validation: validation, audit: audit, forget: forget)
    try splits.validate(numExamples: dataset.count)
    return splits
  }

  /// `ids` by class (one stratum without `config.stratified`), each shuffled by the split seed.
  static func strata(_ ids: [Int], _ dataset: Dataset, _ config: SplitConfig, seed: String) -> [[Int]] {
    var rng = Xoshiro256StarStar(seed: Seeds.derive(config.seed, "split", seed))
    var groups: [[Int]]
    if config.stratified {
      groups = [[Int]](repeating: [], count: dataset.numClasses)
      for i in ids { groups[Int(dataset.examples.labels[i])].append(i) }
    } else {
      groups = [ids]
    }
    return groups.filter { !$0.isEmpty }.map { members in
      var m = members
      rng.shuffleInPlace(&m)
      return m
    }
  }

  static func chooseForget(_ dataset: Dataset, train: [Int], spec: ForgetSpec, seed: UInt64) throws -> [Int] {
    switch spec.strategy {
    case .random:
      guard spec.fraction > 0, spec.fraction < 1 else {
        throw HarnessError("split.forget.fraction", "must be in (0, 1), got \(spec.fraction)")
      }
      var rng = Xoshiro256StarStar(seed: Seeds.derive(seed, "split", "forget"))
      var shuffled = train
      rng.shuffleInPlace(&shuffled)
      let k = Swift.max(1, Int((Double(train.count) * spec.fraction).rounded()))
      return Array(shuffled.prefix(k)).sorted()
    case .class:
      guard let name = spec.className else { throw HarnessError("split.forget.class", "name the class to forget") }
      guard let k = dataset.classNames.firstIndex(of: name) else {
        throw HarnessError("split.forget.class", "no class '\(name)'; classes are \(dataset.classNames)")
      }
      return train.filter { dataset.examples.labels[$0] == Int32(k) }
    case .group:
      guard let groups = dataset.groups else {
        throw HarnessError("split.forget.groups", "the dataset has no group column; add one to the manifest")
      }
      guard !spec.groups.isEmpty else { throw HarnessError("split.forget.groups", "list at least one group") }
      let wanted = Set(spec.groups)
      let known = Set(groups)
      if let missing = spec.groups.first(where: { !known.contains($0) }) {
        throw HarnessError("split.forget.groups", "no example has group '\(missing)'")
      }
      return train.filter { wanted.contains(groups[$0]) }
    case .ids:
      let t = Set(train)
      for id in spec.ids {
        guard id >= 0 && id < dataset.count else {
          throw HarnessError("split.forget.ids", "id \(id) is outside the dataset's 0..<\(dataset.count)")
        }
        guard t.contains(id) else {
          throw HarnessError(
            "split.forget.ids",
            "example \(id) (\(dataset.paths[id])) is not in the training split; it would overlap test or validation")
        }
      }
      guard Set(spec.ids).count == spec.ids.count else {
        throw HarnessError("split.forget.ids", "an id is listed twice")
      }
      return spec.ids.sorted()
    }
  }

  // MARK: splits.json

  struct File: Codable {
    struct Entry: Codable {
      var count: Int
      var sha256: String
      var ids: [Int]
    }
    var schemaVersion: Int
    var numExamples: Int
    var datasetFileListSHA256: String?
    var config: SplitConfig?
    var splits: [String: Entry]

    enum CodingKeys: String, CodingKey {
      case schemaVersion = "schema_version"
      case numExamples = "num_examples"
      case datasetFileListSHA256 = "dataset_file_list_sha256"
      case config, splits
    }
  }

  /// The `splits.json` document: every split's ids, count and SHA-256.
  public func jsonData(numExamples: Int, datasetSHA256: String?, config: SplitConfig?) throws -> Data {
    var entries = [String: File.Entry]()
    for (name, ids) in named { entries[name] = .init(count: ids.count, sha256: Self.sha256(ids), ids: ids) }
    let file = File(
      schemaVersion: 1, numExamples: numExamples, datasetFileListSHA256: datasetSHA256, config: config, splits: entries)
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try enc.encode(file)
  }

  /// Reads and validates a `splits.json` (hashes must match the ids).
  public static func read(_ url: URL, numExamples: Int) throws -> Splits {
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw HarnessError(url.path, "file is missing or unreadable")
    }
    let file: File
    do { file = try JSONDecoder().decode(File.self, from: data) } catch {
      throw HarnessError(url.path, "not a valid splits.json (\(error))")
    }
    guard file.numExamples == numExamples else {
      throw HarnessError(url.path, "written for \(file.numExamples) examples, the dataset has \(numExamples)")
    }
    func ids(_ name: String) throws -> [Int] {
      guard let e = file.splits[name] else { throw HarnessError(url.path, "missing split '\(name)'") }
      guard sha256(e.ids) == e.sha256 else {
        throw HarnessError(url.path, "split '\(name)': ids do not match their sha256")
      }
      return e.ids
    }
    let audit = file.splits["audit"] == nil ? [] : try ids("audit")
    let s = Splits(
      train: try ids("train"), test: try ids("test"), validation: try ids("validation"), audit: audit,
      forget: try ids("forget"))
    try s.validate(numExamples: numExamples, source: url.path)
    return s
  }
}
