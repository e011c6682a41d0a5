import Foundation
import NumericCore

/// A snapshot of a model: its architecture and all parameters in one flat
/// vector (PyTorch tensor order). A value type, so it crosses job boundaries
/// and is cheap to copy, compare and measure.
public struct ModelWeights: Sendable, Equatable, Codable {
  public var architecture: Architecture
  public var parameters: [Float]

  public init(architecture: Architecture, parameters: [Float]) {
    self.architecture = architecture
    self.parameters = parameters
  }

  /// ‖θ − θ'‖₂ over all parameters (accumulated in double precision).
  public func distance(to other: ModelWeights) -> Double {
    precondition(parameters.count == other.parameters.count, "distance: different architectures")
    var s = 0.0
    for i in 0..<parameters.count {
      let d = Double(parameters[i]) - Double(other.parameters[i])
      s += d * d
    }
    return s.squareRoot()
  }

  /// True when every parameter is finite.
  public var allFinite: Bool { parameters.allSatisfy(\.isFinite) }
}

/// Examples with labels: features `[N, D]` (row-major) and `N` labels.
public struct LabeledExamples: Sendable, Equatable {
  public var features: Tensor
  public var labels: [Int32]

  public init(features: Tensor, labels: [Int32]) {
    precondition(features.rows == labels.count, "LabeledExamples: \(features.rows) rows but \(labels.count) labels")
    self.features = features
    self.labels = labels
  }

  public var count: Int { labels.count }

  /// The examples at `indices`, in that order.
  public func subset(_ indices: [Int]) -> LabeledExamples {
    LabeledExamples(features: features.gatherRows(indices), labels: indices.map { labels[$0] })
  }

  /// Concatenation of two sets with the same feature width.
  public func appending(_ other: LabeledExamples) -> LabeledExamples {
    precondition(features.rowLength == other.features.rowLength || count == 0 || other.count == 0)
    var shape = count > 0 ? features.shape : other.features.shape
    shape[0] = count + other.count
    return LabeledExamples(
      features: Tensor(shape: shape, scalars: features.scalars + other.features.scalars),
      labels: labels + other.labels)
  }
}

/// A feed-forward network whose parameters and gradients each live in one
/// flat buffer, with activation buffers preallocated for a maximum batch.
///
/// One `Network` belongs to one job (it is not thread-safe); pass
/// ``ModelWeights`` between jobs.
public final class Network {
  public let architecture: Architecture
  /// All parameters, in PyTorch tensor order.
  public let parameters: FloatBuffer
  /// ∂L/∂parameters after ``computeGradients(_:indices:classWeights:)``.
  public let gradients: FloatBuffer
  /// The largest batch the activation buffers hold.
  public let maxBatch: Int

  let layers: [any Layer]
  let offsets: [Int]
  /// Each layer's parameter count (computed once: `Layer.parameterCount` builds its shape list).
  let counts: [Int]
  private let activations: [FloatBuffer]
  private let activationGrads: [FloatBuffer]
  private let labelBuffer: IndexBuffer
  private var targetBuffer = FloatBuffer(count: 0)
  /// The running sum of parameter gradients over the passes of a batch.
  private let gradientSum: FloatBuffer
  /// Examples per forward/backward pass of a training batch.
  ///
  /// A batch of B examples is run in passes of at most this many whose
  /// parameter gradients are summed. The loss gradient of each pass is divided
  /// by the whole batch's weight, so the sum is the batch's gradient; only the
  /// order of float additions differs. Each pass's activations (largest layer
  /// output × examples) then fit in about ``activationBudget`` floats, a core's
  /// L2 cache, instead of streaming through memory between layers: on the 28×28
  /// CNN this makes a batch of 64 run as eight passes of 8. Networks with small
  /// activations (the MLP, the 8×8 CNN) run each batch in one pass.
  public let microBatch: Int
  /// Floats of the largest layer output of one pass (128 Ki floats = 512 KiB).
  public static let activationBudget = 128 * 1024

