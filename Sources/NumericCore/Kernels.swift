import CKernels
import Foundation

/// Allocation-free numeric kernels over ``FloatView``s: the building blocks of
/// the layers in `Networks`. Every kernel documents its layout; "CBHW" means
/// channel-major activations `[channels, batch, height, width]`, which lets a
/// whole batch of convolutions run as one matrix product.
public enum Kernels {
  // MARK: Bias

  /// `Y[r, c] = b[c]`: fills every row with the bias, so that a following
  /// GEMM with β = 1 adds the product (cheaper than β = 0 plus a bias pass).
  public static func fillRows(_ y: FloatView, rows: Int, cols: Int, with b: FloatView) {
    precondition(y.count >= rows * cols && b.count >= cols)
    for r in 0..<rows { (y.pointer + r * cols).update(from: b.pointer, count: cols) }
  }

  /// `Y[c, s] = b[c]`: fills each plane with its bias (see ``fillRows(_:rows:cols:with:)``).
  public static func fillPlanes(_ y: FloatView, planes: Int, size: Int, with b: FloatView) {
    precondition(y.count >= planes * size && b.count >= planes)
    for c in 0..<planes { (y.pointer + c * size).update(repeating: b.pointer[c], count: size) }
  }

  /// `out[c, r] = x[r, c]`: the transpose of a row-major `rows × cols` matrix.
  public static func transpose(_ x: FloatView, rows: Int, cols: Int, into out: FloatView) {
    precondition(x.count >= rows * cols && out.count >= rows * cols)
    let xp = x.pointer, op = out.pointer
    for r in 0..<rows {
      for c in 0..<cols { op[c * rows + r] = xp[r * cols + c] }
    }
  }

  /// `g[c] = Σ_r Y[r, c]` (column sums of a row-major `rows × cols` matrix, each from row 0 down; in C).
  public static func sumRows(_ y: FloatView, rows: Int, cols: Int, into g: FloatView) {
    precondition(y.count >= rows * cols && g.count >= cols)
    unlearn_sum_rows(rows, cols, y.pointer, g.pointer)
  }

  /// `g[c] = Σ_s Y[c, s]` for `planes × size` (8 partial sums per plane, then combined).
  /// Four planes at a time: each plane's sums are added in the same order, but four independent
  /// chains of additions keep the adder busy where one chain would wait on its latency.
  public static func sumPlanes(_ y: FloatView, planes: Int, size: Int, into g: FloatView) {
    precondition(y.count >= planes * size && g.count >= planes)
    let yp = y.pointer
    var c = 0
    while c + 4 <= planes {
      let r0 = yp + c * size, r1 = r0 + size, r2 = r1 + size, r3 = r2 + size
      var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
      var s = 0
      while s + 8 <= size {
        a0 += UnsafeRawPointer(r0 + s).loadUnaligned(as: SIMD8<Float>.self)
        a1 += UnsafeRawPointer(r1 + s).loadUnaligned(as: SIMD8<Float>.self)
        a2 += UnsafeRawPointer(r2 + s).loadUnaligned(as: SIMD8<Float>.self)
        a3 += UnsafeRawPointer(r3 + s).loadUnaligned(as: SIMD8<Float>.self)
        s += 8
      }
      var t0 = a0.sum(), t1 = a1.sum(), t2 = a2.sum(), t3 = a3.sum()
      while s < size {
        t0 += r0[s]
        t1 += r1[s]
        t2 += r2[s]
        t3 += r3[s]
        s += 1
      }
      g.pointer[c] = t0
      g.pointer[c + 1] = t1
      g.pointer[c + 2] = t2
      g.pointer[c + 3] = t3
      c += 4
    }
    for c in c..<planes {
      let row = yp + c * size
      var acc = SIMD8<Float>()
      var s = 0
      while s + 8 <= size {
        acc += UnsafeRawPointer(row + s).loadUnaligned(as: SIMD8<Float>.self)
        s += 8
      }
      var total = acc.sum()
      while s < size {
        total += row[s]
        s += 1
      }
      g.pointer[c] = total
    }
  }

