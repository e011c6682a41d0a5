// The window rules of the NeurIPS 2023 Unlearning Challenge's ε (family A): for each right end R
// and each of `lefts` left ends L on a grid below it, the rule "P when L ≤ x ≤ R" predicts
// tp = #{p ∈ [L, R]} of the sample P and fp = #{q ∈ [L, R]} of Q, and its ε is table[tp][fp].
//
// Counts come from pointers into the sorted samples, moved from the previous answer. Within a
// right end the left ends ascend, so eight of them can share one rule: when neither sample has a
// point below the eighth left end beyond the current counts, the eight rules are the same rule.
// As the left end rises, tp and fp can only fall, and fp never below the narrowest window's; so
// once the bound at (current tp, that fp) is no larger than the best, no rule left can beat it.
#include "kernels.h"

#pragma clang fp contract(off)

// #{a < v} (or, with `orEqual`, #{a ≤ v}) in the ascending a[0 ..< n], from a previous answer.
static inline size_t count_below(const double *a, size_t n, double v, size_t at, int orEqual) {
  if (orEqual) {
    while (at > 0 && a[at - 1] > v) at--;
    while (at < n && a[at] <= v) at++;
  } else {
    while (at > 0 && a[at - 1] >= v) at--;
    while (at < n && a[at] < v) at++;
  }
  return at;
}

// #{a < v} from a previous answer that counted below a smaller v: forward only, on the sample's
// +∞ terminator (so the loop needs no bound check; v < +∞ for finite samples, and for v = +∞ or
// NaN it stops at the terminator or at once).
static inline size_t count_below_forward(const double *a, double v, size_t at) {
  while (a[at] < v) at++;
  return at;
}

float unlearn_window_rules(size_t n, const double *p, const double *q, size_t rights, const double *right,
                           double width, double buffer, size_t lefts, const float *table, const float *bound, float best) {
  if (lefts == 0) return best;
  size_t pLE = 0, qLE = 0, pLT = 0, qLT = 0, qStop = 0;
  const double div = (double)(lefts - 1);
#define RULE()                                                                                 \
  do {                                                                                         \
    const float e = table[(pLE > pLT ? pLE - pLT : 0) * (n + 1) + (qLE > qLT ? qLE - qLT : 0)]; \
    if (e > best) {                                                                            \
      best = e;                                                                                \
      if (e == __builtin_inff()) return best;                                                  \
    }                                                                                          \
  } while (0)
  for (size_t r = 0; r < rights; r++) {
    pLE = count_below(p, n, right[r], pLE, 1);
    qLE = count_below(q, n, right[r], qLE, 1);
    const double start = (right[r] - width) - buffer, stop = (right[r] - width) + buffer;
    const double step = (stop - start) / div;
    if (!(step > 0) || lefts < 2) {
      // Degenerate grid (or NaN): every left end as NumPy computes it, pointers either way.
      for (size_t j = 0; j < lefts; j++) {
        const double left = j == lefts - 1 ? stop : step == 0 ? ((double)j / div) * (stop - start) + start
                                                              : (double)j * step + start;
        pLT = count_below(p, n, left, pLT, 0);
        qLT = count_below(q, n, left, qLT, 0);
        RULE();
      }
      continue;
    }
    // j = 0 may move the pointers back (a new right end); after it the left ends ascend.
    pLT = count_below(p, n, start, pLT, 0);
    qLT = count_below(q, n, start, qLT, 0);
    RULE();
    qStop = count_below(q, n, stop, qStop, 0);
    const size_t fpMin = qLE > qStop ? qLE - qStop : 0;
    size_t j = 1;
    while (j < lefts - 1) {
      if (bound[(pLE > pLT ? pLE - pLT : 0) * (n + 1) + fpMin] <= best) break;
      if (j + 8 < lefts) {
        // Left ends j ..< j + 8 (none the last): one rule when no point lies below the eighth.
        const double last = (double)(j + 7) * step + start;
        if (p[pLT] >= last && q[qLT] >= last) {
          RULE();
          j += 8;
          continue;
        }
      }
      const double left = (double)j * step + start;
      pLT = count_below_forward(p, left, pLT);
      qLT = count_below_forward(q, left, qLT);
      RULE();
      j++;
    }
    if (j < lefts - 1) continue;
    pLT = count_below(p, n, stop, pLT, 0);
    qLT = count_below(q, n, stop, qLT, 0);
    RULE();
  }
#undef RULE
  return best;
}
