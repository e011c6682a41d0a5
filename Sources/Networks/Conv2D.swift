import NumericCore

/// A 2-D convolution with stride 1 and zero padding, PyTorch's
/// `nn.Conv2d(in, out, kernel, padding=p)`, computed as im2col + GEMM.
///
/// Activations are channel-major (CBHW: `[channels, batch, height, width]`), so
/// a block of examples is one product:
/// ```
/// col = im2col(X)                          [in·k·k, examples·Ho·Wo]
/// Y   = W·col + b                          W: [out, in·k·k] (PyTorch [out, in, k, k])
/// ∂L/∂Wᵀ = col·(∂L/∂Y)ᵀ,  ∂L/∂b = Σ ∂L/∂Y over each output plane
/// ∂L/∂X = col2im(Wᵀ·∂L/∂Y)
/// ```
/// The batch is processed in chunks whose column matrix fits in a core's L2
/// cache (`columnBudget` floats), which keeps the products in cache instead of
/// streaming megabytes through memory; each chunk's products run in column
/// blocks small enough for OpenBLAS's small-matrix kernels, which skip packing
/// (see ``blocks(_:perColumn:)``). The weight gradient is accumulated transposed
/// (`[in·k·k, out]`, a product OpenBLAS runs faster at these sizes) and
/// transposed once per pass. On the reference machine these two, and β = 0
/// handed to those kernels (``BLAS/gemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``),
/// made the 28×28 CNN train 11 % faster (11.5k → 12.8k samples/s,
/// `unlearn-bench --only=cnn`). The forward pass keeps every chunk's
/// columns (up to `storedColumnLimit` floats: a training pass, see
/// ``Network/microBatch``) for the backward pass that follows; larger batches
/// (evaluation) reuse one chunk's buffer and the backward pass rebuilds the
/// columns.
/// Initialisation as PyTorch: W and b ~ U(−1/√(in·k·k), 1/√(in·k·k)).
public final class Conv2D: Layer {
  public let inChannels: Int, outChannels: Int, kernel: Int, padding: Int, height: Int, width: Int
  /// Largest column block, in floats (default 128 Ki floats = 512 KiB, a core's L2 on the reference machine;
  /// a training pass of 8 examples of the 28×28 CNN is two blocks of 4).
  public let columnBudget: Int
  /// Most column floats kept from the forward pass for the backward pass (default 4 Mi floats = 16 MiB).
  public let storedColumnLimit: Int
  /// The batch whose columns the last forward pass kept (0: none).
  private var storedBatch = 0
  public var outHeight: Int { height + 2 * padding - kernel + 1 }
  public var outWidth: Int { width + 2 * padding - kernel + 1 }
  public var inputSize: Int { inChannels * height * width }
  public var outputSize: Int { outChannels * outHeight * outWidth }
  private var col: FloatBuffer = FloatBuffer(count: 0)
  private var colGrad: FloatBuffer = FloatBuffer(count: 0)
  /// ∂L/∂Wᵀ `[in·k·k, out]`, summed over a pass's chunks.
  private var weightGradT: FloatBuffer = FloatBuffer(count: 0)