  // MARK: Activations

  /// `y = max(x, 0)` elementwise over the first `count` elements (NaN stays NaN).
  /// Branch-free (in C: 16 lanes on AVX-512): the sign pattern of activations is
  /// random, so a branch per element would mispredict half the time.
  public static func reluForward(_ x: FloatView, _ y: FloatView, count: Int) {
    unlearn_relu_forward(count, x.pointer, y.pointer)
  }

  /// `dx = dy · 1[y > 0]` over the first `count` elements (branch-free, in C: 16 lanes on AVX-512).
  public static func reluBackward(output y: FloatView, outputGrad dy: FloatView, inputGrad dx: FloatView, count: Int) {
    unlearn_relu_backward(count, y.pointer, dy.pointer, dx.pointer)
  }

  // MARK: Layout

  /// Swaps the two outer axes: `[a, b, inner] → [b, a, inner]`.
  /// Used to move between sample-major (`[B, C·H·W]`) and channel-major (CBHW) layouts.
  public static func swapOuterAxes(_ x: FloatView, _ y: FloatView, a: Int, b: Int, inner: Int) {
    precondition(x.count >= a * b * inner && y.count >= a * b * inner)
    let xp = x.pointer, yp = y.pointer
    for i in 0..<a {
      for j in 0..<b {
        (yp + (j * a + i) * inner).update(from: xp + (i * b + j) * inner, count: inner)
      }
    }
  }

  // MARK: Convolution (stride 1, square kernel, zero padding)

  /// Unfolds CBHW input patches into columns for a stride-1 convolution, for
  /// the examples `first ..< first + count` of a batch of `batch`.
  ///
  /// `col[(c·k + i)·k + j, ((b − first)·Ho + y)·Wo + x] = in[c, b, y + i − pad, x + j − pad]`
  /// (zero outside the image), with `Ho = H + 2·pad − k + 1`; each row of `col`
  /// holds `count·Ho·Wo` values.
  ///
  /// "Same" convolutions (`2·pad = k − 1`, so `Ho·Wo = H·W`) take a faster path
  /// with the same result: each (row, example) block of `col` is the input plane
  /// shifted by `s = (i − pad)·W + (j − pad)` as one contiguous copy, after which
  /// the columns the shift wrapped across a row edge are zeroed. Other shapes
  /// copy row by row.
  public static func im2col(
    _ input: FloatView, channels: Int, batch: Int, first: Int = 0, count: Int? = nil, height: Int, width: Int,
    kernel k: Int, padding pad: Int, into col: FloatView
  ) {
    let nb = count ?? batch - first
    let ho = height + 2 * pad - k + 1, wo = width + 2 * pad - k + 1
    let n = nb * ho * wo
    precondition(first >= 0 && first + nb <= batch)
    precondition(col.count >= channels * k * k * n && input.count >= channels * batch * height * width)
    if isSameConvolution(height: height, width: width, kernel: k, padding: pad) {
      im2colShifted(
        input, channels: channels, batch: batch, first: first, count: nb, height: height, width: width, kernel: k,
        padding: pad, into: col)
    } else {
      im2colByRows(
        input, channels: channels, batch: batch, first: first, count: nb, height: height, width: width, kernel: k,
        padding: pad, into: col)
    }
  }

  /// Whether the shifted-plane paths of ``im2col(_:channels:batch:first:count:height:width:kernel:padding:into:)``
  /// and ``col2im(_:channels:batch:first:count:height:width:kernel:padding:into:)`` apply:
  /// output size equals input size, and no shift crosses more than one row edge.
  static func isSameConvolution(height: Int, width: Int, kernel k: Int, padding pad: Int) -> Bool {
    2 * pad == k - 1 && pad < width && pad < height
  }

