#ifndef UNLEARN_KERNELS_H
#define UNLEARN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// SHA-256 (FIPS 180-4): folds `blocks` 64-byte blocks of `data` into the state `h`
/// (eight words, h0 first). Uses the x86 SHA extensions when the CPU has them (checked once,
/// at run time, with cpuid), else portable C; both give the same state.
void unlearn_sha256_blocks(uint32_t h[8], const uint8_t *data, size_t blocks);

/// The portable C path of `unlearn_sha256_blocks`, whatever the CPU.
void unlearn_sha256_blocks_portable(uint32_t h[8], const uint8_t *data, size_t blocks);

/// 1 when `unlearn_sha256_blocks` uses the SHA extensions on this CPU, else 0.
int unlearn_sha256_accelerated(void);

/// The widest vector instructions the kernels may use here: 2 AVX-512F, 1 AVX2, 0 neither (or
/// not x86-64). Checked once; the operating system must save the registers too.
int unlearn_vector_level(void);

/// Replicates per call of `unlearn_walk8`: the lanes of its vectors.
#define UNLEARN_WALK_LANES 8

/// The points of one two-way bootstrap, twice: sorted from the highest score down, and grouped
/// into runs of one model's examples on one side.
typedef struct {
  /// Points, from the highest score down: model and example ids, side (1 member, 0 not), and 1
  /// when the next point has another score (the last of a group of equal scores).
  size_t count;
  const int32_t *model;
  const int32_t *example;
  const double *member;
  const uint8_t *groupEnd;
  /// Run r is model runModel[r]'s examples runExamples[runStart[r] ..< runStart[r + 1]], on the
  /// side runMember[r].
  size_t runs;
  const int32_t *runModel;
  const uint8_t *runMember;
  const int64_t *runStart;
  const int32_t *runExamples;
} unlearn_walk_points;

/// The walk of eight bootstrap replicates at once. `wm` and `wx` hold each unit's weight in the
/// eight replicates (wm[8 * model + lane], wx[8 * example + lane]). Writes, per lane, at
/// out[8 * row + lane]: row 0 P and row 1 N (the member and non-member weight), row 2
/// Σ_g p_g (N − neg_g − n_g + ½ n_g) (AUC × P N), row 3 max(0, max over thresholds of
/// pos·N − neg·P), and row 4 + l the member weight above the last threshold with neg ≤
/// alphas[l]·N. `out` holds 8 × (4 + levels) doubles. Exact integer arithmetic, so every
/// instruction set gives the same bits.
void unlearn_walk8(const unlearn_walk_points *p, const double *wm, const double *wx, size_t levels,
                   const double *alphas, double *out);

/// `unlearn_walk8` without vector extensions, whatever the CPU.
void unlearn_walk8_portable(const unlearn_walk_points *p, const double *wm, const double *wx, size_t levels,
                            const double *alphas, double *out);

#endif
