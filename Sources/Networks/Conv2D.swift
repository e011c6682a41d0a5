import NumericCore

/// A 2-D convolution with stride 1 and zero padding, PyTorch's
/// `nn.Conv2d(in, out, kernel, padding=p)`, computed as im2col + one GEMM per batch.
///
/// Activations are channel-major (CBHW: `[channels, batch, height, width]`), so
/// the whole batch is one product:
/// ```
/// col = im2col(X)                          [in·k·k, batch·Ho·Wo]
/// Y   = W·col + b                          W: [out, in·k·k] (PyTorch [out, in, k, k])
/// ∂L/∂W = (∂L/∂Y)·colᵀ,  ∂L/∂b = Σ ∂L/∂Y over each output plane
/// ∂L/∂X = col2im(Wᵀ·∂L/∂Y)
/// ```
/// Initialisation as PyTorch: W and b ~ U(−1/√(in·k·k), 1/√(in·k·k)).
public final class Conv2D: Layer {
  public let inChannels: Int, outChannels: Int, kernel: Int, padding: Int, height: Int, width: Int
  public var outHeight: Int { height + 2 * padding - kernel + 1 }
  public var outWidth: Int { width + 2 * padding - kernel + 1 }
  public var inputSize: Int { inChannels * height * width }
  public var outputSize: Int { outChannels * outHeight * outWidth }
  private var col: FloatBuffer = FloatBuffer(count: 0)
  private var colGrad: FloatBuffer = FloatBuffer(count: 0)

  public init(inChannels: Int, outChannels: Int, kernel: Int, padding: Int, height: Int, width: Int) {
    precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && padding >= 0)
    precondition(height + 2 * padding >= kernel && width + 2 * padding >= kernel, "Conv2D: kernel larger than the padded input")
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernel = kernel
    self.padding = padding
    self.height = height
    self.width = width
  }

  private var patch: Int { inChannels * kernel * kernel }

  public var parameterShapes: [(suffix: String, shape: [Int])] {
    [("weight", [outChannels, inChannels, kernel, kernel]), ("bias", [outChannels])]
  }
  public var torchDescription: String {
    "nn.Conv2d(\(inChannels), \(outChannels), kernel_size=\(kernel), padding=\(padding))"
  }

  public func prepare(maxBatch: Int) {
    let n = patch * maxBatch * outHeight * outWidth
    if col.count < n {
      col = FloatBuffer(count: n)
      colGrad = FloatBuffer(count: n)
    }
  }

  public func initialize(_ parameters: FloatView, using rng: inout Xoshiro256StarStar) {
    fillUniform(parameters, bound: 1 / Float(patch).squareRoot(), using: &rng)
  }

  public func forward(_ input: FloatView, _ output: FloatView, batch: Int, parameters: FloatView) {
    let n = batch * outHeight * outWidth
    let colView = col.view(offset: 0, count: patch * n)
    Kernels.im2col(
      input, channels: inChannels, batch: batch, height: height, width: width,
      kernel: kernel, padding: padding, into: colView)
    Kernels.fillPlanes(output, planes: outChannels, size: n, with: parameters.slice(outChannels * patch, outChannels))
    BLAS.gemm(
      m: outChannels, n: n, k: patch, a: parameters.slice(0, outChannels * patch), lda: patch,
      b: colView, ldb: n, beta: 1, c: output, ldc: n)
  }

  public func backward(
    input: FloatView, output: FloatView, outputGrad: FloatView, inputGrad: FloatView?,
    batch: Int, parameters: FloatView, parameterGrads: FloatView
  ) {
    let n = batch * outHeight * outWidth
    let nw = outChannels * patch
    let colView = col.view(offset: 0, count: patch * n)
    BLAS.gemm(
      transB: true, m: outChannels, n: patch, k: n, a: outputGrad, lda: n, b: colView, ldb: n,
      c: parameterGrads.slice(0, nw), ldc: patch)
    Kernels.sumPlanes(outputGrad, planes: outChannels, size: n, into: parameterGrads.slice(nw, outChannels))
    if let dx = inputGrad {
      let dcol = colGrad.view(offset: 0, count: patch * n)
      BLAS.gemm(
        transA: true, m: patch, n: n, k: outChannels, a: parameters.slice(0, nw), lda: patch,
        b: outputGrad, ldb: n, c: dcol, ldc: n)
      Kernels.col2im(
        dcol, channels: inChannels, batch: batch, height: height, width: width,
        kernel: kernel, padding: padding, into: dx)
    }
  }
}