  /// Builds a network with all parameters zero (see ``initialize(seed:)``).
  /// `microBatch` overrides the examples per pass (default: from ``activationBudget``).
  public init(architecture: Architecture, maxBatch: Int = 256, microBatch: Int? = nil) throws {
    try architecture.validate()
    precondition(maxBatch > 0 && (microBatch ?? 1) > 0)
    self.architecture = architecture
    self.maxBatch = maxBatch
    layers = architecture.makeLayers()
    var offs = [Int]()
    var total = 0
    for l in layers {
      offs.append(total)
      total += l.parameterCount
      l.prepare(maxBatch: maxBatch)
    }
    offsets = offs
    counts = layers.map(\.parameterCount)
    parameters = FloatBuffer(count: total)
    gradients = FloatBuffer(count: total)
    var acts = [FloatBuffer(count: maxBatch * architecture.inputSize)]
    var grads = [FloatBuffer(count: maxBatch * architecture.inputSize)]
    for l in layers {
      acts.append(FloatBuffer(count: maxBatch * l.outputSize))
      grads.append(FloatBuffer(count: maxBatch * l.outputSize))
    }
    activations = acts
    activationGrads = grads
    labelBuffer = IndexBuffer(count: maxBatch)
    gradientSum = FloatBuffer(count: total)
    self.microBatch = microBatch ?? Self.microBatch(largestOutput: layers.map(\.outputSize).max() ?? 1)
  }

  /// The largest power of two `m` with `m · largestOutput ≤ activationBudget` (at least 1).
  static func microBatch(largestOutput: Int) -> Int {
    var m = 1
    while 2 * m * largestOutput <= activationBudget { m *= 2 }
    return m
  }

  /// Builds a network from a snapshot.
  public convenience init(weights: ModelWeights, maxBatch: Int = 256) throws {
    try self.init(architecture: weights.architecture, maxBatch: maxBatch)
    try load(weights)
  }

  /// Number of parameters.
  public var parameterCount: Int { parameters.count }

  /// Draws fresh parameters, layer by layer, from a generator seeded with `seed`
  /// (PyTorch's default initialisation for each module).
  public func initialize(seed: UInt64) {
    var rng = Xoshiro256StarStar(seed: seed)
    for (i, l) in layers.enumerated() where counts[i] > 0 {
      l.initialize(parameters.view(offset: offsets[i], count: counts[i]), using: &rng)
    }
  }

  /// A snapshot of the current parameters.
  public var weights: ModelWeights { ModelWeights(architecture: architecture, parameters: parameters.array) }

  /// Replaces the parameters with `weights` (same architecture).
  public func load(_ weights: ModelWeights) throws {
    guard weights.architecture == architecture else {
      throw NetworkError.weightsMismatch("architecture \(weights.architecture) differs from \(architecture)")
    }
    guard weights.parameters.count == parameters.count else {
      throw NetworkError.weightsMismatch("\(weights.parameters.count) parameters, expected \(parameters.count)")
    }
    parameters.copy(from: weights.parameters)
  }

  /// A new network with the same architecture and a copy of the parameters.
  public func copy() -> Network {
    // The architecture was validated when this network was built.
    let net = try! Network(architecture: architecture, maxBatch: maxBatch, microBatch: microBatch)
    net.parameters.copy(from: parameters)
    return net
  }

  // MARK: Forward and backward

  /// Runs layer `i` forward on `batch` examples.
  private func forwardLayer(_ i: Int, batch: Int) {
    let l = layers[i]
    l.forward(
      activations[i].view(offset: 0, count: batch * l.inputSize),
      activations[i + 1].view(offset: 0, count: batch * l.outputSize),
      batch: batch, parameters: parameters.view(offset: offsets[i], count: counts[i]))
  }

  /// Runs layer `i` backward on `batch` examples (no input gradient for the first layer).
  private func backwardLayer(_ i: Int, batch: Int) {
    let l = layers[i]
    l.backward(
      input: activations[i].view(offset: 0, count: batch * l.inputSize),
      output: activations[i + 1].view(offset: 0, count: batch * l.outputSize),
      outputGrad: activationGrads[i + 1].view(offset: 0, count: batch * l.outputSize),
      inputGrad: i == 0 ? nil : activationGrads[i].view(offset: 0, count: batch * l.inputSize),
      batch: batch,
      parameters: parameters.view(offset: offsets[i], count: counts[i]),
      parameterGrads: gradients.view(offset: offsets[i], count: counts[i]))
  }

