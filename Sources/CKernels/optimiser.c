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
