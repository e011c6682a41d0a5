/// A dense, row-major array of `Float` with a shape: the value type that
/// crosses job boundaries, goes to disk (`.npy`, safetensors) and holds
/// datasets and per-example outputs.
public struct Tensor: Sendable, Equatable, Codable {
  /// Extent of each dimension, outermost first.
  public var shape: [Int]
  /// Elements in row-major (C) order; `scalars.count == shape.product`.
  public var scalars: [Float]

  public init(shape: [Int], scalars: [Float]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension")
    precondition(shape.reduce(1, *) == scalars.count, "Tensor: \(scalars.count) scalars for shape \(shape)")
    self.shape = shape
    self.scalars = scalars
  }

  /// A tensor of zeros.
  public init(zeros shape: [Int]) {
    self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
  }

  /// Number of elements.
  public var count: Int { scalars.count }

  /// Number of rows (first dimension) and elements per row.
  public var rows: Int { shape.first ?? 1 }
  public var rowLength: Int { shape.count <= 1 ? 1 : shape.dropFirst().reduce(1, *) }

  /// A copy of row `i`.
  public func row(_ i: Int) -> ArraySlice<Float> {
    let n = rowLength
    return scalars[(i * n)..<((i + 1) * n)]
  }

  /// The rows at `indices`, in that order.
  public func gatherRows(_ indices: [Int]) -> Tensor {
    let n = rowLength
    var out = [Float]()
    out.reserveCapacity(indices.count * n)
    for i in indices { out.append(contentsOf: scalars[(i * n)..<((i + 1) * n)]) }
    var newShape = shape
    if newShape.isEmpty { newShape = [1] }
    newShape[0] = indices.count
    return Tensor(shape: newShape, scalars: out)
  }
}