  /// Runs the network on `batch` rows already placed in the input buffer.
  private func forwardLoaded(batch: Int) -> FloatView {
    for i in layers.indices { forwardLayer(i, batch: batch) }
    return activations[layers.count].view(offset: 0, count: batch * architecture.numClasses)
  }

  /// Loads the rows `indices` of `examples` into the input and label buffers.
  private func load(_ examples: LabeledExamples, indices: ArraySlice<Int>) {
    precondition(indices.count <= maxBatch, "batch of \(indices.count) exceeds maxBatch \(maxBatch)")
    let d = architecture.inputSize
    precondition(
      examples.features.rowLength == d,
      "examples have \(examples.features.rowLength) features, the network expects \(d)")
    Kernels.gatherRows(
      examples.features.scalars, rowLength: d, indices: indices,
      into: activations[0].view(offset: 0, count: indices.count * d))
    Kernels.gatherLabels(examples.labels, indices: indices, into: labelBuffer)
  }

  /// Computes the mean (optionally class-weighted) cross-entropy of the
  /// examples at `indices` and writes its gradient into ``gradients``.
  ///
  /// A batch larger than ``microBatch`` is run in passes of that many examples
  /// whose parameter gradients are summed (see ``microBatch``); the loss and its
  /// gradient are still those of the whole batch.
  /// - Returns: the loss.
  @discardableResult
  public func computeGradients(_ examples: LabeledExamples, indices: ArraySlice<Int>, classWeights: [Float]? = nil)
    -> Double
  {
    let k = architecture.numClasses
    var normalizer: Double? = nil
    if indices.count > microBatch {
      normalizer =
        classWeights.map { w in indices.reduce(0.0) { $0 + Double(w[Int(examples.labels[$1])]) } }
        ?? Double(indices.count)
    }
    return accumulateGradients(over: indices) { part in
      self.load(examples, indices: part)
      let logits = self.forwardLoaded(batch: part.count)
      return Kernels.softmaxCrossEntropy(
        logits: logits, labels: self.labelBuffer, rows: part.count, classes: k, classWeights: classWeights,
        normalizer: normalizer, grad: self.activationGrads[self.layers.count].view(offset: 0, count: part.count * k))
    }
  }

  /// Like ``computeGradients(_:indices:classWeights:)`` with soft targets:
  /// `targets` holds one row of class probabilities per example of `examples`
  /// (a teacher's softmax, or a mixture with one-hot labels); the loss is
  /// ``Kernels/softmaxSoftCrossEntropy(logits:targets:rows:classes:batch:grad:)``.
  @discardableResult
  public func computeGradients(_ examples: LabeledExamples, softTargets targets: Tensor, indices: ArraySlice<Int>)
    -> Double
  {
    let k = architecture.numClasses
    precondition(targets.rows == examples.count && targets.rowLength == k, "soft targets must be [examples, classes]")
    if targetBuffer.count < maxBatch * k { targetBuffer = FloatBuffer(count: maxBatch * k) }
    let batch = indices.count
    return accumulateGradients(over: indices) { part in
      self.load(examples, indices: part)
      Kernels.gatherRows(
        targets.scalars, rowLength: k, indices: part, into: self.targetBuffer.view(offset: 0, count: part.count * k))
      let logits = self.forwardLoaded(batch: part.count)
      return Kernels.softmaxSoftCrossEntropy(
        logits: logits, targets: self.targetBuffer.view(offset: 0, count: part.count * k), rows: part.count, classes: k,
        batch: batch, grad: self.activationGrads[self.layers.count].view(offset: 0, count: part.count * k))
    }
  }

