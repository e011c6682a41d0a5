import Foundation
import Networks

/// One key of a configuration: where it is, what it means, and how it is read (with its
/// checks) and written. A table of these is the whole schema of a configuration: it
/// drives reading, the resolved YAML and the documented example, so that they cannot
/// disagree.
public struct ConfigField<Root> {
  /// Dotted path from the section the table describes, e.g. `evaluation.models`.
  public var path: String
  /// What the key means (a comment in the documented example).
  public var doc: String
  /// Reads the key from its section (a missing key keeps the value), checking it.
  let read: (ConfigReader, String, inout Root) throws -> Void
  /// The value as a configuration value (nil: the key is left out, e.g. an unset option).
  let value: (Root) -> ConfigValue?
  /// The value as YAML text (nil: left out).
  let text: (Root) -> String?

  /// The section path and the key: `evaluation.models` → (`evaluation`, `models`).
  public var section: String { path.split(separator: ".").dropLast().joined(separator: ".") }
  public var key: String { String(path.split(separator: ".").last ?? "") }

  /// The same key in a larger configuration: `Root` is found at `keyPath`, and the key's
  /// path gets `prefix` (e.g. the `training` keys of an experiment).
  public func lifted<Outer>(_ keyPath: WritableKeyPath<Outer, Root>, prefix: String) -> ConfigField<Outer> {
    let read = self.read, value = self.value, text = self.text
    return ConfigField<Outer>(
      path: "\(prefix).\(path)", doc: doc, read: { r, k, outer in try read(r, k, &outer[keyPath: keyPath]) },
      value: { value($0[keyPath: keyPath]) }, text: { text($0[keyPath: keyPath]) })
  }

  /// The same key, left out of the written configuration when `condition` holds (a key the
  /// rest of the configuration makes irrelevant, which reading it back would refuse).
  public func omitted(when condition: @escaping (Root) -> Bool) -> Self {
    let value = self.value, text = self.text
    return Self(
      path: path, doc: doc, read: read, value: { condition($0) ? nil : value($0) },
      text: { condition($0) ? nil : text($0) })
  }
}

extension ConfigField {
  /// A value written as its configuration value's YAML text.
  init(
    _ path: String, _ doc: String, read: @escaping (ConfigReader, String, inout Root) throws -> Void,
    value: @escaping (Root) -> ConfigValue?
  ) {
    self.init(path: path, doc: doc, read: read, value: value, text: { value($0)?.description })
  }

  /// An integer in `range`; `check` returns why a value in range is still refused.
  static func int(
    _ path: String, _ kp: WritableKeyPath<Root, Int>, _ range: ClosedRange<Int>, _ doc: String,
    check: @escaping (Int) -> String? = { _ in nil }
  ) -> Self {
    Self(
      path, doc,
      read: { r, k, root in
        let v = try r.int(k, default: root[keyPath: kp], range: range)
        if let why = check(v) { throw r.fail(k, why) }
        root[keyPath: kp] = v
      }, value: { .int($0[keyPath: kp]) })
  }

  /// A seed (a non-negative integer).
  static func seed(_ path: String, _ kp: WritableKeyPath<Root, UInt64>, _ doc: String) -> Self {
    Self(
      path, doc,
      read: { r, k, root in
        root[keyPath: kp] = UInt64(try r.int(k, default: Int(root[keyPath: kp]), range: 0...Int.max))
      },
      value: { .int(Int($0[keyPath: kp])) })
  }

  /// A number; `check` returns why a value is refused.
  static func double(
    _ path: String, _ kp: WritableKeyPath<Root, Double>, _ doc: String,
    check: @escaping (Double) -> String? = { _ in nil }
  ) -> Self {
    Self(
      path, doc,
      read: { r, k, root in
        let v = try r.double(k, default: root[keyPath: kp])
        if let why = check(v) { throw r.fail(k, why) }
        root[keyPath: kp] = v
      }, value: { .double($0[keyPath: kp]) })
  }

  /// A float32 number, reported by its shortest decimal (0.05, not 0.0500000007).
  static func float(_ path: String, _ kp: WritableKeyPath<Root, Float>, _ doc: String) -> Self {
    Self(
      path: path, doc: doc,
      read: { r, k, root in root[keyPath: kp] = Float(try r.double(k, default: Double(root[keyPath: kp]))) },
      value: { .double(shortest($0[keyPath: kp])) }, text: { "\($0[keyPath: kp])" })
  }

  static func bool(_ path: String, _ kp: WritableKeyPath<Root, Bool>, _ doc: String) -> Self {
    Self(
      path, doc, read: { r, k, root in root[keyPath: kp] = try r.bool(k, default: root[keyPath: kp]) },
      value: { .bool($0[keyPath: kp]) })
  }

  static func string(_ path: String, _ kp: WritableKeyPath<Root, String>, _ doc: String) -> Self {
    Self(
      path, doc, read: { r, k, root in root[keyPath: kp] = try r.string(k, default: root[keyPath: kp]) },
      value: { .string($0[keyPath: kp]) })
  }

  /// Text that may be absent (left out when nil).
  static func optionalString(_ path: String, _ kp: WritableKeyPath<Root, String?>, _ doc: String) -> Self {
    Self(
      path, doc, read: { r, k, root in root[keyPath: kp] = try r.optionalString(k) ?? root[keyPath: kp] },
      value: { $0[keyPath: kp].map { .string($0) } })
  }

