import Foundation
import NumericCore

/// A user-facing error of the harness: it names the file, field or example at
/// fault and says what to do. The CLI prints `description` and exits non-zero
/// (no stack trace).
public struct HarnessError: Error, CustomStringConvertible, Equatable {
  /// The file, field or example at fault (e.g. a path, or `training.epochs`).
  public var subject: String
  /// What is wrong and what to do about it.
  public var message: String

  public init(_ subject: String, _ message: String) {
    self.subject = subject
    self.message = message
  }

  public var description: String { "\(subject): \(message)" }
}

extension HarnessError {
  /// The bytes of the regular file at `url` (at most `limit`), a read failure becoming an error
  /// that names `name` (default: the path) and says "`what` cannot be read (why)".
  public static func read(_ url: URL, name: String? = nil, limit: Int, what: String = "") throws -> Data {
    do { return try FileInput.read(url, limit: limit) } catch let e as NumericCoreError {
      guard case .unreadableFile(_, let why) = e else { throw e }
      throw HarnessError(name ?? url.path, "\(what.isEmpty ? "" : what + " ")cannot be read (\(why))")
    }
  }
}
