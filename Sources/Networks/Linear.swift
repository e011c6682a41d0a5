import Foundation
import NumericCore

/// A fully connected layer, PyTorch's `nn.Linear`.
///
/// ```
/// Y = X·Wᵀ + b        X: [batch, in], W: [out, in], b: [out], Y: [batch, out]
/// ∂L/∂W = (∂L/∂Y)ᵀ·X,  ∂L/∂b = Σ_rows ∂L/∂Y,  ∂L/∂X = (∂L/∂Y)·W
/// ```
/// Initialisation as PyTorch: W and b ~ U(−1/√in, 1/√in) (Kaiming-uniform with a = √5).
public final class Linear: Layer {
  public let inputSize: Int
  public let outputSize: Int

  public init(inputSize: Int, outputSize: Int) {
    precondition(inputSize > 0 && outputSize > 0)
    self.inputSize = inputSize
    self.outputSize = outputSize
  }

  public var parameterShapes: [(suffix: String, shape: [Int])] {
    [("weight", [outputSize, inputSize]), ("bias", [outputSize])]
  }
  public var torchDescription: String { "nn.Linear(\(inputSize), \(outputSize))" }

  public func initialize(_ parameters: FloatView, using rng: inout Xoshiro256StarStar) {
    let bound = 1 / Float(inputSize).squareRoot()
    fillUniform(parameters, bound: bound, using: &rng)
  }

  public func forward(_ input: FloatView, _ output: FloatView, batch: Int, parameters: FloatView) {
    let w = parameters.slice(0, outputSize * inputSize)
    let b = parameters.slice(outputSize * inputSize, outputSize)
    Kernels.fillRows(output, rows: batch, cols: outputSize, with: b)
    BLAS.gemm(
      transB: true, m: batch, n: outputSize, k: inputSize,
      a: input, lda: inputSize, b: w, ldb: inputSize, beta: 1, c: output, ldc: outputSize)
  }

  public func backward(
    input: FloatView, output: FloatView, outputGrad: FloatView, inputGrad: FloatView?,
    batch: Int, parameters: FloatView, parameterGrads: FloatView
  ) {
    let nw = outputSize * inputSize
    BLAS.gemm(
      transA: true, m: outputSize, n: inputSize, k: batch,
      a: outputGrad, lda: outputSize, b: input, ldb: inputSize, c: parameterGrads.slice(0, nw), ldc: inputSize)
    Kernels.sumRows(outputGrad, rows: batch, cols: outputSize, into: parameterGrads.slice(nw, outputSize))
    if let dx = inputGrad {
      BLAS.gemm(
        m: batch, n: inputSize, k: outputSize,
        a: outputGrad, lda: outputSize, b: parameters.slice(0, nw), ldb: inputSize, c: dx, ldc: inputSize)
    }
  }
}
