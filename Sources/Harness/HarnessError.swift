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
