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

/// The lanes of the kernels' vectors: replicates per call of `unlearn_walk8`, and the multiple
/// the SVC kernels' arrays are padded to.
#define UNLEARN_LANES 8

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

/// out[i] = e^x[i] for i < n, by Cody–Waite reduction and a degree-13 Taylor polynomial: within
/// 2 ulp of the exact value on [−708, 709]; 0 below −708 (e^x < 3.4e−308), +∞ above 709, NaN for
/// NaN.
void unlearn_exp_array(size_t n, const double *x, double *out);
void unlearn_exp_array_portable(size_t n, const double *x, double *out);

/// out[i] = log x[i] for i < n (fdlibm's method, lane by lane): within 1 ulp of the exact value;
/// −∞ at ±0, NaN below 0 and for NaN, +∞ at +∞. In place (out = x) is allowed.
void unlearn_log_array(size_t n, const double *x, double *out);
void unlearn_log_array_portable(size_t n, const double *x, double *out);

/// out[i] = log(1 + x[i]) for i < n: log of u = 1 + x plus the correction (x − (u − 1))/u, exact for
/// |x| < 2^−53 and within 2 ulp elsewhere; −∞ at −1, NaN below −1 and for NaN, +∞ at +∞.
void unlearn_log1p_array(size_t n, const double *x, double *out);
void unlearn_log1p_array_portable(size_t n, const double *x, double *out);

/// The RBF kernel matrix: k[i·stride + j] = exp(−γ Σ_t (x_ti − x_tj)²) for i < n, j < stride, the
/// points' features column by column (xt[t·stride + i], dim columns), stride a multiple of
/// UNLEARN_LANES with the padding points' features finite. Each 8 × 8 block above the diagonal is
/// computed once and mirrored (the same bits). e^x as `unlearn_exp_array`.
void unlearn_rbf_matrix(size_t n, size_t stride, size_t dim, const double *xt, double gamma, double *k);
void unlearn_rbf_matrix_portable(size_t n, size_t stride, size_t dim, const double *xt, double gamma, double *k);

/// out[q] = Σ_i coef_i exp(−γ Σ_t (sv_ti − z_qt)²), over m support vectors (m a multiple of
/// UNLEARN_LANES, padding with coefficient 0 and finite features; svt[t·m + i]) for each of the
/// `queries` points z (row by row, z[q·dim + t]). Summed in eight lanes (i mod 8), then pairwise.
void unlearn_rbf_decisions(size_t m, size_t dim, const double *svt, const double *coef, double gamma, size_t queries,
                           const double *z, double *out);
void unlearn_rbf_decisions_portable(size_t m, size_t dim, const double *svt, const double *coef, double gamma,
                                    size_t queries, const double *z, double *out);

/// The first of the working set (i, j) of LIBSVM's SMO with second-order selection (Fan, Chen &
/// Lin, JMLR 2005) over `stride` variables (labels y = ±1, α, gradient G; padding variables have
/// y = 1, α = 0 and G = NaN): i maximises gmax = −y_t G_t over I_up = {y_t = 1, α_t < C} ∪
/// {y_t = −1, α_t > 0}, ties to the last index; i = −1 when I_up is empty.
void unlearn_smo_select_i(size_t stride, const double *y, const double *alpha, const double *g, double c,
                          long long *i, double *gmax);
void unlearn_smo_select_i_portable(size_t stride, const double *y, const double *alpha, const double *g, double c,
                                   long long *i, double *gmax);

/// The second: j minimises −(gmax + y_t G_t)² / (K_ii + K_tt − 2 y_i y_t K_it) over I_low (τ
/// for a non-positive denominator) where gmax + y_t G_t > 0, ties to the last index, −1 if none;
/// gmax2 is the largest y_t G_t over I_low. `diag` is the kernel's diagonal, `ki` row i.
void unlearn_smo_select_j(size_t stride, const double *y, const double *alpha, const double *g, const double *diag,
                          double c, size_t i, const double *ki, double gmax, double tau, long long *j, double *gmax2);