  /// The general row-by-row unfolding (any padding).
  static func im2colByRows(
    _ input: FloatView, channels: Int, batch: Int, first: Int, count nb: Int, height: Int, width: Int,
    kernel k: Int, padding pad: Int, into col: FloatView
  ) {
    let ho = height + 2 * pad - k + 1, wo = width + 2 * pad - k + 1
    let n = nb * ho * wo
    let ip = input.pointer, cp = col.pointer
    for c in 0..<channels {
      for i in 0..<k {
        for j in 0..<k {
          let rowBase = cp + ((c * k + i) * k + j) * n
          // Valid x range: 0 ≤ x + j − pad < width.
          let x0 = Swift.max(0, pad - j), x1 = Swift.min(wo, width + pad - j)
          for b in 0..<nb {
            let plane = ip + (c * batch + first + b) * height * width
            for y in 0..<ho {
              let dst = rowBase + (b * ho + y) * wo
              let iy = y + i - pad
              if iy < 0 || iy >= height || x1 <= x0 {
                dst.update(repeating: 0, count: wo)
                continue
              }
              if x0 > 0 { dst.update(repeating: 0, count: x0) }
              (dst + x0).update(from: plane + iy * width + (x0 + j - pad), count: x1 - x0)
              if x1 < wo { (dst + x1).update(repeating: 0, count: wo - x1) }
            }
          }
        }
      }
    }
  }

  /// The shifted-plane unfolding of a "same" convolution (see ``isSameConvolution(height:width:kernel:padding:)``).
  ///
  /// For kernel offset (i, j) and output index `d = y·W + x`, the source is
  /// `d + s` with `s = (i − pad)·W + (j − pad)`. Copying the whole valid range of
  /// `d + s` at once is exact except where `x + j − pad` leaves `[0, W)`: there the
  /// copy read the neighbouring row, so those columns are zeroed afterwards.
  /// Every entry whose row `y + i − pad` leaves the image is either outside the
  /// copied range or in such a column, so it ends up zero too.
  static func im2colShifted(
    _ input: FloatView, channels: Int, batch: Int, first: Int, count nb: Int, height: Int, width: Int,
    kernel k: Int, padding pad: Int, into col: FloatView
  ) {
    let hw = height * width
    let n = nb * hw
    let ip = input.pointer, cp = col.pointer
    for c in 0..<channels {
      for i in 0..<k {
        for j in 0..<k {
          let rowBase = cp + ((c * k + i) * k + j) * n
          let s = (i - pad) * width + (j - pad)
          let lo = Swift.max(0, -s), hi = Swift.min(hw, hw - s)
          for b in 0..<nb {
            let src = ip + (c * batch + first + b) * hw
            let dst = rowBase + b * hw
            if lo > 0 { dst.update(repeating: 0, count: lo) }
            (dst + lo).update(from: src + lo + s, count: hi - lo)
            if hi < hw { (dst + hi).update(repeating: 0, count: hw - hi) }
            zeroWrappedColumns(dst, height: height, width: width, shift: j - pad)
          }
        }
      }
    }
  }

  /// Zeroes, in every row of a `height × width` plane, the columns `x` where
  /// `x + shift` leaves `[0, width)`.
  @inline(__always)
  static func zeroWrappedColumns(_ plane: UnsafeMutablePointer<Float>, height: Int, width: Int, shift: Int) {
    if shift < 0 {
      for y in 0..<height {
        for x in 0..<(-shift) { plane[y * width + x] = 0 }
      }
    } else if shift > 0 {
      for y in 0..<height {
        for x in (width - shift)..<width { plane[y * width + x] = 0 }
      }
    }
  }

