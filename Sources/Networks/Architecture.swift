import Foundation

/// The kind of model.
public enum ArchitectureKind: String, Codable, Sendable, CaseIterable {
  /// Multinomial logistic regression: one ``Linear`` layer.
  case softmax
  /// Multi-layer perceptron: Linear–ReLU blocks, then a Linear classifier.
  case mlp
  /// Small CNN: [Conv3×3(pad 1)–ReLU–MaxPool2] blocks, Flatten, Linear classifier.
  case cnn
}

/// A model description: enough to rebuild the network and to name its tensors
/// the way PyTorch would. Saved as `architecture.json` beside the weights.
public struct Architecture: Codable, Sendable, Equatable {
  public var kind: ArchitectureKind
  /// Input shape `[channels, height, width]`.
  public var inputShape: [Int]
  public var numClasses: Int
  /// Hidden widths of the MLP (ignored otherwise).
  public var hidden: [Int]
  /// Output channels of each CNN block (ignored otherwise).
  public var channels: [Int]
  /// Convolution kernel size (CNN).
  public var kernelSize: Int

  public init(
    kind: ArchitectureKind, inputShape: [Int], numClasses: Int, hidden: [Int] = [128, 128],
    channels: [Int] = [16, 32], kernelSize: Int = 3
  ) {
    self.kind = kind
    self.inputShape = inputShape
    self.numClasses = numClasses
    self.hidden = hidden
    self.channels = channels
    self.kernelSize = kernelSize
  }

  enum CodingKeys: String, CodingKey {
    case kind
    case inputShape = "input_shape"
    case numClasses = "num_classes"
    case hidden, channels
    case kernelSize = "kernel_size"
  }

  /// Features per example.
  public var inputSize: Int { inputShape.reduce(1, *) }

