// The RBF support vector classifier's inner loops: kernel values, decision values, and SMO's
// working-set selection and gradient update, eight lanes at a time.
//
// Each body is compiled three times (lanes.h); reductions across lanes run in one fixed order, so
// every build gives the same bits. Arrays are padded to whole vectors by the caller.
#include <math.h>

#include "lanes.h"

#define W UNLEARN_LANES

// exp(x) lane by lane (see kernels.h for its accuracy). x = n ln2 + r, |r| ≤ ½ ln2 (Cody & Waite:
// ln2 in two parts, the first with 32 trailing zero bits so that n·ln2hi is exact); e^r by its
// Taylor polynomial of degree 13 (remainder < 4e-18 on that interval); 2^n from its exponent bits.
ALWAYS_INLINE void exp_lanes(const double *in, double *out) {
  const v8d x = *(const v8d *)in;
  const v8l inRange = (x >= -708.0) & (x <= 709.0);  // false for NaN
  const v8d xc = SELECT(inRange, x, (v8d){0});
  const v8d n = (xc * 1.4426950408889634 + 0x1.8p52) - 0x1.8p52;  // round to nearest
  const v8d r = FMA(n, (v8d){0} - 1.90821492927058770002e-10, FMA(n, (v8d){0} - 6.93147180369123816490e-01, xc));
  v8d p = (v8d){0} + 1.0 / 6227020800.0;  // 1/13!
  p = FMA(p, r, (v8d){0} + 1.0 / 479001600.0);
  p = FMA(p, r, (v8d){0} + 1.0 / 39916800.0);
  p = FMA(p, r, (v8d){0} + 1.0 / 3628800.0);
  p = FMA(p, r, (v8d){0} + 1.0 / 362880.0);
  p = FMA(p, r, (v8d){0} + 1.0 / 40320.0);
  p = FMA(p, r, (v8d){0} + 1.0 / 5040.0);
  p = FMA(p, r, (v8d){0} + 1.0 / 720.0);
  p = FMA(p, r, (v8d){0} + 1.0 / 120.0);
  p = FMA(p, r, (v8d){0} + 1.0 / 24.0);
  p = FMA(p, r, (v8d){0} + 1.0 / 6.0);
  p = FMA(p, r, (v8d){0} + 0.5);
  p = FMA(p, r, (v8d){0} + 1.0);
  p = FMA(p, r, (v8d){0} + 1.0);
  const v8l bits = (__builtin_convertvector(n, v8l) + 1023) << 52;
  const v8d scaled = p * (v8d)bits;
  // Below −708: 0 (e^x < 3.4e−308); above 709: +∞; NaN stays NaN.
  const v8d outside = SELECT(x < 0, (v8d){0}, (v8d){0} + INFINITY);
  *(v8d *)out = SELECT(inRange, scaled, SELECT(x == x, outside, x));
}

ALWAYS_INLINE void exp_array(size_t n, const double *x, double *out) {
  size_t i = 0;
  for (; i + W <= n; i += W) exp_lanes(x + i, out + i);
  if (i < n) {
    double in[W] = {0}, result[W];
    for (size_t l = 0; i + l < n; l++) in[l] = x[i + l];
    exp_lanes(in, result);
    for (size_t l = 0; i + l < n; l++) out[i + l] = result[l];
  }
}

// The whole matrix, each 8 × 8 block above the diagonal computed once and mirrored below it:
// K(x_i, x_j) and K(x_j, x_i) are the same bits ((a − b)² = (b − a)² in IEEE arithmetic).
ALWAYS_INLINE void rbf_matrix(size_t n, size_t stride, size_t dim, const double *xt, double gamma, double *k) {
  double block[W * W];
  for (size_t bi = 0; bi < n; bi += W) {
    for (size_t bj = bi; bj < stride; bj += W) {
      for (size_t r = 0; r < W; r++) {
        v8d d = {0};
        for (size_t t = 0; t < dim; t++) {
          const v8d diff = *(const v8d *)(xt + t * stride + bj) - xt[t * stride + bi + r];
          d += diff * diff;
        }
        const v8d arg = -gamma * d;
        exp_lanes((const double *)&arg, block + r * W);
      }
      for (size_t r = 0; r < W && bi + r < n; r++) {
        for (size_t c = 0; c < W; c++) k[(bi + r) * stride + bj + c] = block[r * W + c];
      }
      if (bj == bi) continue;
      for (size_t c = 0; c < W && bj + c < n; c++) {
        for (size_t r = 0; r < W; r++) k[(bj + c) * stride + bi + r] = block[r * W + c];
      }
    }
  }
}

ALWAYS_INLINE void rbf_decisions(size_t m, size_t dim, const double *svt, const double *coef, double gamma,
                                 size_t queries, const double *z, double *out) {
  for (size_t q = 0; q < queries; q++) {
    v8d sum = {0};
    for (size_t i = 0; i < m; i += W) {
      v8d d = {0};
      for (size_t t = 0; t < dim; t++) {
        const v8d diff = *(const v8d *)(svt + t * m + i) - z[q * dim + t];
        d += diff * diff;
      }
      const v8d arg = -gamma * d;
      v8d e;
      exp_lanes((const double *)&arg, (double *)&e);
      sum += *(const v8d *)(coef + i) * e;
    }
    out[q] = ((sum[0] + sum[1]) + (sum[2] + sum[3])) + ((sum[4] + sum[5]) + (sum[6] + sum[7]));
  }
}