  /// Runs `pass` (load, forward, loss gradient for the logits) and the backward
  /// pass on `indices` at once, or on consecutive parts of ``microBatch``
  /// examples whose parameter gradients are summed in order; each `pass`
  /// returns its share of the loss.
  private func accumulateGradients(over indices: ArraySlice<Int>, _ pass: (ArraySlice<Int>) -> Double) -> Double {
    precondition(indices.count <= maxBatch, "batch of \(indices.count) exceeds maxBatch \(maxBatch)")
    guard indices.count > microBatch else {
      let loss = pass(indices)
      backward(batch: indices.count)
      return loss
    }
    var loss = 0.0
    var start = indices.startIndex
    while start < indices.endIndex {
      let end = Swift.min(start + microBatch, indices.endIndex)
      loss += pass(indices[start..<end])
      backward(batch: end - start)
      if start == indices.startIndex {
        gradientSum.copy(from: gradients)
      } else {
        BLAS.axpy(1, gradients.view, gradientSum.view)
      }
      start = end
    }
    gradients.copy(from: gradientSum)
    return loss
  }

  /// The mean cross-entropy of all of `examples` and its gradient, accumulated
  /// over blocks of ``maxBatch`` rows, written into ``gradients``.
  /// - Returns: the mean loss.
  @discardableResult
  public func computeFullGradient(_ examples: LabeledExamples, classWeights: [Float]? = nil) -> Double {
    let n = examples.count
    guard n > 0 else {
      gradients.fill(0)
      return 0
    }
    if n <= maxBatch { return computeGradients(examples, indices: (0..<n).map { $0 }[...], classWeights: classWeights) }
    precondition(classWeights == nil, "computeFullGradient: class weights need one block")
    let total = FloatBuffer(count: parameterCount)
    var loss = 0.0
    var start = 0
    while start < n {
      let end = Swift.min(start + maxBatch, n)
      let w = Float(end - start) / Float(n)
      loss += Double(w) * computeGradients(examples, indices: (start..<end).map { $0 }[...])
      BLAS.axpy(w, gradients.view, total.view)
      start = end
    }
    gradients.copy(from: total)
    return loss
  }

  /// Back-propagates from the gradient already stored for the logits.
  private func backward(batch: Int) {
    for i in layers.indices.reversed() { backwardLayer(i, batch: batch) }
  }

