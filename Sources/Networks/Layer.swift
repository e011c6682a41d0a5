import NumericCore

/// A differentiable layer working on a batch of activations held in
/// preallocated buffers.
///
/// A layer owns no parameters: the ``Network`` hands it a view of its slice of
/// the network's single flat parameter buffer (and of the gradient buffer), so
/// copying, saving or measuring a model is one contiguous operation.
/// Layers may own scratch space sized by ``prepare(maxBatch:)``; nothing is
/// allocated in ``forward(_:_:batch:parameters:)`` or
/// ``backward(input:output:outputGrad:inputGrad:batch:parameters:parameterGrads:)``.
public protocol Layer: AnyObject {
  /// Activations per example consumed and produced.
  var inputSize: Int { get }
  var outputSize: Int { get }
  /// Parameter tensors as `(suffix, shape)` in PyTorch naming, e.g. `("weight", [out, in])`.
  var parameterShapes: [(suffix: String, shape: [Int])] { get }
  /// How many modules of the equivalent PyTorch `nn.Sequential` the layer stands for:
  /// usually 1; 0 for internal layout changes (they take no index); 2 for a fused
  /// ReLU + max-pool.
  var torchModuleCount: Int { get }
  /// The PyTorch module(s) this layer corresponds to, e.g. `nn.Linear(64, 128)`.
  var torchDescription: String { get }

  /// Allocates scratch space for batches of up to `maxBatch` examples.
  func prepare(maxBatch: Int)
  /// Draws initial parameters (PyTorch's default initialisation for the module).
  func initialize(_ parameters: FloatView, using rng: inout Xoshiro256StarStar)
  /// Computes `output` from `input` for `batch` examples.
  func forward(_ input: FloatView, _ output: FloatView, batch: Int, parameters: FloatView)
  /// Given `outputGrad` = ∂L/∂output, writes ∂L/∂parameters into `parameterGrads`
  /// (overwriting) and, when `inputGrad` is non-nil, ∂L/∂input.
  /// Must follow a `forward` on the same batch.
  func backward(
    input: FloatView, output: FloatView, outputGrad: FloatView, inputGrad: FloatView?,
    batch: Int, parameters: FloatView, parameterGrads: FloatView)
}

extension Layer {
  /// Total number of parameters.
  public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }
  public var torchModuleCount: Int { 1 }
  public var parameterShapes: [(suffix: String, shape: [Int])] { [] }
  public func prepare(maxBatch: Int) {}
  public func initialize(_ parameters: FloatView, using rng: inout Xoshiro256StarStar) {}
}

/// Fills `view` with U(−bound, bound) samples.
func fillUniform(_ view: FloatView, bound: Float, using rng: inout Xoshiro256StarStar) {
  for i in 0..<view.count { view[i] = (rng.nextUnitFloat() * 2 - 1) * bound }
}
