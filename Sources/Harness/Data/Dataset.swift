import Foundation
import Networks
import NumericCore

/// How a dataset's files are laid out on disk.
public enum DatasetLayout: String, Codable, Sendable, CaseIterable {
  /// Detect from the folder's contents.
  case auto
  /// A CSV manifest `path,label[,group][,split]` (`labels.csv` or `manifest.csv`, or the CSV itself).
  case manifest
  /// `root/<class>/**.png`, classes sorted by folder name (torchvision's ImageFolder).
  case imagefolder
  /// Kaggle CIFAR-10: `train/<id>.png` plus `trainLabels.csv` with columns `id,label`.
  case kaggle
}

/// An image classification dataset loaded from PNG files.
///
/// Example `i` is the `i`-th file in the layout's canonical order (manifest
/// order; sorted paths for ImageFolder; ascending ids for Kaggle); its id is `i`.
public struct Dataset: Sendable {
  public var root: URL
  public var layout: DatasetLayout
  /// File paths relative to `root`, one per example.
  public var paths: [String]
  /// Class names; label `k` means `classNames[k]`.
  public var classNames: [String]
  /// Group of each example (manifest `group` column), if any.
  public var groups: [String]?
  /// Split of each example assigned by the manifest `split` column, if any.
  public var assignedSplits: [String]?
  /// `[channels, height, width]` shared by every image.
  public var shape: [Int]
  /// Features `[N, C·H·W]` in [0, 1] (pixel / 255, CHW order) and labels.
  public var examples: LabeledExamples
  /// SHA-256 of each file's bytes, one per example (computed while loading).
  public var fileSHA256: [String]

  public var count: Int { paths.count }
  public var numClasses: Int { classNames.count }

  /// Examples per class, in class order.
  public var perClassCounts: [Int] {
    var counts = [Int](repeating: 0, count: numClasses)
    for y in examples.labels { counts[Int(y)] += 1 }
    return counts
  }

  /// SHA-256 of the file list: one `path<TAB>label` line per example, in order.
  public var fileListSHA256: String {
    SHA256.hex(zip(paths, examples.labels).map { "\($0)\t\(classNames[Int($1)])\n" }.joined())
  }

  /// The dataset's content as text: one `path<TAB>label<TAB>file SHA-256` line per example, in
  /// order (a run keeps it as `dataset.tsv`).
  public var contentListing: String {
    paths.indices.map { "\(paths[$0])\t\(classNames[Int(examples.labels[$0])])\t\(fileSHA256[$0])\n" }.joined()
  }

  /// SHA-256 of ``contentListing``: changing one pixel, one label or the order changes it.
  public var contentSHA256: String { SHA256.hex(contentListing) }

  /// A summary for `unlearn dataset inspect`.
  public struct Summary: Codable, Sendable, Equatable {
    public var root: String
    public var layout: String
    public var numExamples: Int
    public var classes: [String]
    public var perClass: [String: Int]
    public var shape: [Int]
    public var fileListSHA256: String

    enum CodingKeys: String, CodingKey {
      case root, layout
      case numExamples = "num_examples"
      case classes
      case perClass = "per_class"
      case shape
      case fileListSHA256 = "file_list_sha256"
    }
  }

  public var summary: Summary {
    Summary(
      root: root.path, layout: layout.rawValue, numExamples: count, classes: classNames,
      perClass: Dictionary(uniqueKeysWithValues: zip(classNames, perClassCounts)), shape: shape,
      fileListSHA256: fileListSHA256)
  }
}
