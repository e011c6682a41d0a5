import Foundation

/// Names that become file or folder names (an algorithm's `jobs/<name>/`, a run's
/// `results/<name>/`): letters, digits, `.`, `_` and `-`, not starting with `.`, at most 100
/// characters, and not a name the harness uses itself. A name like `z/../retrain` could
/// otherwise overwrite the reference's outputs, or `../../x` write outside the run folder.
public enum PathName {
  /// The names of the run's own rows and folders, which no algorithm may take.
  public static let reserved: Set<String> = [Role.original.name, Role.originalSeedsName, Role.retrain.name]

  /// Why `name` cannot be a path component, or nil when it can.
  public static func problem(_ name: String) -> String? {
    if name.isEmpty { return "must not be empty" }
    if name.utf8.count > 100 { return "must be at most 100 characters, got \(name.utf8.count)" }
    if name.hasPrefix(".") { return "must not start with '.', got '\(name)'" }
    let allowed = name.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
        || "._-".unicodeScalars.contains($0)
    }
    if !allowed { return "may only hold letters, digits, '.', '_' and '-' (it names a folder), got '\(name)'" }
    return nil
  }

  /// Throws naming `field` when `name` cannot be a path component, or (with `reservedToo`)
  /// is one of the harness's own names.
  public static func check(_ name: String, field: String, reservedToo: Bool = false) throws {
    if let why = problem(name) { throw HarnessError(field, why) }
    if reservedToo && reserved.contains(name) {
      throw HarnessError(field, "'\(name)' is reserved for the harness's own rows; choose another name")
    }
  }
}
