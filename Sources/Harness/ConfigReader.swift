import Foundation
import Yams

/// Typed, strict access to one section of a YAML configuration: every read
/// names its key path in errors, missing keys take the documented default,
/// and ``finish()`` rejects keys nobody asked for (catching typos).
public final class ConfigReader {
  let values: [String: Any]
  let path: String
  let file: String
  private var used = Set<String>()

  init(values: [String: Any], path: String, file: String) {
    self.values = values
    self.path = path
    self.file = file
  }

  /// The largest configuration file read (bytes).
  public static let maximumBytes = 16 << 20
  /// The most nodes a configuration may expand to, counting every use of an alias: YAML
  /// aliases can nest ("billion laughs"), so a few hundred bytes could otherwise expand to gigabytes.
  public static let maximumNodes = 1_000_000

  /// Parses a YAML document whose top level is a mapping (empty text is an empty mapping).
  public static func parse(yaml text: String, file: String) throws -> ConfigReader {
    guard text.utf8.count <= maximumBytes else {
      throw HarnessError(file, "configuration is \(text.utf8.count) bytes, over the \(maximumBytes)-byte limit")
    }
    let loaded: Any?
    do {
      let node = try Yams.compose(yaml: text)
      if let node {
        var budget = maximumNodes
        try checkNodes(node, budget: &budget, file: file)
      }
      loaded = node.map { Constructor.default.any(from: $0) }
    } catch let e as HarnessError { throw e } catch { throw HarnessError(file, "invalid YAML (\(error))") }
    if loaded == nil { return ConfigReader(values: [:], path: "", file: file) }
    guard let map = loaded as? [String: Any] else {
      throw HarnessError(file, "the top level must be a mapping of keys to values")
    }
    return ConfigReader(values: map, path: "", file: file)
  }

  /// Walks `node` as its construction would (an alias's target once per use) before anything
  /// is constructed, refusing more than `budget` nodes (nested aliases) and a mapping key that is
  /// not text (`{[a, b]: 1}`: YAML allows it, Yams' constructor traps on it).
  static func checkNodes(_ node: Node, budget: inout Int, file: String) throws {
    budget -= 1
    guard budget >= 0 else {
      throw HarnessError(
        file, "expands to more than \(maximumNodes) YAML nodes (nested aliases?); write the configuration out in full")
    }
    switch node {
    case .scalar, .alias: return
    case .sequence(let s): for v in s { try checkNodes(v, budget: &budget, file: file) }
    case .mapping(let m):
      for (k, v) in m {
        let kind: String? =
          switch k {
          case .scalar: nil
          case .sequence: "list"
          case .mapping: "mapping"
          case .alias: "alias"
          }
        if let kind {
          throw HarnessError(file, "a key of the configuration is a \(kind), not text; keys are names like epochs")
        }
        try checkNodes(v, budget: &budget, file: file)
      }
    }
  }

  func key(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }
  /// An error naming `<file>: <path>.<k>`.
  public func fail(_ k: String, _ why: String) -> HarnessError { HarnessError("\(file): \(key(k))", why) }

  func raw(_ k: String) -> Any? {
    used.insert(k)
    if let v = values[k], !(v is NSNull) { return v }
    return nil
  }

  public func has(_ k: String) -> Bool { values[k] != nil }

  public func section(_ k: String) throws -> ConfigReader {
    guard let v = raw(k) else { return ConfigReader(values: [:], path: key(k), file: file) }
    guard let m = v as? [String: Any] else { throw fail(k, "must be a mapping") }
    return ConfigReader(values: m, path: key(k), file: file)
  }

  public func string(_ k: String, default d: String) throws -> String { try optionalString(k) ?? d }

  public func optionalString(_ k: String) throws -> String? {
    guard let v = raw(k) else { return nil }
    if let s = v as? String { return s }
    if let i = v as? Int { return String(i) }
    if let x = v as? Double { return String(x) }
    throw fail(k, "expected text, got \(v)")
  }

  public func int(_ k: String, default d: Int, range: ClosedRange<Int>? = nil) throws -> Int {
    guard let v = raw(k) else { return d }
    guard let i = v as? Int else { throw fail(k, "expected an integer, got \(v)") }
    if let r = range, !r.contains(i) { throw fail(k, "must be in \(r.lowerBound)...\(r.upperBound), got \(i)") }
    return i
  }

  public func double(_ k: String, default d: Double) throws -> Double {
    guard let v = raw(k) else { return d }
    if let x = v as? Double { return x }
    if let i = v as? Int { return Double(i) }
    if let s = v as? String, let x = Double(s) { return x }
    throw fail(k, "expected a number, got \(v)")
  }

  public func bool(_ k: String, default d: Bool) throws -> Bool {
    guard let v = raw(k) else { return d }
    guard let b = v as? Bool else { throw fail(k, "expected true or false, got \(v)") }
    return b
  }

  public func ints(_ k: String, default d: [Int]) throws -> [Int] {
    guard let v = raw(k) else { return d }
    guard let a = v as? [Any] else { throw fail(k, "expected a list of integers") }
    return try a.map { x in
      guard let i = x as? Int else {
        if let text = x as? String {
          throw fail(k, "expected a list of integers, found the text \"\(text)\" (write numbers without quotes)")
        }
        throw fail(k, "expected a list of integers, found \(x)")
      }
      return i
    }
  }

  public func strings(_ k: String, default d: [String]) throws -> [String] {
    guard let v = raw(k) else { return d }
    guard let a = v as? [Any] else { throw fail(k, "expected a list") }
    return a.map { "\($0)" }
  }

  public func choice<E: RawRepresentable & CaseIterable>(_ k: String, default d: E) throws -> E
  where E.RawValue == String {
    guard let v = raw(k) else { return d }
    guard let s = v as? String, let e = E(rawValue: s) else {
      throw fail(k, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got \(v)")
    }
    return e
  }

  /// Rejects keys that were never read.
  public func finish() throws {
    let unknown = Set(values.keys).subtracting(used).sorted()
    if let k = unknown.first {
      throw HarnessError(
        "\(file): \(key(k))",
        "unknown key; check the spelling (known keys here: \(used.sorted().joined(separator: ", ")))")
    }
  }
}
