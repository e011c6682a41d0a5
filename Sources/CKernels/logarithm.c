// Natural logarithms of arrays, eight lanes at a time: log x and log(1 + x).
//
// The method of fdlibm's e_log.c (Sun Microsystems, 1993), lane by lane: x = 2^k·m with
// √2/2 < m ≤ √2, f = m − 1, s = f/(2 + f), log(1 + f) = f − ½f² + s·(½f² + R(s²)) with R a
// degree-7 polynomial in s² (Remez; its error under 2^−58.45), and k·ln 2 in two parts. Under
// 1 ulp from the exact value. No contraction and no FMA: every build computes the same operations
// (lanes.h).
#include <math.h>

#include "lanes.h"

#define W UNLEARN_LANES

ALWAYS_INLINE v8d log_core(v8d x) {
  // Subnormals: scaled by 2^54 into the normal range first.
  const v8l subnormal = (x > 0) & (x < 0x1p-1022);
  const v8d xs = SELECT(subnormal, x * 0x1p54, x);
  const v8l bits = (v8l)xs;
  v8l k = ((bits >> 52) & 0x7ff) - 1023 - (subnormal & 54);
  v8d m = (v8d)((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);  // [1, 2)
  const v8l high = m > 1.4142135623730951;
  m = SELECT(high, m * 0.5, m);
  k = k - high;  // high is −1 where set
  const v8d f = m - 1.0;  // exact (Sterbenz)
  const v8d s = f / (2.0 + f);
  const v8d z = s * s, w = z * z;
  const v8d t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const v8d t2 =
      z * (6.666666666666735130e-01 +
           w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  const v8d r = t2 + t1;
  const v8d hfsq = 0.5 * f * f;
  const v8d dk = __builtin_convertvector(k, v8d);
  return dk * 6.93147180369123816490e-01 - ((hfsq - (s * (hfsq + r) + dk * 1.90821492927058770002e-10)) - f);
}

// log x: −∞ at ±0, NaN below 0 (and for NaN), +∞ at +∞.
ALWAYS_INLINE void log_lanes(const double *in, double *out) {
  const v8d x = *(const v8d *)in;
  const v8l finitePositive = (x > 0) & (x < INFINITY);
  const v8d core = log_core(SELECT(finitePositive, x, (v8d){0} + 1.0));
  const v8d special = SELECT(x == 0, (v8d){0} - INFINITY, SELECT(x == INFINITY, x, (v8d){0} + NAN));
  *(v8d *)out = SELECT(finitePositive, core, SELECT(x != x, x, special));
}

// log(1 + x): u = 1 + x rounded, log u plus the first-order correction (x − (u − 1))/u for the
// rounding of u (fdlibm's s_log1p.c does the same); exact for |x| < 2^−53 (±0 keeps its sign).
// −∞ at −1, NaN below −1 (and for NaN), +∞ at +∞.
ALWAYS_INLINE void log1p_lanes(const double *in, double *out) {
  const v8d x = *(const v8d *)in;
  const v8l regular = (x > -1.0) & (x < INFINITY);
  const v8d xr = SELECT(regular, x, (v8d){0});
  const v8d u = 1.0 + xr;
  const v8d c = (xr - (u - 1.0)) / u;
  const v8d core = SELECT(xr == 0, xr, log_core(u) + c);  // ±0 keeps its sign
  const v8d special = SELECT(x == -1.0, (v8d){0} - INFINITY, SELECT(x == INFINITY, x, (v8d){0} + NAN));
  *(v8d *)out = SELECT(regular, core, SELECT(x != x, x, special));
}

#define ARRAY_OF(lanes)                                                 \
  do {                                                                  \
    size_t i = 0;                                                       \
    for (; i + W <= n; i += W) lanes(x + i, out + i);                   \
    if (i < n) {                                                        \
      double in[W] = {0}, result[W];                                    \
      for (size_t l = 0; i + l < n; l++) in[l] = x[i + l];              \
      lanes(in, result);                                                \
      for (size_t l = 0; i + l < n; l++) out[i + l] = result[l];        \
    }                                                                   \
  } while (0)

ALWAYS_INLINE void log_array(size_t n, const double *x, double *out) { ARRAY_OF(log_lanes); }
ALWAYS_INLINE void log1p_array(size_t n, const double *x, double *out) { ARRAY_OF(log1p_lanes); }

UNLEARN_VARIANTS(log_array, (size_t n, const double *x, double *out), (n, x, out))
UNLEARN_VARIANTS(log1p_array, (size_t n, const double *x, double *out), (n, x, out))
