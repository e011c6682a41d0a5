/// A fixed-size, heap-allocated, zero-initialised array of `Float` with stable
/// storage, used for parameters, gradients and activations.
///
/// Unlike `[Float]`, the storage never moves and is never copied on write, so
/// kernels can run over it without allocating. A `FloatBuffer` is owned by one
/// job at a time (it is not `Sendable`); values cross job boundaries as
/// `[Float]` or ``Tensor``.
public final class FloatBuffer {
  /// Number of elements.
  public let count: Int
  @usableFromInline let base: UnsafeMutablePointer<Float>

  /// Creates a buffer of `count` zeros.
  public init(count: Int) {
    precondition(count >= 0, "FloatBuffer: negative count")
    self.count = count
    base = .allocate(capacity: Swift.max(count, 1))
    base.initialize(repeating: 0, count: Swift.max(count, 1))
  }

  /// Creates a buffer holding a copy of `values`.
  public convenience init(_ values: [Float]) {
    self.init(count: values.count)
    values.withUnsafeBufferPointer { src in
      if let p = src.baseAddress { base.update(from: p, count: values.count) }
    }
  }

  deinit { base.deallocate() }

  /// Element access (bounds-checked).
  @inlinable public subscript(i: Int) -> Float {
    get {
      precondition(i >= 0 && i < count, "FloatBuffer index out of range")
      return base[i]
    }
    set {
      precondition(i >= 0 && i < count, "FloatBuffer index out of range")
      base[i] = newValue
    }
  }

  /// A copy of the contents as an array.
  public var array: [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }

  /// A view of the whole buffer.
  public var view: FloatView { FloatView(self, offset: 0, count: count) }

  /// A view of `count` elements starting at `offset`.
  public func view(offset: Int, count: Int) -> FloatView {
    FloatView(self, offset: offset, count: count)
  }

  /// Sets every element to `value`.
  public func fill(_ value: Float) { base.update(repeating: value, count: count) }

  /// Copies `other` (same count) into this buffer.
  public func copy(from other: FloatBuffer) {
    precondition(other.count == count, "FloatBuffer.copy: count mismatch")
    base.update(from: other.base, count: count)
  }

  /// Copies `values` (same count) into this buffer.
  public func copy(from values: [Float]) {
    precondition(values.count == count, "FloatBuffer.copy: count mismatch")
    values.withUnsafeBufferPointer { src in
      if let p = src.baseAddress { base.update(from: p, count: count) }
    }
  }

  /// True when every element is finite.
  public var allFinite: Bool {
    for i in 0..<count where !base[i].isFinite { return false }
    return true
  }
}

/// A contiguous window `[offset, offset + count)` into a ``FloatBuffer``.
/// Views are what kernels operate on; they never own memory.
public struct FloatView {
  public let buffer: FloatBuffer
  public let offset: Int
  public let count: Int

  public init(_ buffer: FloatBuffer, offset: Int, count: Int) {
    precondition(offset >= 0 && count >= 0 && offset + count <= buffer.count, "FloatView out of range")
    self.buffer = buffer
    self.offset = offset
    self.count = count
  }

  @inlinable var pointer: UnsafeMutablePointer<Float> { buffer.base + offset }

  /// A sub-window of this view.
  public func slice(_ start: Int, _ length: Int) -> FloatView {
    precondition(start >= 0 && length >= 0 && start + length <= count, "FloatView.slice out of range")
    return FloatView(buffer, offset: offset + start, count: length)
  }

  @inlinable public subscript(i: Int) -> Float {
    get { buffer[offset + i] }
    nonmutating set { buffer[offset + i] = newValue }
  }

  /// A copy of the viewed elements.
  public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

  /// Copies `values` into the view.
  public func assign(_ values: [Float]) {
    precondition(values.count == count, "FloatView.assign: count mismatch")
    values.withUnsafeBufferPointer { src in
      if let p = src.baseAddress { pointer.update(from: p, count: count) }
    }
  }

  /// Copies another view of the same length into this one.
  public func assign(_ other: FloatView) {
    precondition(other.count == count, "FloatView.assign: count mismatch")
    pointer.update(from: other.pointer, count: count)
  }

  /// Sets every element to `value`.
  public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }
}

/// A fixed-size buffer of `Int32`, used for labels and pooling indices.
public final class IndexBuffer {
  public let count: Int
  @usableFromInline let base: UnsafeMutablePointer<Int32>

  public init(count: Int) {
    self.count = count
    base = .allocate(capacity: Swift.max(count, 1))
    base.initialize(repeating: 0, count: Swift.max(count, 1))
  }

  deinit { base.deallocate() }

  @inlinable public subscript(i: Int) -> Int32 {
    get {
      precondition(i >= 0 && i < count, "IndexBuffer index out of range")
      return base[i]
    }
    set {
      precondition(i >= 0 && i < count, "IndexBuffer index out of range")
      base[i] = newValue
    }
  }
}
