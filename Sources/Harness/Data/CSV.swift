import Foundation

/// A minimal RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF).
enum CSV {
  /// Parses `text` into rows of fields; empty lines are skipped.
  static func parse(_ text: String) -> [[String]] {
    var rows = [[String]]()
    var row = [String]()
    var field = ""
    var inQuotes = false
    var fieldWasQuoted = false
    var it = text.makeIterator()
    var pending: Character? = nil
    func endField() {
      row.append(fieldWasQuoted ? field : field.trimmingCharacters(in: .whitespaces))
      field = ""
      fieldWasQuoted = false
    }
    func endRow() {
      endField()
      if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
      row = []
    }
    while let ch = pending ?? it.next() {
      pending = nil
      if inQuotes {
        if ch == "\"" {
          if let next = it.next() {
            if next == "\"" {
              field.append("\"")
            } else {
              inQuotes = false
              pending = next
            }
          } else {
            inQuotes = false
          }
        } else {
          field.append(ch)
        }
        continue
      }
      switch ch {
      case "\"":
        inQuotes = true
        fieldWasQuoted = true
      case ",": endField()
      case "\n", "\r\n", "\r": endRow()
      default: field.append(ch)
      }
    }
    if !field.isEmpty || !row.isEmpty { endRow() }
    return rows
  }
}