// The last index of the largest (or, `smallest`, smallest) lane value, and that value; index -1 when
// no lane has one. With the lanes' own last best, this is the sequential scan's last best.
ALWAYS_INLINE void last_best(const double *value, const long long *index, int smallest, long long *at,
                             double *best) {
  *at = -1;
  *best = smallest ? INFINITY : -INFINITY;
  for (int l = 0; l < W; l++) {
    if (index[l] < 0) continue;
    const int better = smallest ? value[l] < *best : value[l] > *best;
    if (*at < 0 || better || (value[l] == *best && index[l] > *at)) {
      *best = value[l];
      *at = index[l];
    }
  }
}

ALWAYS_INLINE void smo_select_i(size_t stride, const double *y, const double *alpha, const double *g, double c,
                                long long *i, double *gmax) {
  const v8l lane = {0, 1, 2, 3, 4, 5, 6, 7};
  v8d bestV = (v8d){0} - INFINITY;
  v8l bestI = (v8l){0} - 1;
  for (size_t t = 0; t < stride; t += W) {
    const v8d yt = *(const v8d *)(y + t), at = *(const v8d *)(alpha + t), gt = *(const v8d *)(g + t);
    const v8l up = yt > 0;
    const v8l inUp = SELECT_INT(up, ~(at >= c), ~(at <= 0));
    const v8d v = SELECT(up, -gt, gt);
    const v8l take = inUp & (v >= bestV);
    bestV = SELECT(take, v, bestV);
    bestI = SELECT_INT(take, lane + (long long)t, bestI);
  }
  last_best((const double *)&bestV, (const long long *)&bestI, 0, i, gmax);
}

ALWAYS_INLINE void smo_select_j(size_t stride, const double *y, const double *alpha, const double *g,
                                const double *diag, double c, size_t i, const double *ki, double gmax, double tau,
                                long long *j, double *gmax2) {
  const v8l lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const double yi = y[i], kii = diag[i];
  v8d g2 = (v8d){0} - INFINITY, bestObj = (v8d){0} + INFINITY;
  v8l bestJ = (v8l){0} - 1;
  for (size_t t = 0; t < stride; t += W) {
    const v8d yt = *(const v8d *)(y + t), at = *(const v8d *)(alpha + t), gt = *(const v8d *)(g + t);
    const v8l up = yt > 0;
    const v8l inLow = SELECT_INT(up, ~(at <= 0), ~(at >= c));
    const v8d v = SELECT(up, gt, -gt);
    g2 = SELECT(inLow & (v >= g2), v, g2);
    const v8d diff = gmax + v;
    const v8d qit = yi * yt * *(const v8d *)(ki + t);
    const v8d sign = SELECT(up, (v8d){0} + 2.0, (v8d){0} - 2.0);
    const v8d quad = (kii + *(const v8d *)(diag + t)) - (sign * yi) * qit;
    const v8d obj = -(diff * diff) / SELECT(quad > 0, quad, (v8d){0} + tau);
    const v8l take = inLow & (diff > 0) & (obj <= bestObj);
    bestObj = SELECT(take, obj, bestObj);
    bestJ = SELECT_INT(take, lane + (long long)t, bestJ);
  }
  *gmax2 = -INFINITY;
  for (int l = 0; l < W; l++) *gmax2 = g2[l] >= *gmax2 ? g2[l] : *gmax2;
  double obj = 0;
  last_best((const double *)&bestObj, (const long long *)&bestJ, 1, j, &obj);
}

ALWAYS_INLINE void smo_update(size_t stride, const double *y, const double *ki, const double *kj, double yiDi,
                              double yjDj, double *g) {
  for (size_t t = 0; t < stride; t += W) {
    const v8d u = *(const v8d *)(ki + t) * yiDi + *(const v8d *)(kj + t) * yjDj;
    *(v8d *)(g + t) = *(const v8d *)(g + t) + *(const v8d *)(y + t) * u;
  }
}

UNLEARN_VARIANTS(exp_array, (size_t n, const double *x, double *out), (n, x, out))
UNLEARN_VARIANTS(rbf_matrix, (size_t n, size_t stride, size_t dim, const double *xt, double gamma, double *k),
                 (n, stride, dim, xt, gamma, k))
UNLEARN_VARIANTS(rbf_decisions,
                 (size_t m, size_t dim, const double *svt, const double *coef, double gamma, size_t queries,
                  const double *z, double *out),
                 (m, dim, svt, coef, gamma, queries, z, out))
UNLEARN_VARIANTS(smo_select_i,
                 (size_t stride, const double *y, const double *alpha, const double *g, double c, long long *i,
                  double *gmax),
                 (stride, y, alpha, g, c, i, gmax))
UNLEARN_VARIANTS(smo_select_j,
                 (size_t stride, const double *y, const double *alpha, const double *g, const double *diag, double c,
                  size_t i, const double *ki, double gmax, double tau, long long *j, double *gmax2),
                 (stride, y, alpha, g, diag, c, i, ki, gmax, tau, j, gmax2))
UNLEARN_VARIANTS(smo_update,
                 (size_t stride, const double *y, const double *ki, const double *kj, double yiDi, double yjDj,
                  double *g),
                 (stride, y, ki, kj, yiDi, yjDj, g))