void unlearn_smo_select_j_portable(size_t stride, const double *y, const double *alpha, const double *g,
                                   const double *diag, double c, size_t i, const double *ki, double gmax, double tau,
                                   long long *j, double *gmax2);

/// G_t += y_t (ki_t · yiDi + kj_t · yjDj) for t < stride: SMO's gradient update after α_i and α_j
/// changed by Δ_i and Δ_j (yiDi = y_i Δ_i).
void unlearn_smo_update(size_t stride, const double *y, const double *ki, const double *kj, double yiDi, double yjDj,
                        double *g);
void unlearn_smo_update_portable(size_t stride, const double *y, const double *ki, const double *kj, double yiDi,
                                 double yjDj, double *g);

/// The largest of `best` and the ε of every window rule of the Unlearning Challenge's family A:
/// for each right end right[r] (ascending) and each left end L_j of `lefts` on NumPy's
/// linspace((R − width) − buffer, (R − width) + buffer), the rule "P when L ≤ x ≤ R" with
/// tp = #{p ∈ [L, R]}, fp = #{q ∈ [L, R]} (p and q ascending, n points each, each followed by a
/// +∞ terminator: n + 1 values) has ε = table[tp·(n + 1) + fp]. Returns +∞ as soon as a rule has it.
/// bound[tp·(n + 1) + fp] must be the largest table value at ≤ tp and ≥ fp: a right end is left as
/// soon as the bound of its remaining rules is no larger than the best so far.
float unlearn_window_rules(size_t n, const double *p, const double *q, size_t rights, const double *right,
                           double width, double buffer, size_t lefts, const float *table, const float *bound,
                           float best);

/// One step of SGD with momentum, as `torch.optim.SGD` (dampening 0), over n parameters:
/// d = g + wd·p, v ← mu·v + d, p ← p − lr·v (nesterov: p ← p − lr·(d + mu·v)); every operation
/// rounded on its own, so every build gives the same bits.
void unlearn_sgd_momentum(size_t n, float *p, const float *g, float *v, float lr, float mu, float wd, int nesterov);
void unlearn_sgd_momentum_portable(size_t n, float *p, const float *g, float *v, float lr, float mu, float wd,
                                   int nesterov);

/// y = max(x, 0) as `x < 0 ? 0 : x` (NaN and −0 pass), over n floats.
void unlearn_relu_forward(size_t n, const float *x, float *y);
void unlearn_relu_forward_portable(size_t n, const float *x, float *y);

/// dx = y > 0 ? dy : 0, over n floats.
void unlearn_relu_backward(size_t n, const float *y, const float *dy, float *dx);
void unlearn_relu_backward_portable(size_t n, const float *y, const float *dy, float *dx);

/// g[c] = Σ_r y[r·cols + c], each column summed from row 0 down (the scalar loop's order).
void unlearn_sum_rows(size_t rows, size_t cols, const float *y, float *g);
void unlearn_sum_rows_portable(size_t rows, size_t cols, const float *y, float *g);

/// 2 × 2, stride-2 max pooling of `planes` planes of height × width (odd trailing rows and columns
/// dropped): y = the first maximum of (top-left, top-right, bottom-left, bottom-right), argmax = its
/// code 0–3 (a later input wins only when greater); with `relu`, y = 0 where the maximum is < 0.
void unlearn_max_pool2_forward(size_t planes, size_t height, size_t width, const float *x, float *y,
                               int32_t *argmax, int relu);
void unlearn_max_pool2_forward_portable(size_t planes, size_t height, size_t width, const float *x, float *y,
                                        int32_t *argmax, int relu);

/// The backward of `unlearn_max_pool2_forward` for even height and width: every input gradient
/// written, the winner's = dy (0 where `positive` is given and not > 0), the others +0.
void unlearn_max_pool2_backward_even(size_t planes, size_t height, size_t width, const float *dy,
                                     const int32_t *argmax, const float *positive, float *dx);
void unlearn_max_pool2_backward_even_portable(size_t planes, size_t height, size_t width, const float *dy,
                                              const int32_t *argmax, const float *positive, float *dx);

#endif