  /// The adjoint of ``im2col(_:channels:batch:first:count:height:width:kernel:padding:into:)``:
  /// accumulates column gradients back into the CBHW input gradient of the
  /// examples `first ..< first + count`, whose planes it zeroes first.
  ///
  /// Each input element receives its contributions in kernel order (i, j), so the
  /// result has the same bits on both paths. The "same"-convolution path adds
  /// whole shifted planes (8 floats at a time) and uses `col` as scratch: it
  /// zeroes the entries that fall outside the image before adding.
  public static func col2im(
    _ col: FloatView, channels: Int, batch: Int, first: Int = 0, count: Int? = nil, height: Int, width: Int,
    kernel k: Int, padding pad: Int, into input: FloatView
  ) {
    let nb = count ?? batch - first
    let ho = height + 2 * pad - k + 1, wo = width + 2 * pad - k + 1
    let n = nb * ho * wo
    precondition(first >= 0 && first + nb <= batch)
    precondition(col.count >= channels * k * k * n && input.count >= channels * batch * height * width)
    let ip = input.pointer
    for c in 0..<channels {
      (ip + (c * batch + first) * height * width).update(repeating: 0, count: nb * height * width)
    }
    if isSameConvolution(height: height, width: width, kernel: k, padding: pad) {
      col2imShifted(
        col, channels: channels, batch: batch, first: first, count: nb, height: height, width: width, kernel: k,
        padding: pad, into: input)
    } else {
      col2imByRows(
        col, channels: channels, batch: batch, first: first, count: nb, height: height, width: width, kernel: k,
        padding: pad, into: input)
    }
  }

  /// The general row-by-row accumulation (any padding) into zeroed planes.
  static func col2imByRows(
    _ col: FloatView, channels: Int, batch: Int, first: Int, count nb: Int, height: Int, width: Int,
    kernel k: Int, padding pad: Int, into input: FloatView
  ) {
    let ho = height + 2 * pad - k + 1, wo = width + 2 * pad - k + 1
    let n = nb * ho * wo
    let ip = input.pointer, cp = col.pointer
    for c in 0..<channels {
      for i in 0..<k {
        for j in 0..<k {
          let rowBase = cp + ((c * k + i) * k + j) * n
          let x0 = Swift.max(0, pad - j), x1 = Swift.min(wo, width + pad - j)
          if x1 <= x0 { continue }
          for b in 0..<nb {
            let plane = ip + (c * batch + first + b) * height * width
            for y in 0..<ho {
              let iy = y + i - pad
              if iy < 0 || iy >= height { continue }
              let src = rowBase + (b * ho + y) * wo + x0
              let dst = plane + iy * width + (x0 + j - pad)
              for t in 0..<(x1 - x0) { dst[t] += src[t] }
            }
          }
        }
      }
    }
  }

  /// The shifted-plane accumulation of a "same" convolution into zeroed planes:
  /// `in[d + s] += col[d]` over the valid range of `d + s`, after zeroing the
  /// wrapped columns of `col` (see ``im2colShifted(_:channels:batch:first:count:height:width:kernel:padding:into:)``).
  /// Adding those zeros leaves every sum's bits unchanged: a sum that starts at
  /// +0 is never −0, and `v + 0 = v` for every other `v`.
  static func col2imShifted(
    _ col: FloatView, channels: Int, batch: Int, first: Int, count nb: Int, height: Int, width: Int,
    kernel k: Int, padding pad: Int, into input: FloatView
  ) {
    let hw = height * width
    let n = nb * hw
    let ip = input.pointer, cp = col.pointer
    for c in 0..<channels {
      for b in 0..<nb {
        let plane = ip + (c * batch + first + b) * hw
        for i in 0..<k {
          for j in 0..<k {
            let src = cp + ((c * k + i) * k + j) * n + b * hw
            let s = (i - pad) * width + (j - pad)
            let lo = Swift.max(0, -s), hi = Swift.min(hw, hw - s)
            zeroWrappedColumns(src, height: height, width: width, shift: j - pad)
            addInPlace(plane + lo + s, src + lo, count: hi - lo)
          }
        }
      }
    }
  }