  /// One of an enumeration's raw values (written unquoted).
  static func choice<E: RawRepresentable & CaseIterable>(_ path: String, _ kp: WritableKeyPath<Root, E>, _ doc: String)
    -> Self where E.RawValue == String
  {
    Self(
      path: path, doc: doc, read: { r, k, root in root[keyPath: kp] = try r.choice(k, default: root[keyPath: kp]) },
      value: { .string($0[keyPath: kp].rawValue) }, text: { $0[keyPath: kp].rawValue })
  }

  /// A list of integers; `omitEmpty` leaves an empty list out.
  static func ints(_ path: String, _ kp: WritableKeyPath<Root, [Int]>, _ doc: String, omitEmpty: Bool = false) -> Self {
    Self(
      path, doc, read: { r, k, root in root[keyPath: kp] = try r.ints(k, default: root[keyPath: kp]) },
      value: { root in
        let v = root[keyPath: kp]
        return omitEmpty && v.isEmpty ? nil : .list(v.map { .int($0) })
      })
  }

  /// A list of texts; `omitEmpty` leaves an empty list out.
  static func strings(_ path: String, _ kp: WritableKeyPath<Root, [String]>, _ doc: String, omitEmpty: Bool = false)
    -> Self
  {
    Self(
      path, doc, read: { r, k, root in root[keyPath: kp] = try r.strings(k, default: root[keyPath: kp]) },
      value: { root in
        let v = root[keyPath: kp]
        return omitEmpty && v.isEmpty ? nil : .list(v.map { .string($0) })
      })
  }
}

extension ConfigField {
  /// A command: a list of arguments, or one line (read as `/bin/sh -c LINE`, written as the list).
  static func command(_ path: String, _ kp: WritableKeyPath<Root, [String]>, _ doc: String) -> Self {
    Self(
      path, doc,
      read: { r, k, root in
        guard r.has(k), let raw = r.raw(k) else { return }
        let value = ConfigValue(yaml: raw)
        root[keyPath: kp] = try ExternalProcess.command(value, what: "an external model") { r.fail(k, $0) }
      },
      value: { root in
        let v = root[keyPath: kp]
        return v.isEmpty ? nil : .list(v.map { .string($0) })
      })
  }

  /// A mapping of names to values that a command validates itself (left out when empty).
  static func parameters(_ path: String, _ kp: WritableKeyPath<Root, HyperParameters>, _ doc: String) -> Self {
    Self(
      path: path, doc: doc,
      read: { r, k, root in
        guard r.has(k) else { return }
        let section = try r.section(k)
        var values = [String: ConfigValue]()
        for (key, v) in section.values {
          guard let c = ConfigValue(yaml: v) else {
            throw section.fail(key, "expected a number, text, true/false or a list")
          }
          values[key] = c
        }
        root[keyPath: kp] = HyperParameters(values)
      },
      value: { _ in nil },
      text: { root in root[keyPath: kp].values.isEmpty ? nil : root[keyPath: kp].yaml })
  }
}

/// Reading and writing a configuration from a table of ``ConfigField``.
enum ConfigSchema {
  /// Reads every field of `fields` into `root` from `reader` (sections looked up once each, so
  /// that each can reject keys nobody read); returns the section readers, to be finished.
  static func read<Root>(_ fields: [ConfigField<Root>], from reader: ConfigReader, into root: inout Root) throws
    -> [ConfigReader]
  {
    var sections = ["": reader]
    var order = [ConfigReader]()
    func section(_ path: String) throws -> ConfigReader {
      if let s = sections[path] { return s }
      let parts = path.split(separator: ".").map(String.init)
      let parent = try section(parts.dropLast().joined(separator: "."))
      let s = try parent.section(parts.last ?? "")
      sections[path] = s
      order.append(s)
      return s
    }
    for f in fields { try f.read(try section(f.section), f.key, &root) }
    return order.reversed()
  }

  /// The fields as YAML: sections nested in the order of their first key, two spaces an indent.
  /// With `comments`, every key's meaning follows it, and keys left out appear commented out.
  static func yaml<Root>(_ fields: [ConfigField<Root>], _ root: Root, comments: Bool = false) -> [String] {
    var lines = [(text: String, doc: String?)]()
    var open = [String]()
    for f in fields {
      let text = f.text(root)
      guard text != nil || comments else { continue }
      let parts = f.section.isEmpty ? [] : f.section.split(separator: ".").map(String.init)
      var common = 0
      while common < Swift.min(open.count, parts.count) && open[common] == parts[common] { common += 1 }
      open = Array(open.prefix(common))
      for p in parts.dropFirst(common) {
        lines.append((String(repeating: "  ", count: open.count) + "\(p):", nil))
        open.append(p)
      }
      let indent = String(repeating: "  ", count: open.count)
      lines.append((text.map { indent + "\(f.key): \($0)" } ?? indent + "# \(f.key):", comments ? f.doc : nil))
    }
    let width = lines.filter { $0.doc != nil }.map(\.text.count).max() ?? 0
    return lines.map { line in
      line.doc.map { line.text + String(repeating: " ", count: width + 2 - line.text.count) + "# \($0)" } ?? line.text
    }
  }
}
