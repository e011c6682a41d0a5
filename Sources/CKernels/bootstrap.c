// The two-way bootstrap's walk, eight replicates at a time: lane l of every vector is replicate l.
//
// Every weight is a product of two draw counts, and every sum of weights an integer below 2^53, so
// each lane's arithmetic is exact, in any order: the three builds (lanes.h) give the same bits.
#include "lanes.h"

#define LANES UNLEARN_LANES

// The pass over the points, from the highest score down, given P and N (`totals`, rows 0 and 1 of
// `out`). After a group (p_g, n_g), with neg the non-member weight above the next threshold:
// AUC·P·N gains p_g (N − neg + ½ n_g).
ALWAYS_INLINE void walk_points(const unlearn_walk_points *p, const double *wm, const double *wx, size_t levels,
                               const double *alphas, double *out) {
  const v8d totalPos = *(const v8d *)(out + 0 * LANES), totalNeg = *(const v8d *)(out + 1 * LANES);
  v8d limit[levels > 0 ? levels : 1], tpr[levels > 0 ? levels : 1];
  for (size_t l = 0; l < levels; l++) {
    limit[l] = alphas[l] * totalNeg;
    tpr[l] = (v8d){0};
  }
  v8d pos = {0}, neg = {0}, gp = {0}, gn = {0}, aucAbove = {0}, best = {0};
  for (size_t k = 0; k < p->count; k++) {
    const v8d w = *(const v8d *)(wm + LANES * (size_t)p->model[k]) * *(const v8d *)(wx + LANES * (size_t)p->example[k]);
    const v8d onSide = w * p->member[k];
    gp += onSide;
    gn += w - onSide;
    if (!p->groupEnd[k]) continue;
    pos += gp;
    neg += gn;
    aucAbove += gp * ((totalNeg - neg) + 0.5 * gn);
    const v8d d = pos * totalNeg - neg * totalPos;
    best = SELECT(d > best, d, best);
    for (size_t l = 0; l < levels; l++) tpr[l] = SELECT(neg <= limit[l], pos, tpr[l]);
    gp = (v8d){0};
    gn = (v8d){0};
  }
  *(v8d *)(out + 2 * LANES) = aucAbove;
  *(v8d *)(out + 3 * LANES) = best;
  for (size_t l = 0; l < levels; l++) *(v8d *)(out + (4 + l) * LANES) = tpr[l];
}

ALWAYS_INLINE void walk8(const unlearn_walk_points *p, const double *wm, const double *wx, size_t levels,
                         const double *alphas, double *out) {
  // P and N: the member and non-member weight in all, summed run by run (one model, one side).
  v8d totalPos = {0}, totalNeg = {0};
  for (size_t r = 0; r < p->runs; r++) {
    v8d sum = {0};
    for (int64_t k = p->runStart[r]; k < p->runStart[r + 1]; k++) {
      sum += *(const v8d *)(wx + LANES * (size_t)p->runExamples[k]);
    }
    const v8d w = *(const v8d *)(wm + LANES * (size_t)p->runModel[r]) * sum;
    if (p->runMember[r]) {
      totalPos += w;
    } else {
      totalNeg += w;
    }
  }
  *(v8d *)(out + 0 * LANES) = totalPos;
  *(v8d *)(out + 1 * LANES) = totalNeg;
  switch (levels) {  // constant level counts, so that the levels' vectors stay in registers
    case 0:
      walk_points(p, wm, wx, 0, alphas, out);
      break;
    case 1:
      walk_points(p, wm, wx, 1, alphas, out);
      break;
    case 2:
      walk_points(p, wm, wx, 2, alphas, out);
      break;
    case 3:
      walk_points(p, wm, wx, 3, alphas, out);
      break;
    default:
      walk_points(p, wm, wx, levels, alphas, out);
  }
}

UNLEARN_VARIANTS(walk8,
                 (const unlearn_walk_points *p, const double *wm, const double *wx, size_t levels,
                  const double *alphas, double *out),
                 (p, wm, wx, levels, alphas, out))
