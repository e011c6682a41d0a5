// SGD with momentum over a model's flat parameters, sixteen floats per vector (AVX-512 on the
// machines that have it). The same operations in the same order as the scalar formula, without
// contraction, so every build gives the bits of `Kernels.sgdStep`'s scalar loop.
#include "lanes.h"

ALWAYS_INLINE void sgd_momentum(size_t n, float *p, const float *g, float *v, float lr, float mu, float wd,
                                int nesterov) {
  size_t i = 0;
  if (nesterov) {
    for (; i + 16 <= n; i += 16) {
      const v16f pv = *(const v16f *)(p + i);
      const v16f d = *(const v16f *)(g + i) + wd * pv;
      const v16f vi = mu * *(const v16f *)(v + i) + d;
      *(v16f *)(v + i) = vi;
      *(v16f *)(p + i) = pv - lr * (d + mu * vi);
    }
  } else {
    for (; i + 16 <= n; i += 16) {
      const v16f pv = *(const v16f *)(p + i);
      const v16f d = *(const v16f *)(g + i) + wd * pv;
      const v16f vi = mu * *(const v16f *)(v + i) + d;
      *(v16f *)(v + i) = vi;
      *(v16f *)(p + i) = pv - lr * vi;
    }
  }
  for (; i < n; i++) {
    const float d = g[i] + wd * p[i];
    const float vi = mu * v[i] + d;
    v[i] = vi;
    p[i] = p[i] - lr * (nesterov ? d + mu * vi : vi);
  }
}

UNLEARN_VARIANTS(sgd_momentum,
                 (size_t n, float *p, const float *g, float *v, float lr, float mu, float wd, int nesterov),
                 (n, p, g, v, lr, mu, wd, nesterov))

// The layers' elementwise passes, sixteen floats per vector; each lane is the scalar formula.

ALWAYS_INLINE void relu_forward(size_t n, const float *x, float *y) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const v16f v = *(const v16f *)(x + i);
    const v16i negative = v < 0;
    *(v16f *)(y + i) = (v16f)((v16i)v & ~negative);
  }
  for (; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i];
}

ALWAYS_INLINE void relu_backward(size_t n, const float *y, const float *dy, float *dx) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const v16i positive = *(const v16f *)(y + i) > 0;
    *(v16f *)(dx + i) = (v16f)((v16i) * (const v16f *)(dy + i) & positive);
  }
  for (; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

ALWAYS_INLINE void sum_rows(size_t rows, size_t cols, const float *y, float *g) {
  size_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    v16f s = {0};
    for (size_t r = 0; r < rows; r++) s += *(const v16f *)(y + r * cols + c);
    *(v16f *)(g + c) = s;
  }
  for (; c < cols; c++) {
    float s = 0;
    for (size_t r = 0; r < rows; r++) s += y[r * cols + c];
    g[c] = s;
  }
}

UNLEARN_VARIANTS(relu_forward, (size_t n, const float *x, float *y), (n, x, y))
UNLEARN_VARIANTS(relu_backward, (size_t n, const float *y, const float *dy, float *dx), (n, y, dy, dx))
UNLEARN_VARIANTS(sum_rows, (size_t rows, size_t cols, const float *y, float *g), (rows, cols, y, g))