  /// `y[t] += x[t]` for `t < count`, 8 floats at a time.
  @inline(__always)
  static func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, count: Int) {
    var t = 0
    while t + 8 <= count {
      let a = UnsafeRawPointer(y + t).loadUnaligned(as: SIMD8<Float>.self)
      let b = UnsafeRawPointer(x + t).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(y + t).storeBytes(of: a + b, as: SIMD8<Float>.self)
      t += 8
    }
    while t < count {
      y[t] += x[t]
      t += 1
    }
  }

  // MARK: Pooling

  /// 2×2, stride-2 max pooling over `planes` planes of `height × width`
  /// (odd trailing rows and columns are dropped, as in PyTorch). For each output
  /// it records in `argmax` which of the four inputs won (0: top-left,
  /// 1: top-right, 2: bottom-left, 3: bottom-right; the first maximum in that
  /// order wins, as in PyTorch: b > a, d > c, then the bottom pair's winner only when it is
  /// greater). NaN inputs are not propagated. With `relu`, outputs below 0 become 0 (ReLU after
  /// the pool, in the same pass). In C, eight outputs per vector (`portable`: the baseline build,
  /// the same bits; for tests).
  public static func maxPool2Forward(
    _ x: FloatView, planes: Int, height: Int, width: Int, into y: FloatView, argmax: IndexBuffer, relu: Bool = false,
    portable: Bool = false
  ) {
    let ho = height / 2, wo = width / 2
    precondition(x.count >= planes * height * width && y.count >= planes * ho * wo && argmax.count >= planes * ho * wo)
    (portable ? unlearn_max_pool2_forward_portable : unlearn_max_pool2_forward)(
      planes, height, width, x.pointer, y.pointer, argmax.base, relu ? 1 : 0)
  }

  /// Routes each output gradient to the input recorded by ``maxPool2Forward(_:planes:height:width:into:argmax:relu:portable:)``
  /// (the input gradient is zeroed first). With `onlyWhere` (the output of a fused ReLU + pool),
  /// only outputs greater than 0 pass their gradient on. Even sizes write every window whole, in
  /// C; odd sizes zero the input gradient and scatter.
  public static func maxPool2Backward(
    outputGrad dy: FloatView, argmax: IndexBuffer, planes: Int, height: Int, width: Int, inputGrad dx: FloatView,
    onlyWhere positive: FloatView? = nil, portable: Bool = false
  ) {
    let ho = height / 2, wo = width / 2
    precondition(dy.count >= planes * ho * wo && argmax.count >= planes * ho * wo)
    precondition(dx.count >= planes * height * width && (positive?.count ?? planes * ho * wo) >= planes * ho * wo)
    let dyp = dy.pointer, dxp = dx.pointer, ap = argmax.base
    let yp = positive?.pointer
    if height % 2 == 0 && width % 2 == 0 {
      (portable ? unlearn_max_pool2_backward_even_portable : unlearn_max_pool2_backward_even)(
        planes, height, width, dyp, ap, yp, dxp)
      return
    }
    dxp.update(repeating: 0, count: planes * height * width)
    for p in 0..<planes {
      for oy in 0..<ho {
        let base = p * height * width + (2 * oy) * width
        let o = (p * ho + oy) * wo
        for ox in 0..<wo {
          if let yp, !(yp[o + ox] > 0) { continue }
          let code = Int(ap[o + ox])
          dxp[base + 2 * ox + (code & 1) + (code >> 1) * width] += dyp[o + ox]
        }
      }
    }
  }

  // MARK: Loss

  /// Softmax cross-entropy over a row-major `rows × classes` logit matrix.
  ///
  /// ```
  /// ℓ_i = −log softmax(z_i)[y_i]
  /// L   = Σ_i w_{y_i}·ℓ_i / Σ_i w_{y_i}          (w ≡ 1 without class weights)
  /// ∂L/∂z_i = w_{y_i}·(softmax(z_i) − e_{y_i}) / Σ_i w_{y_i}
  /// ```
  /// This is PyTorch's `CrossEntropyLoss(weight=w, reduction="mean")`.
  /// With `normalizer`, the sums divide by it instead of `Σ_i w_{y_i}`: the
  /// rows are then one part of a larger batch whose weight sum it is, and the
  /// part's gradient has the bits the whole batch's would have for those rows.
  /// - Returns: `L` (accumulated in double precision). Writes the gradient
  ///   into `grad` when it is given (a buffer apart from `z`: it holds each
  ///   exp(z − max) between the loss and the gradient, so each is computed once).
  @discardableResult
  public static func softmaxCrossEntropy(
    logits z: FloatView, labels: IndexBuffer, rows: Int, classes: Int,
    classWeights: [Float]? = nil, normalizer: Double? = nil, grad: FloatView?
  ) -> Double {
    precondition(z.count >= rows * classes && labels.count >= rows)
    let zp = z.pointer, gp = grad?.pointer
    var total = 0.0, weightSum = 0.0
    // Each exp once: kept in the gradient's row (when there is one) and scaled in the second pass.
    for r in 0..<rows {
      let row = zp + r * classes
      let y = Int(labels.base[r])
      precondition(y >= 0 && y < classes, "label \(y) out of range 0..<\(classes)")
      var m = row[0]
      for c in 1..<classes where row[c] > m { m = row[c] }
      var s: Float = 0
      if let gp {
        let grow = gp + r * classes
        for c in 0..<classes {
          grow[c] = expf(row[c] - m)
          s += grow[c]
        }
      } else {
        for c in 0..<classes { s += expf(row[c] - m) }
      }
      let logZ = logf(s) + m
      let w = Double(classWeights?[y] ?? 1)
      total += w * Double(logZ - row[y])
      weightSum += w
    }
    if let normalizer { weightSum = normalizer }
    guard weightSum > 0 else {
      grad?.pointer.update(repeating: 0, count: rows * classes)
      return 0
    }
    if let gp {
      for r in 0..<rows {
        let grow = gp + r * classes
        let y = Int(labels.base[r])
        var s: Float = 0
        for c in 0..<classes { s += grow[c] }
        let scale = Float(Double(classWeights?[y] ?? 1) / weightSum) / s
        for c in 0..<classes { grow[c] *= scale }
        grow[y] -= Float(Double(classWeights?[y] ?? 1) / weightSum)
      }
    }
    return total / weightSum
  }

  /// Softmax cross-entropy against soft targets t (rows of probabilities):
  /// ```
  /// L = −(1/B) Σ_i Σ_c t_ic · log softmax(z_i)_c,     ∂L/∂z_i = (softmax(z_i)·Σ_c t_ic − t_i) / B
  /// ```
  /// With one-hot targets this is ``softmaxCrossEntropy(logits:labels:rows:classes:classWeights:grad:)``;
  /// with a teacher's probabilities it is the distillation loss KL(t ‖ softmax(z)) + H(t), whose
  /// gradient is the KL's. With `batch`, the rows are one part of a batch of that many rows,
  /// which replaces `B` (as in ``softmaxCrossEntropy(logits:labels:rows:classes:classWeights:normalizer:grad:)``).
  @discardableResult
  public static func softmaxSoftCrossEntropy(
    logits z: FloatView, targets t: FloatView, rows: Int, classes: Int, batch: Int? = nil, grad: FloatView?
  ) -> Double {
    precondition(z.count >= rows * classes && t.count >= rows * classes)
    guard rows > 0 else { return 0 }
    let zp = z.pointer, tp = t.pointer
    var total = 0.0
    let b = batch ?? rows
    let inv = 1 / Float(b)
    for r in 0..<rows {
      let row = zp + r * classes, trow = tp + r * classes
      var m = row[0]
      for c in 1..<classes where row[c] > m { m = row[c] }
      var s: Float = 0
      for c in 0..<classes { s += expf(row[c] - m) }
      let logZ = logf(s) + m
      var mass: Float = 0
      for c in 0..<classes {
        total += Double(trow[c]) * Double(logZ - row[c])
        mass += trow[c]
      }
      if let g = grad {
        let grow = g.pointer + r * classes
        for c in 0..<classes { grow[c] = (expf(row[c] - m) / s * mass - trow[c]) * inv }
      }
    }
    return total / Double(b)
  }

  /// g ← g + scale·sign(θ) (the subgradient of scale·‖θ‖₁; sign(0) = 0).
  public static func addScaledSign(of theta: FloatView, scale: Float, into g: FloatView) {
    precondition(theta.count == g.count)
    let t = theta.pointer, gp = g.pointer
    for i in 0..<theta.count {
      let v = t[i]
      gp[i] += v > 0 ? scale : (v < 0 ? -scale : 0)
    }
  }

  /// a ← a + scale·x² elementwise (accumulating squared gradients).
  public static func addScaledSquare(_ x: FloatView, scale: Float, into a: FloatView) {
    precondition(x.count == a.count)
    let xp = x.pointer, ap = a.pointer
    for i in 0..<x.count { ap[i] += scale * xp[i] * xp[i] }
  }

  /// x ← x ⊙ m elementwise.
  public static func multiply(_ x: FloatView, by m: FloatView) {
    precondition(x.count == m.count)
    let xp = x.pointer, mp = m.pointer
    for i in 0..<x.count { xp[i] *= mp[i] }
  }

  // MARK: Gathering batches

  /// Copies the rows `indices` of a row-major matrix (`rowLength` per row) into `out`.
  public static func gatherRows(
    _ source: [Float], rowLength: Int, indices: ArraySlice<Int>, into out: FloatView
  ) {
    precondition(out.count >= indices.count * rowLength)
    source.withUnsafeBufferPointer { src in
      guard let sp = src.baseAddress else { return }
      var dst = out.pointer
      for i in indices {
        precondition(i >= 0 && (i + 1) * rowLength <= src.count, "gatherRows: row \(i) out of range")
        dst.update(from: sp + i * rowLength, count: rowLength)
        dst += rowLength
      }
    }
  }

  /// Copies `labels[indices]` into `out`.
  public static func gatherLabels(_ labels: [Int32], indices: ArraySlice<Int>, into out: IndexBuffer) {
    precondition(out.count >= indices.count)
    var k = 0
    for i in indices {
      out.base[k] = labels[i]
      k += 1
    }
  }

  // MARK: Optimiser updates (PyTorch semantics)

  /// SGD with momentum and L2 weight decay, as `torch.optim.SGD` (dampening 0):
  /// ```
  /// d ← g + λ·θ;   v ← μ·v + d;   θ ← θ − η·v      (v ≡ d when μ = 0)
  /// ```
  public static func sgdStep(
    parameters p: FloatView, gradients g: FloatView, velocity v: FloatView,
    learningRate lr: Float, momentum mu: Float, weightDecay wd: Float, nesterov: Bool = false
  ) {
    precondition(p.count == g.count && v.count == p.count)
    let pp = p.pointer, gp = g.pointer, vp = v.pointer
    let n = p.count
    if mu == 0 {
      for i in 0..<n { pp[i] -= lr * (gp[i] + wd * pp[i]) }
      return
    }
    // In C, sixteen lanes at a time on AVX-512 (the same operations in the same order).
    unlearn_sgd_momentum(n, pp, gp, vp, lr, mu, wd, nesterov ? 1 : 0)
  }

  /// Adam with L2 weight decay added to the gradient, as `torch.optim.Adam`:
  /// ```
  /// d ← g + λ·θ;  m ← β1·m + (1−β1)·d;  s ← β2·s + (1−β2)·d²
  /// θ ← θ − η·(m / (1−β1^t)) / (√(s / (1−β2^t)) + ε)
  /// ```
  public static func adamStep(
    parameters p: FloatView, gradients g: FloatView, firstMoment m: FloatView, secondMoment s: FloatView,
    step t: Int, learningRate lr: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay wd: Float
  ) {
    precondition(p.count == g.count && m.count == p.count && s.count == p.count && t >= 1)
    let pp = p.pointer, gp = g.pointer, mp = m.pointer, sp = s.pointer
    let bc1 = 1 - Float(pow(Double(beta1), Double(t)))
    let bc2 = 1 - Float(pow(Double(beta2), Double(t)))
    let stepSize = lr / bc1
    let bc2Sqrt = bc2.squareRoot()
    for i in 0..<p.count {
      let d = gp[i] + wd * pp[i]
      mp[i] = beta1 * mp[i] + (1 - beta1) * d
      sp[i] = beta2 * sp[i] + (1 - beta2) * d * d
      pp[i] -= stepSize * mp[i] / (sp[i].squareRoot() / bc2Sqrt + epsilon)
    }
  }
}
