import NumericCore

/// Rectified linear unit, PyTorch's `nn.ReLU`: `y = max(x, 0)`, `∂y/∂x = 1[y > 0]`
/// (the subgradient at 0 is 0, as in PyTorch).
public final class ReLU: Layer {
  public let inputSize: Int
  public var outputSize: Int { inputSize }
  public init(size: Int) { inputSize = size }
  public var torchDescription: String { "nn.ReLU()" }

  public func forward(_ input: FloatView, _ output: FloatView, batch: Int, parameters: FloatView) {
    Kernels.reluForward(input, output, count: batch * inputSize)
  }

  public func backward(
    input: FloatView, output: FloatView, outputGrad: FloatView, inputGrad: FloatView?,
    batch: Int, parameters: FloatView, parameterGrads: FloatView
  ) {
    guard let dx = inputGrad else { return }
    Kernels.reluBackward(output: output, outputGrad: outputGrad, inputGrad: dx, count: batch * inputSize)
  }
}

/// 2×2 max pooling with stride 2 over channel-major activations, PyTorch's
/// `nn.MaxPool2d(2)`: `y[c, b, i, j] = max of x[c, b, 2i…2i+1, 2j…2j+1]`; the
/// gradient flows to the (first) maximum only.
///
/// With `relu`, the layer is `nn.ReLU()` followed by `nn.MaxPool2d(2)`, fused:
/// `max(relu(x)) = relu(max(x))`, so the ReLU runs on the pooled quarter and
/// the full-size ReLU pass and its buffer disappear. The gradient is the same as
/// the two layers': it flows to the first maximum when that maximum is positive,
/// and nowhere otherwise (PyTorch's ReLU has derivative 0 at 0).
public final class MaxPool2D: Layer {
  public let channels: Int, height: Int, width: Int
  /// Whether a ReLU is fused in front of the pooling.
  public let relu: Bool
  public var inputSize: Int { channels * height * width }
  public var outputSize: Int { channels * (height / 2) * (width / 2) }
  private var argmax = IndexBuffer(count: 0)

  public init(channels: Int, height: Int, width: Int, relu: Bool = false) {
    precondition(height >= 2 && width >= 2, "MaxPool2D needs at least 2×2 inputs")
    self.channels = channels
    self.height = height
    self.width = width
    self.relu = relu
  }

  public var torchModuleCount: Int { relu ? 2 : 1 }
  public var torchDescription: String { relu ? "nn.ReLU(), nn.MaxPool2d(2)" : "nn.MaxPool2d(2)" }

  public func prepare(maxBatch: Int) {
    if argmax.count < maxBatch * outputSize { argmax = IndexBuffer(count: maxBatch * outputSize) }
  }

  public func forward(_ input: FloatView, _ output: FloatView, batch: Int, parameters: FloatView) {
    Kernels.maxPool2Forward(
      input, planes: channels * batch, height: height, width: width, into: output, argmax: argmax, relu: relu)
  }

  public func backward(
    input: FloatView, output: FloatView, outputGrad: FloatView, inputGrad: FloatView?,
    batch: Int, parameters: FloatView, parameterGrads: FloatView
  ) {
    guard let dx = inputGrad else { return }
    Kernels.maxPool2Backward(
      outputGrad: outputGrad, argmax: argmax, planes: channels * batch, height: height, width: width, inputGrad: dx,
      onlyWhere: relu ? output : nil)
  }
}

/// PyTorch's `nn.Flatten`: turns channel-major activations `[C, B, H, W]` into
/// the sample-major rows `[B, C·H·W]` (features in PyTorch's `(c, h, w)` order)
/// that a following ``Linear`` expects.
public final class Flatten: Layer {
  public let channels: Int, planeSize: Int
  public var inputSize: Int { channels * planeSize }
  public var outputSize: Int { channels * planeSize }
  public init(channels: Int, planeSize: Int) {
    self.channels = channels
    self.planeSize = planeSize
  }
  public var torchDescription: String { "nn.Flatten()" }

  public func forward(_ input: FloatView, _ output: FloatView, batch: Int, parameters: FloatView) {
    Kernels.swapOuterAxes(input, output, a: channels, b: batch, inner: planeSize)
  }

  public func backward(
    input: FloatView, output: FloatView, outputGrad: FloatView, inputGrad: FloatView?,
    batch: Int, parameters: FloatView, parameterGrads: FloatView
  ) {
    guard let dx = inputGrad else { return }
    Kernels.swapOuterAxes(outputGrad, dx, a: batch, b: channels, inner: planeSize)
  }
}

/// Internal layout change from sample-major `[B, C, H·W]` input rows to the
/// channel-major `[C, B, H·W]` that ``Conv2D`` uses. It has no PyTorch
/// counterpart (PyTorch's layout is implicit) and takes no module index.
public final class ToChannelMajor: Layer {
  public let channels: Int, planeSize: Int
  public var inputSize: Int { channels * planeSize }
  public var outputSize: Int { channels * planeSize }
  public init(channels: Int, planeSize: Int) {
    self.channels = channels
    self.planeSize = planeSize
  }
  public var torchModuleCount: Int { 0 }
  public var torchDescription: String { "" }

  public func forward(_ input: FloatView, _ output: FloatView, batch: Int, parameters: FloatView) {
    Kernels.swapOuterAxes(input, output, a: batch, b: channels, inner: planeSize)
  }

  public func backward(
    input: FloatView, output: FloatView, outputGrad: FloatView, inputGrad: FloatView?,
    batch: Int, parameters: FloatView, parameterGrads: FloatView
  ) {
    guard let dx = inputGrad else { return }
    Kernels.swapOuterAxes(outputGrad, dx, a: channels, b: batch, inner: planeSize)
  }
}
