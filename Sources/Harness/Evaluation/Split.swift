import Foundation

/// The splits every model is scored on. `forget` and `retain` partition the training
/// set (in deletion round r, the examples forgotten in that round and those still
/// retained); `test` and `validation` are never trained on; `audit` is never trained on
/// and never shown to an algorithm (nor to an external command): the attacks calibrate
/// on it (RMIA's population, Song & Mittal's thresholds).
public enum Split: String, CaseIterable, Codable, Sendable, Hashable, CustomStringConvertible {
  case forget, retain, test, validation, audit

  public var description: String { rawValue }
}

/// One value per split: the container for anything that exists once per split
/// (logits, labels, examples, ids), so that no code addresses a split by a string
/// key or a position.
public struct PerSplit<Value> {
  public var forget: Value
  public var retain: Value
  public var test: Value
  public var validation: Value
  public var audit: Value

  public init(forget: Value, retain: Value, test: Value, validation: Value, audit: Value) {
    self.forget = forget
    self.retain = retain
    self.test = test
    self.validation = validation
    self.audit = audit
  }

  /// The value of every split from `make`, called in ``Split/allCases`` order.
  public init(_ make: (Split) throws -> Value) rethrows {
    self.init(
      forget: try make(.forget), retain: try make(.retain), test: try make(.test), validation: try make(.validation),
      audit: try make(.audit))
  }

  public subscript(split: Split) -> Value {
    get {
      switch split {
      case .forget: forget
      case .retain: retain
      case .test: test
      case .validation: validation
      case .audit: audit
      }
    }
    set {
      switch split {
      case .forget: forget = newValue
      case .retain: retain = newValue
      case .test: test = newValue
      case .validation: validation = newValue
      case .audit: audit = newValue
      }
    }
  }

  /// The same transformation applied to every split.
  public func map<T>(_ transform: (Value) throws -> T) rethrows -> PerSplit<T> {
    try PerSplit<T> { try transform(self[$0]) }
  }

  /// (split, value) pairs in ``Split/allCases`` order.
  public var all: [(split: Split, value: Value)] { Split.allCases.map { ($0, self[$0]) } }
}

extension PerSplit: Sendable where Value: Sendable {}
extension PerSplit: Equatable where Value: Equatable {}
extension PerSplit: Hashable where Value: Hashable {}
extension PerSplit: Codable where Value: Codable {}