  /// Checks that the description can be built; throws with the offending field.
  public func validate() throws {
    guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
      throw NetworkError.invalidArchitecture(
        "input_shape must be [channels, height, width] with positive entries, got \(inputShape)")
    }
    guard numClasses >= 2 else {
      throw NetworkError.invalidArchitecture("num_classes must be at least 2, got \(numClasses)")
    }
    switch kind {
    case .softmax: break
    case .mlp:
      guard hidden.allSatisfy({ $0 > 0 }) else {
        throw NetworkError.invalidArchitecture("hidden widths must be positive, got \(hidden)")
      }
    case .cnn:
      guard !channels.isEmpty, channels.allSatisfy({ $0 > 0 }) else {
        throw NetworkError.invalidArchitecture(
          "cnn channels must be a non-empty list of positive counts, got \(channels)")
      }
      guard kernelSize % 2 == 1, kernelSize > 0 else {
        throw NetworkError.invalidArchitecture("kernel_size must be odd, got \(kernelSize)")
      }
      var h = inputShape[1], w = inputShape[2]
      for _ in channels {
        guard h >= 2 && w >= 2 else {
          throw NetworkError.invalidArchitecture(
            "input \(inputShape) is too small for \(channels.count) pooling blocks")
        }
        h /= 2
        w /= 2
      }
    }
    guard let count = checkedParameterCount(), count <= Self.maximumParameters else {
      let field = kind == .cnn ? "model.channels" : kind == .mlp ? "model.hidden" : "the input size"
      throw NetworkError.invalidArchitecture(
        "\(checkedParameterCount().map { "\($0) parameters" } ?? "more parameters than fit in memory") "
          + "exceed the limit of \(Self.maximumParameters) (\(Self.maximumParameters / (1 << 18)) MiB of float32 "
          + "per copy); reduce \(field)")
    }
  }

  /// The most parameters a model may have: 2^26 (256 MiB of float32 per copy; the harness keeps
  /// several copies per worker). ResNet-18 has 11.2 million.
  public static let maximumParameters = 1 << 26

  /// The number of parameters, or nil when it overflows `Int` (computed from the description
  /// with checked arithmetic, before any layer is built).
  public func checkedParameterCount() -> Int? {
    func mul(_ a: Int, _ b: Int) -> Int? {
      let (p, o) = a.multipliedReportingOverflow(by: b)
      return o ? nil : p
    }
    func add(_ a: Int, _ b: Int) -> Int? {
      let (p, o) = a.addingReportingOverflow(b)
      return o ? nil : p
    }
    /// Weights and biases of a layer from `fanIn` to `fanOut`.
    func dense(_ fanIn: Int, _ fanOut: Int) -> Int? { mul(fanIn, fanOut).flatMap { add($0, fanOut) } }
    var input: Int? = 1
    for d in inputShape { input = input.flatMap { mul($0, d) } }
    guard let input else { return nil }
    var total: Int? = 0
    switch kind {
    case .softmax: total = dense(input, numClasses)
    case .mlp:
      var width = input
      for h in hidden + [numClasses] {
        total = total.flatMap { t in dense(width, h).flatMap { add(t, $0) } }
        width = h
      }
    case .cnn:
      var cin = inputShape[0], h = inputShape[1], w = inputShape[2]
      for cout in channels {
        let kk = mul(kernelSize, kernelSize).flatMap { mul($0, cin) }
        total = total.flatMap { t in kk.flatMap { dense($0, cout) }.flatMap { add(t, $0) } }
        (cin, h, w) = (cout, h / 2, w / 2)
      }
      let flat = mul(cin, h).flatMap { mul($0, w) }
      total = total.flatMap { t in flat.flatMap { dense($0, numClasses) }.flatMap { add(t, $0) } }
    }
    return total
  }

  /// The layers, in order (including internal layout layers).
  func makeLayers() -> [any Layer] {
    let c = inputShape[0], h = inputShape[1], w = inputShape[2]
    switch kind {
    case .softmax:
      return [Linear(inputSize: inputSize, outputSize: numClasses)]
    case .mlp:
      var layers: [any Layer] = []
      var width = inputSize
      for hdn in hidden {
        layers.append(Linear(inputSize: width, outputSize: hdn))
        layers.append(ReLU(size: hdn))
        width = hdn
      }
      layers.append(Linear(inputSize: width, outputSize: numClasses))
      return layers
    case .cnn:
      var layers: [any Layer] = []
      if c > 1 { layers.append(ToChannelMajor(channels: c, planeSize: h * w)) }
      var cin = c, hh = h, ww = w
      for cout in channels {
        let conv = Conv2D(
          inChannels: cin, outChannels: cout, kernel: kernelSize, padding: kernelSize / 2, height: hh, width: ww)
        layers.append(conv)
        // nn.ReLU() then nn.MaxPool2d(2), fused: max(relu(x)) = relu(max(x)), one pass instead of two.
        layers.append(MaxPool2D(channels: cout, height: hh, width: ww, relu: true))
        cin = cout
        hh /= 2
        ww /= 2
      }
      layers.append(Flatten(channels: cin, planeSize: hh * ww))
      layers.append(Linear(inputSize: cin * hh * ww, outputSize: numClasses))
      return layers
    }
  }

  /// The name of the class that ``torchModuleSource`` defines.
  public static let torchClassName = "UnlearnModel"

  /// The equivalent PyTorch module as a complete Python class, whose `state_dict()` keys are
  /// exactly the safetensors tensor names (`layers.0.weight`, …): `exec` it with `nn` bound to
  /// `torch.nn`, instantiate ``torchClassName`` and `load_state_dict(…, strict=True)`. The MLP and
  /// softmax models take flattened `[C·H·W]` features, as the harness feeds them.
  public var torchModuleSource: String {
    let input = kind == .cnn ? "x" : "x.flatten(1)"
    return """
      class \(Self.torchClassName)(nn.Module):
          \"\"\"unlearn's \(kind.rawValue): input \(inputShape), \(numClasses) classes.\"\"\"

          def __init__(self):
              super().__init__()
              self.layers = nn.Sequential(\(torchSequential))

          def forward(self, x):
              return self.layers(\(input))

      """
  }

  /// The layers as the arguments of an `nn.Sequential` (in the harness's order).
  public var torchSequential: String {
    makeLayers().filter { $0.torchModuleCount > 0 }.map(\.torchDescription).joined(separator: ", ")
  }
}

/// Errors from building or loading networks.
public enum NetworkError: Error, CustomStringConvertible {
  case invalidArchitecture(String)
  case weightsMismatch(String)
  case invalidTraining(String)
  /// The time budget ran out (see ``Deadline``).
  case deadlineExceeded

  public var description: String {
    switch self {
    case .deadlineExceeded: "the time budget ran out"
    case .invalidArchitecture(let s): "invalid architecture: \(s)"
    case .weightsMismatch(let s): "weights do not match the architecture: \(s)"
    case .invalidTraining(let s): "invalid training configuration: \(s)"
    }
  }
}