  /// Seconds spent in each layer's forward and backward over `repetitions`
  /// training steps on the first `batch` examples (a profiling aid for `make bench`).
  public func layerTimings(_ examples: LabeledExamples, batch: Int, repetitions: Int) -> [(
    layer: String, forward: Double, backward: Double
  )] {
    let idx = Array(0..<batch)[...]
    load(examples, indices: idx)
    var fwd = [Double](repeating: 0, count: layers.count), bwd = fwd
    for _ in 0..<repetitions {
      for i in layers.indices {
        let t0 = DispatchTime.now().uptimeNanoseconds
        forwardLayer(i, batch: batch)
        fwd[i] += Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
      }
      for i in layers.indices.reversed() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        backwardLayer(i, batch: batch)
        bwd[i] += Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
      }
    }
    return layers.indices.map { (String(describing: type(of: layers[$0])), fwd[$0], bwd[$0]) }
  }

  /// Mean cross-entropy of `examples` (no gradient).
  public func loss(_ examples: LabeledExamples, classWeights: [Float]? = nil) -> Double {
    var total = 0.0, weight = 0.0
    var start = 0
    while start < examples.count {
      let end = Swift.min(start + maxBatch, examples.count)
      let idx = Array(start..<end)
      load(examples, indices: idx[...])
      let logits = forwardLoaded(batch: idx.count)
      let w =
        classWeights.map { cw in idx.reduce(0.0) { $0 + Double(cw[Int(examples.labels[$1])]) } } ?? Double(idx.count)
      total +=
        w
        * Kernels.softmaxCrossEntropy(
          logits: logits, labels: labelBuffer, rows: idx.count, classes: architecture.numClasses,
          classWeights: classWeights, grad: nil)
      weight += w
      start = end
    }
    return weight > 0 ? total / weight : 0
  }

  /// Logits `[N, classes]` for the rows of `features` `[N, D]`.
  public func logits(_ features: Tensor) -> Tensor {
    let n = features.rows, d = architecture.inputSize, k = architecture.numClasses
    precondition(
      features.rowLength == d || n == 0, "features have \(features.rowLength) columns, the network expects \(d)")
    var out = [Float](repeating: 0, count: n * k)
    var start = 0
    while start < n {
      let end = Swift.min(start + maxBatch, n)
      Kernels.gatherRows(
        features.scalars, rowLength: d, indices: (start..<end).map { $0 }[...],
        into: activations[0].view(offset: 0, count: (end - start) * d))
      let logits = forwardLoaded(batch: end - start)
      for i in 0..<((end - start) * k) { out[start * k + i] = logits[i] }
      start = end
    }
    return Tensor(shape: [n, k], scalars: out)
  }

  /// Fraction of `examples` whose arg-max logit equals the label (first maximum wins).
  public func accuracy(_ examples: LabeledExamples) -> Double {
    guard examples.count > 0 else { return .nan }
    let z = logits(examples.features)
    return Self.accuracy(logits: z, labels: examples.labels)
  }

  /// Fraction of rows of `logits` whose arg-max equals the label.
  public static func accuracy(logits z: Tensor, labels: [Int32]) -> Double {
    let k = z.rowLength
    precondition(
      labels.isEmpty || (k > 0 && labels.count * k <= z.scalars.count),
      "\(labels.count) labels for \(z.scalars.count / Swift.max(k, 1)) rows of \(k) logits")
    var correct = 0
    z.scalars.withUnsafeBufferPointer { p in
      for i in 0..<labels.count {
        // The first largest logit (a later one wins only when greater), kept in a register.
        let row = p.baseAddress! + i * k
        var best = 0, top = row[0]
        for c in 1..<k where row[c] > top {
          best = c
          top = row[c]
        }
        if best == Int(labels[i]) { correct += 1 }
      }
    }
    return labels.isEmpty ? .nan : Double(correct) / Double(labels.count)
  }

  // MARK: PyTorch naming

  /// The parameter tensors with PyTorch names (`layers.<i>.weight`, ...) and shapes.
  public var namedTensors: [Safetensors.Entry] {
    var out = [Safetensors.Entry]()
    var torchIndex = 0
    for (i, l) in layers.enumerated() {
      guard l.torchModuleCount > 0 else { continue }
      var off = offsets[i]
      for (suffix, shape) in l.parameterShapes {
        let n = shape.reduce(1, *)
        out.append(
          .init(
            name: "layers.\(torchIndex).\(suffix)",
            tensor: Tensor(shape: shape, scalars: parameters.view(offset: off, count: n).array)))
        off += n
      }
      torchIndex += l.torchModuleCount
    }
    return out
  }

  /// The expected PyTorch names and shapes, in order.
  public var tensorSpecs: [(name: String, shape: [Int])] { namedTensors.map { ($0.name, $0.tensor.shape) } }

  /// Loads parameters from named tensors (e.g. a safetensors file), checking
  /// that every expected tensor is present with the right shape and finite
  /// values and that there are no extra tensors.
  public func load(namedTensors entries: [Safetensors.Entry], source: String) throws {
    var byName = [String: Tensor]()
    for e in entries { byName[e.name] = e.tensor }
    var flat = [Float]()
    flat.reserveCapacity(parameters.count)
    let specs = tensorSpecs
    for (name, shape) in specs {
      guard let t = byName[name] else {
        throw NetworkError.weightsMismatch("\(source): missing tensor '\(name)' (shape \(shape))")
      }
      guard t.shape == shape else {
        throw NetworkError.weightsMismatch("\(source): tensor '\(name)' has shape \(t.shape), expected \(shape)")
      }
      guard t.scalars.allSatisfy(\.isFinite) else {
        throw NetworkError.weightsMismatch("\(source): tensor '\(name)' contains NaN or infinite values")
      }
      flat.append(contentsOf: t.scalars)
    }
    let extra = Set(byName.keys).subtracting(specs.map(\.name))
    guard extra.isEmpty else { throw NetworkError.weightsMismatch("\(source): unexpected tensors \(extra.sorted())") }
    parameters.copy(from: flat)
  }
}
