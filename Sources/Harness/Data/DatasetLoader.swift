import Foundation
import Networks
import NumericCore

extension Dataset {
  /// Loads a dataset from `path` (a folder, or a manifest CSV).
  ///
  /// Every image is decoded (in parallel over `workers` threads) and checked:
  /// a missing, unreadable, truncated or oversized file, a size different from
  /// the first image's, or a path that leaves the dataset root is an error
  /// naming the file. Gray images are expanded to RGB when any image is RGB.
  public static func load(path: String, layout: DatasetLayout = .auto, workers: Int = WorkerPool.availableCores) throws
    -> Dataset
  {
    let url = URL(fileURLWithPath: path).standardizedFileURL
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
      throw HarnessError(path, "no such file or folder; pass the dataset folder (or its manifest CSV)")
    }
    let resolved = layout == .auto ? try detectLayout(url, isDirectory: isDir.boolValue) : layout
    let listing: Listing
    switch resolved {
    case .manifest: listing = try listManifest(url, isDirectory: isDir.boolValue)
    case .imagefolder: listing = try listImageFolder(url)
    case .kaggle: listing = try listKaggle(url)
    case .auto: fatalError("unreachable")
    }
    guard !listing.paths.isEmpty else { throw HarnessError(path, "the dataset has no images") }
    let root = listing.root
    let rootResolved = root.resolvingSymlinksInPath().path
    // Check every path before reading anything; two names of one file (`./a.png` and `a.png`, a
    // symbolic link) are one example listed twice, which a split could put in forget and test.
    var files = [URL]()
    var seen = [String: String]()
    for p in listing.paths {
      let f = root.appendingPathComponent(p).standardizedFileURL
      let real = f.resolvingSymlinksInPath().path
      guard !p.hasPrefix("/"), real.hasPrefix(rootResolved + "/") else {
        throw HarnessError(
          p, "path is outside the dataset root \(root.path); list files relative to the root, without '..'")
      }
      if let first = seen[real] {
        throw HarnessError(p, "names the same file as \(first); each image may appear once")
      }
      seen[real] = p
      files.append(f)
    }
    let paths = listing.paths
    let urls = files
    let decoded = try WorkerPool.map(count: urls.count, workers: workers) { i in
      let data = try HarnessError.read(urls[i], name: paths[i], limit: PNGImage.maximumFileBytes)
      return (image: try PNGImage.decode(data, name: paths[i]), sha256: SHA256.hex(data))
    }
    let hashes = decoded.map(\.sha256)
    let images = decoded.map(\.image)
    let first = images[0]
    for (i, img) in images.enumerated() where img.width != first.width || img.height != first.height {
      throw HarnessError(
        paths[i],
        "image is \(img.width)×\(img.height) but \(paths[0]) is \(first.width)×\(first.height); every image of "
          + "a dataset must have the same size"
      )
    }
    let channels = images.contains { $0.channels == 3 } ? 3 : 1
    let d = channels * first.height * first.width
    var scalars = [Float]()
    scalars.reserveCapacity(d * images.count)
    for img in images { scalars.append(contentsOf: img.expanded(to: channels).planarFloats) }
    let features = Tensor(shape: [images.count, d], scalars: scalars)
    return Dataset(
      root: root, layout: resolved, paths: paths, classNames: listing.classNames, groups: listing.groups,
      assignedSplits: listing.splits, shape: [channels, first.height, first.width],
      examples: LabeledExamples(features: features, labels: listing.labels), fileSHA256: hashes)
  }

  // MARK: Layouts

  /// A layout's list of examples, before any image is read.
  public struct Listing: Sendable {
    public var root: URL
    public var paths: [String]
    public var labels: [Int32]
    public var classNames: [String]
    public var groups: [String]?
    public var splits: [String]?
  }

  static let manifestNames = ["labels.csv", "manifest.csv"]

  static func detectLayout(_ url: URL, isDirectory: Bool) throws -> DatasetLayout {
    if !isDirectory {
      guard url.pathExtension.lowercased() == "csv" else {
        throw HarnessError(url.path, "a dataset is a folder or a manifest .csv file")
      }
      return .manifest
    }
    let fm = FileManager.default
    if fm.fileExists(atPath: url.appendingPathComponent("trainLabels.csv").path),
      fm.fileExists(atPath: url.appendingPathComponent("train").path)
    {
      return .kaggle
    }
    if manifestNames.contains(where: { fm.fileExists(atPath: url.appendingPathComponent($0).path) }) {
      return .manifest
    }
    let entries = (try? fm.contentsOfDirectory(at: url, includingPropertiesForKeys: [.isDirectoryKey])) ?? []
    if entries.contains(where: {
      (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true && !$0.lastPathComponent.hasPrefix(".")
    }) {
      return .imagefolder
    }
    throw HarnessError(
      url.path,
      "cannot tell the dataset layout: expected labels.csv or manifest.csv (manifest), trainLabels.csv with "
        + "train/ (kaggle), or one sub-folder per class (imagefolder); or pass --layout"
    )
  }

  static func readText(_ url: URL) throws -> String {
    let data = try HarnessError.read(url, limit: FileInput.defaultLimit)
    guard let text = String(data: data, encoding: .utf8) else { throw HarnessError(url.path, "file is not UTF-8 text") }
    return text
  }

  /// Maps label strings to class indices: numeric labels in numeric order,
  /// otherwise names in lexicographic order.
  static func classIndex(_ raw: [String]) -> (names: [String], labels: [Int32]) {
    let distinct = Array(Set(raw))
    let names: [String]
    if distinct.allSatisfy({ Int($0) != nil }) {
      names = distinct.sorted { Int($0)! < Int($1)! }
    } else {
      names = distinct.sorted()
    }
    let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Int32($0)) })
    return (names, raw.map { index[$0]! })
  }

  static func listManifest(_ url: URL, isDirectory: Bool) throws -> Listing {
    let csvURL: URL
    if isDirectory {
      guard
        let name = manifestNames.first(where: {
          FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path)
        })
      else {
        throw HarnessError(url.path, "no labels.csv or manifest.csv in the folder")
      }
      csvURL = url.appendingPathComponent(name)
    } else {
      csvURL = url
    }
    return try parseManifest(try readText(csvURL), file: csvURL)
  }

  /// The listing of a manifest's text (`file` names it in errors and fixes the root).
  public static func parseManifest(_ text: String, file csvURL: URL) throws -> Listing {
    let rows = CSV.parse(text)
    guard let header = rows.first?.map({ $0.lowercased() }) else {
      throw HarnessError(csvURL.path, "the manifest is empty")
    }
    guard let pathCol = header.firstIndex(of: "path"), let labelCol = header.firstIndex(of: "label") else {
      throw HarnessError(
        csvURL.path, "the header must name the columns path and label (optionally group and split); found \(rows[0])")
    }
    let groupCol = header.firstIndex(of: "group"), splitCol = header.firstIndex(of: "split")
    var paths = [String](), labels = [String](), groups = [String](), splits = [String]()
    var seen = [String: Int]()
    for (r, row) in rows.dropFirst().enumerated() {
      let line = r + 2
      guard row.count == header.count else {
        throw HarnessError("\(csvURL.path):\(line)", "expected \(header.count) fields, found \(row.count)")
      }
      let p = row[pathCol], l = row[labelCol]
      guard !p.isEmpty, !l.isEmpty else { throw HarnessError("\(csvURL.path):\(line)", "empty path or label") }
      if let prev = seen[p] {
        throw HarnessError(
          "\(csvURL.path):\(line)", "\(p) is listed twice (first on line \(prev)); each image may appear once")
      }
      seen[p] = line
      paths.append(p)
      labels.append(l)
      if let g = groupCol { groups.append(row[g]) }
      if let s = splitCol {
        let v = row[s].lowercased()
        guard ["train", "test", "validation", "val"].contains(v) else {
          throw HarnessError("\(csvURL.path):\(line)", "split must be train, test or validation, got '\(row[s])'")
        }
        splits.append(v == "val" ? "validation" : v)
      }
    }
    let (names, ids) = classIndex(labels)
    return Listing(
      root: csvURL.deletingLastPathComponent().standardizedFileURL, paths: paths, labels: ids, classNames: names,
      groups: groupCol == nil ? nil : groups, splits: splitCol == nil ? nil : splits)
  }

  static func listImageFolder(_ url: URL) throws -> Listing {
    let fm = FileManager.default
    let classDirs = try fm.contentsOfDirectory(at: url, includingPropertiesForKeys: [.isDirectoryKey])
      .filter {
        (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true && !$0.lastPathComponent.hasPrefix(".")
      }
      .map(\.lastPathComponent).sorted()
    guard !classDirs.isEmpty else { throw HarnessError(url.path, "no class sub-folders") }
    var paths = [String](), labels = [Int32]()
    for (k, name) in classDirs.enumerated() {
      for f in try pngFiles(under: url.appendingPathComponent(name)).sorted() {
        paths.append("\(name)/\(f)")
        labels.append(Int32(k))
      }
    }
    return Listing(root: url, paths: paths, labels: labels, classNames: classDirs, groups: nil, splits: nil)
  }

  /// The `.png` files under `dir` (relative paths, hidden entries skipped). A folder that cannot
  /// be listed is an error naming it: skipping it would silently train on part of the data.
  static func pngFiles(under dir: URL) throws -> [String] {
    var out = [String](), pending = [""]
    while let rel = pending.popLast() {
      let folder = rel.isEmpty ? dir : dir.appendingPathComponent(rel)
      let names: [String]
      do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
        throw HarnessError(
          folder.path, "folder cannot be listed (permission denied?); fix its permissions or remove it from the dataset"
        )
      }
      for name in names where !name.hasPrefix(".") {
        let path = rel.isEmpty ? name : "\(rel)/\(name)"
        // lstat: a symbolic link to a folder is not followed (a link to an ancestor would loop).
        let type = try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(path).path)[.type]
        if type as? FileAttributeType == .typeDirectory {
          pending.append(path)
        } else if name.lowercased().hasSuffix(".png") {
          out.append(path)
        }
      }
    }
    return out
  }

  static func listKaggle(_ url: URL) throws -> Listing {
    let csvURL = url.appendingPathComponent("trainLabels.csv")
    let rows = CSV.parse(try readText(csvURL))
    guard let header = rows.first?.map({ $0.lowercased() }), let idCol = header.firstIndex(of: "id"),
      let labelCol = header.firstIndex(of: "label")
    else { throw HarnessError(csvURL.path, "the header must be id,label") }
    var entries = [(id: String, label: String)]()
    for (r, row) in rows.dropFirst().enumerated() {
      guard row.count == header.count else {
        throw HarnessError("\(csvURL.path):\(r + 2)", "expected \(header.count) fields, found \(row.count)")
      }
      guard !row[idCol].isEmpty, !row[labelCol].trimmingCharacters(in: .whitespaces).isEmpty else {
        throw HarnessError("\(csvURL.path):\(r + 2)", "empty id or label; every row needs both")
      }
      entries.append((row[idCol], row[labelCol]))
    }
    entries.sort { a, b in
      if let x = Int(a.id), let y = Int(b.id) { return x < y }
      return a.id < b.id
    }
    for i in entries.indices.dropFirst() where entries[i].id == entries[i - 1].id {
      throw HarnessError(csvURL.path, "id \(entries[i].id) is listed twice")
    }
    let (names, ids) = classIndex(entries.map(\.label))
    return Listing(
      root: url, paths: entries.map { "train/\($0.id).png" }, labels: ids, classNames: names, groups: nil, splits: nil)
  }
}