  public init(
    inChannels: Int, outChannels: Int, kernel: Int, padding: Int, height: Int, width: Int,
    columnBudget: Int = 128 * 1024,
    storedColumnLimit: Int = 4 * 1024 * 1024
  ) {
    precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && padding >= 0 && columnBudget > 0)
    precondition(
      height + 2 * padding >= kernel && width + 2 * padding >= kernel, "Conv2D: kernel larger than the padded input")
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernel = kernel
    self.padding = padding
    self.height = height
    self.width = width
    self.columnBudget = columnBudget
    self.storedColumnLimit = storedColumnLimit
  }

  private var patch: Int { inChannels * kernel * kernel }
  private var plane: Int { outHeight * outWidth }
  /// Examples per chunk.
  private var chunk: Int { Swift.max(1, columnBudget / (patch * plane)) }

  public var parameterShapes: [(suffix: String, shape: [Int])] {
    [("weight", [outChannels, inChannels, kernel, kernel]), ("bias", [outChannels])]
  }
  public var torchDescription: String {
    "nn.Conv2d(\(inChannels), \(outChannels), kernel_size=\(kernel), padding=\(padding))"
  }

  /// Whether the columns of a whole batch are kept between forward and backward.
  private func keepsColumns(_ batch: Int) -> Bool { patch * batch * plane <= storedColumnLimit }

  public func prepare(maxBatch: Int) {
    let chunkFloats = patch * Swift.min(chunk, maxBatch) * plane
    // Room for the largest batch whose columns are kept (at least one chunk).
    var kept = maxBatch
    while kept > 1 && !keepsColumns(kept) { kept -= 1 }
    let n = Swift.max(chunkFloats, keepsColumns(kept) ? patch * kept * plane : 0)
    if col.count < n { col = FloatBuffer(count: n) }
    if colGrad.count < chunkFloats { colGrad = FloatBuffer(count: chunkFloats) }
    if weightGradT.count < patch * outChannels { weightGradT = FloatBuffer(count: patch * outChannels) }
  }

  public func initialize(_ parameters: FloatView, using rng: inout Xoshiro256StarStar) {
    fillUniform(parameters, bound: 1 / Float(patch).squareRoot(), using: &rng)
  }

  /// Fills `col` (at `offset`) with the columns of examples `first ..< first + count`.
  private func unfold(_ input: FloatView, batch: Int, first: Int, count: Int, offset: Int = 0) -> FloatView {
    let view = col.view(offset: offset, count: patch * count * plane)
    Kernels.im2col(
      input, channels: inChannels, batch: batch, first: first, count: count, height: height, width: width,
      kernel: kernel, padding: padding, into: view)
    return view
  }

  /// The column blocks `(first, width)` of `columns` in which a product with `perColumn`
  /// multiply-adds per column is computed: at most 10⁶ multiply-adds each, the size up to which
  /// OpenBLAS runs a product in its small-matrix kernels, without packing (AVX-512 cores), and a
  /// multiple of 16 columns wide but the last (a width of 16j + 1 … 16j + 8 makes those kernels
  /// allocate a scratch buffer on every call).
  static func blocks(_ columns: Int, perColumn: Int) -> LazyMapSequence<StrideTo<Int>, (first: Int, width: Int)> {
    let width = Swift.max(16, 1_000_000 / Swift.max(perColumn, 1) / 16 * 16)
    return stride(from: 0, to: columns, by: width).lazy.map { ($0, Swift.min(width, columns - $0)) }
  }

  public func forward(_ input: FloatView, _ output: FloatView, batch: Int, parameters: FloatView) {
    let n = batch * plane
    let w = parameters.slice(0, outChannels * patch)
    Kernels.fillPlanes(output, planes: outChannels, size: n, with: parameters.slice(outChannels * patch, outChannels))
    let keep = keepsColumns(batch) && col.count >= patch * batch * plane
    storedBatch = keep ? batch : 0
    var first = 0
    while first < batch {
      let count = Swift.min(chunk, batch - first)
      // Kept columns: chunk c's block [patch, count·plane] starts at patch·plane·first.
      let cols = unfold(input, batch: batch, first: first, count: count, offset: keep ? patch * plane * first : 0)
      // Y[:, first·plane ..< (first+count)·plane] += W·col  (row stride n), in column blocks.
      let y = output.slice(first * plane, output.count - first * plane)
      for (j, width) in Self.blocks(count * plane, perColumn: outChannels * patch) {
        BLAS.gemm(
          m: outChannels, n: width, k: patch, a: w, lda: patch, b: cols.slice(j, cols.count - j), ldb: count * plane,
          beta: 1, c: y.slice(j, y.count - j), ldc: n)
      }
      first += count
    }
  }

  public func backward(
    input: FloatView, output: FloatView, outputGrad: FloatView, inputGrad: FloatView?,
    batch: Int, parameters: FloatView, parameterGrads: FloatView
  ) {
    let n = batch * plane
    let nw = outChannels * patch
    let w = parameters.slice(0, nw)
    let dwT = weightGradT.view(offset: 0, count: nw)
    Kernels.sumPlanes(outputGrad, planes: outChannels, size: n, into: parameterGrads.slice(nw, outChannels))
    var first = 0
    while first < batch {
      let count = Swift.min(chunk, batch - first)
      // The forward pass of this batch (which backward always follows) kept the columns, unless the batch is too large.
      let cols =
        storedBatch == batch
        ? col.view(offset: patch * plane * first, count: patch * count * plane)
        : unfold(input, batch: batch, first: first, count: count)
      let dyChunk = outputGrad.slice(first * plane, outputGrad.count - first * plane)
      // ∂L/∂Wᵀ (+)= col·∂L/∂Y[:, chunk]ᵀ
      BLAS.gemm(
        transB: true, m: patch, n: outChannels, k: count * plane, a: cols, lda: count * plane, b: dyChunk, ldb: n,
        beta: first == 0 ? 0 : 1, c: dwT, ldc: outChannels)
      if let dx = inputGrad {
        let dcol = colGrad.view(offset: 0, count: patch * count * plane)
        for (j, width) in Self.blocks(count * plane, perColumn: outChannels * patch) {
          BLAS.gemm(
            transA: true, m: patch, n: width, k: outChannels, a: w, lda: patch, b: dyChunk.slice(j, dyChunk.count - j),
            ldb: n, c: dcol.slice(j, dcol.count - j), ldc: count * plane)
        }
        Kernels.col2im(
          dcol, channels: inChannels, batch: batch, first: first, count: count, height: height, width: width,
          kernel: kernel, padding: padding, into: dx)
      }
      first += count
    }
    Kernels.transpose(dwT, rows: patch, cols: outChannels, into: parameterGrads.slice(0, nw))
  }
}
