import CBLAS

/// Thin, checked wrappers over OpenBLAS for ``FloatView`` operands.
///
/// All products are single precision and row-major. Parallelism lives across
/// models (one model per core), so BLAS itself is kept single-threaded; see
/// ``BLASThreads``.
public enum BLAS {
  /// Whether ``gemm`` hands β = 0 to OpenBLAS as it is: on the cores where OpenBLAS has
  /// small-matrix kernels (AVX-512: SkylakeX, Cooperlake, Sapphire Rapids), whose β = 0 variants
  /// write C without reading it. A training step of the reference MLP and CNN is 2.5 % faster so
  /// than with C zeroed first (`unlearn-bench --only=mlp`, `--only=cnn`); elsewhere C is zeroed
  /// first, which beats OpenBLAS's own zeroing pass.
  @usableFromInline static let passesZeroBeta: Bool = {
    guard let name = openblas_get_corename() else { return false }
    return ["skylakex", "cooperlake", "sapphirerapids"].contains(String(cString: name).lowercased())
  }()

  /// `C ← α·op(A)·op(B) + β·C` with `op(A)` of shape m×k and `op(B)` k×n (row-major).
  ///
  /// - Parameters:
  ///   - transA, transB: whether `A` and `B` are stored transposed.
  ///   - lda, ldb, ldc: leading dimensions (row strides) of the stored matrices.
  @inlinable
  public static func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: FloatView, lda: Int, b: FloatView, ldb: Int,
    beta: Float = 0, c: FloatView, ldc: Int
  ) {
    precondition(m >= 0 && n >= 0 && k >= 0)
    precondition(a.count >= (transA ? (k - 1) * lda + m : (m - 1) * lda + k) || m == 0 || k == 0, "gemm: A too small")
    precondition(b.count >= (transB ? (n - 1) * ldb + k : (k - 1) * ldb + n) || n == 0 || k == 0, "gemm: B too small")
    precondition(c.count >= (m - 1) * ldc + n || m == 0 || n == 0, "gemm: C too small")
    if m == 0 || n == 0 { return }
    var beta = beta
    if beta == 0 && !passesZeroBeta {
      // OpenBLAS's packed path computes β = 0 as a pass that zeroes C followed by C += α·A·B;
      // zeroing C here and passing β = 1 gives the same product, and memset is about 3× faster
      // than that pass.
      if ldc == n {
        c.pointer.update(repeating: 0, count: m * n)
      } else {
        for r in 0..<m { (c.pointer + r * ldc).update(repeating: 0, count: n) }
      }
      beta = 1
    }
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a.pointer, Int32(lda), b.pointer, Int32(ldb),
      beta, c.pointer, Int32(ldc))
  }

  /// `y ← α·x + y`.
  @inlinable
  public static func axpy(_ alpha: Float, _ x: FloatView, _ y: FloatView) {
    precondition(x.count == y.count, "axpy: length mismatch")
    cblas_saxpy(Int32(x.count), alpha, x.pointer, 1, y.pointer, 1)
  }

  /// `x ← α·x`.
  @inlinable
  public static func scal(_ alpha: Float, _ x: FloatView) {
    cblas_sscal(Int32(x.count), alpha, x.pointer, 1)
  }

  /// `Σ x_i·y_i` (single precision).
  @inlinable
  public static func dot(_ x: FloatView, _ y: FloatView) -> Float {
    precondition(x.count == y.count, "dot: length mismatch")
    return cblas_sdot(Int32(x.count), x.pointer, 1, y.pointer, 1)
  }
}

/// Control of OpenBLAS's own thread pool.
public enum BLASThreads {
  /// Makes every BLAS call single-threaded. The harness parallelises across
  /// independent models instead (``WorkerPool``), which scales far better for
  /// small matrices and keeps results independent of the worker count.
  public static func setSingleThreaded() { openblas_set_num_threads(1) }

  /// The number of threads OpenBLAS will use.
  public static var current: Int { Int(openblas_get_num_threads()) }
}
