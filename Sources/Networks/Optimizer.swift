import Foundation
import NumericCore

/// Updates a network's parameters from its stored gradients.
public protocol Optimizer: AnyObject {
  /// Applies one update with learning rate `learningRate`.
  func step(_ network: Network, learningRate: Float)
}

/// Stochastic gradient descent with momentum and L2 weight decay,
/// PyTorch's `torch.optim.SGD` (dampening 0):
/// ```
/// d ← ∇L + λ·θ;   v ← μ·v + d;   θ ← θ − η·v
/// ```
public final class SGD: Optimizer {
  public let momentum: Float
  public let weightDecay: Float
  public let nesterov: Bool
  private var velocity: FloatBuffer?

  /// - Parameters:
  ///   - momentum: μ ∈ [0, 1), default 0.9.
  ///   - weightDecay: λ ≥ 0, default 0.
  public init(momentum: Float = 0.9, weightDecay: Float = 0, nesterov: Bool = false) {
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.nesterov = nesterov
  }

  public func step(_ network: Network, learningRate: Float) {
    if velocity == nil { velocity = FloatBuffer(count: network.parameterCount) }
    Kernels.sgdStep(
      parameters: network.parameters.view, gradients: network.gradients.view, velocity: velocity!.view,
      learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
  }
}

/// Adam (Kingma & Ba, ICLR 2015) with L2 weight decay added to the gradient,
/// PyTorch's `torch.optim.Adam`:
/// ```
/// d ← ∇L + λ·θ;  m ← β1·m + (1−β1)·d;  s ← β2·s + (1−β2)·d²
/// θ ← θ − η·m̂ / (√ŝ + ε),  m̂ = m/(1−β1ᵗ),  ŝ = s/(1−β2ᵗ)
/// ```
public final class Adam: Optimizer {
  public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
  private var m: FloatBuffer?
  private var s: FloatBuffer?
  private var t = 0

  /// Defaults are PyTorch's: β1 = 0.9, β2 = 0.999, ε = 1e-8, λ = 0.
  public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
  }

  public func step(_ network: Network, learningRate: Float) {
    if m == nil {
      m = FloatBuffer(count: network.parameterCount)
      s = FloatBuffer(count: network.parameterCount)
    }
    t += 1
    Kernels.adamStep(
      parameters: network.parameters.view, gradients: network.gradients.view, firstMoment: m!.view,
      secondMoment: s!.view, step: t, learningRate: learningRate, beta1: beta1, beta2: beta2,
      epsilon: epsilon, weightDecay: weightDecay)
  }
}

/// A learning-rate schedule over epochs.
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
  /// η_e = η₀.
  case constant
  /// Cosine annealing to 0 over the run, PyTorch's `CosineAnnealingLR(T_max = epochs)`
  /// stepped once per epoch: η_e = η₀·(1 + cos(π·e/E))/2.
  case cosine

  /// The learning rate for epoch `epoch` (0-based) of `epochs`.
  public func rate(base: Float, epoch: Int, epochs: Int) -> Float {
    switch self {
    case .constant: return base
    case .cosine:
      guard epochs > 0 else { return base }
      return Float(Double(base) * (1 + cos(Double.pi * Double(epoch) / Double(epochs))) / 2)
    }
  }
}
