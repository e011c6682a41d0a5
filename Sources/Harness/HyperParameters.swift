import Foundation
import Networks

/// One configuration value, as YAML gives it.
public enum ConfigValue: Sendable, Equatable, Codable, CustomStringConvertible {
  case int(Int)
  case double(Double)
  case bool(Bool)
  case string(String)
  case list([ConfigValue])

  /// Converts a value loaded by Yams (nil for mappings and other shapes).
  init?(yaml v: Any) {
    switch v {
    case let b as Bool: self = .bool(b)
    case let i as Int: self = .int(i)
    case let d as Double: self = .double(d)
    case let s as String: self = .string(s)
    case let a as [Any]:
      var out = [ConfigValue]()
      for x in a {
        guard let c = ConfigValue(yaml: x) else { return nil }
        out.append(c)
      }
      self = .list(out)
    default: return nil
    }
  }

  /// The value as Yams would have loaded it (for ``ConfigReader``).
  var yamlValue: Any {
    switch self {
    case .int(let i): i
    case .double(let d): d
    case .bool(let b): b
    case .string(let s): s
    case .list(let a): a.map(\.yamlValue)
    }
  }

  /// YAML flow syntax.
  public var description: String {
    switch self {
    case .int(let i): String(i)
    case .double(let d): "\(d)"
    case .bool(let b): b ? "true" : "false"
    case .string(let s):
      "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    case .list(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
    }
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let i = try? c.decode(Int.self) {
      self = .int(i)
    } else if let d = try? c.decode(Double.self) {
      self = .double(d)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else {
      self = .list(try c.decode([ConfigValue].self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .int(let i): try c.encode(i)
    case .double(let d): try c.encode(d)
    case .bool(let b): try c.encode(b)
    case .string(let s): try c.encode(s)
    case .list(let a): try c.encode(a)
    }
  }
}

/// The hyper-parameters of one algorithm as written in the configuration
/// (`algorithms: {finetune: {epochs: 3}}`); the algorithm reads them through
/// ``reader(algorithm:file:)``, which applies its documented defaults and
/// rejects unknown keys.
public struct HyperParameters: Sendable, Equatable, Codable {
  public var values: [String: ConfigValue]

  public init(_ values: [String: ConfigValue] = [:]) { self.values = values }

  /// A strict reader over these values, naming `algorithms.<algorithm>.<key>` in errors.
  public func reader(algorithm: String, file: String = "config") -> ConfigReader {
    ConfigReader(values: values.mapValues(\.yamlValue), path: "algorithms.\(algorithm)", file: file)
  }

  /// YAML flow mapping, keys sorted.
  public var yaml: String {
    "{" + values.keys.sorted().map { "\($0): \(values[$0]!)" }.joined(separator: ", ") + "}"
  }
}

extension ConfigReader {
  /// The keys and values of a sub-mapping, unchecked (for algorithm hyper-parameters, which the algorithm validates).
  func hyperParameters(_ k: String) throws -> [String: HyperParameters] {
    let section = try self.section(k)
    var out = [String: HyperParameters]()
    for name in section.values.keys.sorted() {
      let sub = try section.section(name)
      var values = [String: ConfigValue]()
      for (key, v) in sub.values {
        guard let c = ConfigValue(yaml: v) else { throw sub.fail(key, "expected a number, text, true/false or a list") }
        values[key] = c
      }
      out[name] = HyperParameters(values)
    }
    return out
  }

  /// A training recipe (the keys of ``TrainingConfig/fields``); missing keys keep `defaults`.
  public func training(defaults: TrainingConfig) throws -> TrainingConfig {
    var tc = defaults
    _ = try ConfigSchema.read(TrainingConfig.fields, from: self, into: &tc)
    do { try tc.validate() } catch { throw HarnessError("\(file): \(path)", "\(error)") }
    return tc
  }
}

extension TrainingConfig {
  /// The keys of a training recipe: the experiment's `training` section, and the recipe keys
  /// of every algorithm that trains.
  public static var fields: [ConfigField<TrainingConfig>] {
    [
      .int("epochs", \.epochs, 0...100_000, "passes over the training set"),
      .int("batch_size", \.batchSize, 1...65_536, "examples per step"),
      .choice("optimizer", \.optimizer, "sgd (with momentum) or adam"),
      .float("learning_rate", \.learningRate, "the base step size"),
      .float("momentum", \.momentum, "SGD momentum, in [0, 1)"),
      .float("weight_decay", \.weightDecay, "L2 penalty (coupled, as PyTorch's SGD)"),
      .choice("schedule", \.schedule, "constant or cosine (annealed to 0 over the epochs)"),
      .choice("class_weighting", \.classWeighting, "none, or balanced (1 / class count)"),
    ]
  }

  /// The recipe as hyper-parameter values (for results and resolved configurations).
  public var configValues: [String: ConfigValue] {
    var out = [String: ConfigValue]()
    for f in Self.fields { out[f.key] = f.value(self) }
    return out
  }
}

/// The shortest decimal that reads back as `x` (0.05, not 0.0500000007).
func shortest(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }
