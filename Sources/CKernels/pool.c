// 2 × 2, stride-2 max pooling (forward with the winners' codes, and the backward that routes each
// gradient to its winner), eight outputs per vector. Comparisons and selections only: every build
// gives the bits of the scalar definition in `Kernels.maxPool2Forward`'s documentation.
#include "lanes.h"

typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32), aligned(4)));
typedef float v4f __attribute__((vector_size(16), aligned(4)));
typedef int v4i __attribute__((vector_size(16), aligned(4)));

#define EVEN8(v) __builtin_shufflevector((v), (v), 0, 2, 4, 6, 8, 10, 12, 14)
#define ODD8(v) __builtin_shufflevector((v), (v), 1, 3, 5, 7, 9, 11, 13, 15)
#define EVEN4(v) __builtin_shufflevector((v), (v), 0, 2, 4, 6)
#define ODD4(v) __builtin_shufflevector((v), (v), 1, 3, 5, 7)
#define TWICE8(v) __builtin_shufflevector((v), (v), 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)
#define TWICE4(v) __builtin_shufflevector((v), (v), 0, 0, 1, 1, 2, 2, 3, 3)

// One block of outputs: the first maximum of (top-left, top-right, bottom-left, bottom-right)
// and its code 0–3, as the scalar definition compares them (b > a, d > c, then cd > ab).
#define POOL_BLOCK(VF, VI, EVEN, ODD, LOAD)                                          \
  do {                                                                               \
    const LOAD top = *(const LOAD *)(r0 + 2 * ox), bottom = *(const LOAD *)(r1 + 2 * ox); \
    const VF a = EVEN(top), b = ODD(top), c = EVEN(bottom), d = ODD(bottom);         \
    const VI m1 = b > a, m2 = d > c;                                                 \
    const VF ab = (VF)(((VI)b & m1) | ((VI)a & ~m1));                                \
    const VF cd = (VF)(((VI)d & m2) | ((VI)c & ~m2));                                \
    const VI abi = m1 & 1, cdi = (m2 & 1) + 2;                                       \
    const VI m3 = cd > ab;                                                           \
    VF out = (VF)(((VI)cd & m3) | ((VI)ab & ~m3));                                   \
    if (relu) out = (VF)((VI)out & ~(out < 0));                                      \
    *(VF *)(y + o + ox) = out;                                                       \
    *(VI *)(argmax + o + ox) = (cdi & m3) | (abi & ~m3);                             \
  } while (0)

ALWAYS_INLINE void max_pool2_forward(size_t planes, size_t height, size_t width, const float *x, float *y,
                                     int32_t *argmax, int relu) {
  const size_t ho = height / 2, wo = width / 2;
  for (size_t p = 0; p < planes; p++) {
    for (size_t oy = 0; oy < ho; oy++) {
      const float *r0 = x + p * height * width + 2 * oy * width, *r1 = r0 + width;
      const size_t o = (p * ho + oy) * wo;
      size_t ox = 0;
      // A row's last block overlaps the previous one when the row is not a whole number of
      // blocks: it writes the same values again.
      if (wo >= 8) {
        while (ox < wo) {
          if (ox + 8 > wo) ox = wo - 8;
          POOL_BLOCK(v8f, v8i, EVEN8, ODD8, v16f);
          ox += 8;
        }
      } else if (wo >= 4) {
        while (ox < wo) {
          if (ox + 4 > wo) ox = wo - 4;
          POOL_BLOCK(v4f, v4i, EVEN4, ODD4, v8f);
          ox += 4;
        }
      }
      for (; ox < wo; ox++) {
        const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        const float ab = b > a ? b : a, cd = d > c ? d : c;
        const int32_t abi = b > a ? 1 : 0, cdi = d > c ? 3 : 2;
        float out = cd > ab ? cd : ab;
        if (relu && out < 0) out = 0;
        y[o + ox] = out;
        argmax[o + ox] = cd > ab ? cdi : abi;
      }
    }
  }
}

// Each window of an even-sized input written whole: its winner gets the output's gradient
// (0 where `positive` is given and its output is not > 0), the other three +0.
#define UNPOOL_BLOCK(VF, VI, WF, WI, TWICE, CODES)                                       \
  do {                                                                                   \
    VF g = *(const VF *)(dy + o + ox);                                                   \
    if (positive) g = (VF)((VI)g & (*(const VF *)(positive + o + ox) > 0));              \
    const WF g2 = TWICE(g);                                                              \
    const WI c2 = TWICE(*(const VI *)(argmax + o + ox));                                 \
    *(WF *)(top + 2 * ox) = (WF)((WI)g2 & (c2 == CODES));                                \
    *(WF *)(bottom + 2 * ox) = (WF)((WI)g2 & (c2 == CODES + 2));                         \
  } while (0)

ALWAYS_INLINE void max_pool2_backward_even(size_t planes, size_t height, size_t width, const float *dy,
                                           const int32_t *argmax, const float *positive, float *dx) {
  const size_t ho = height / 2, wo = width / 2;
  const v16i codes16 = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
  const v8i codes8 = {0, 1, 0, 1, 0, 1, 0, 1};
  for (size_t p = 0; p < planes; p++) {
    for (size_t oy = 0; oy < ho; oy++) {
      float *top = dx + p * height * width + 2 * oy * width, *bottom = top + width;
      const size_t o = (p * ho + oy) * wo;
      size_t ox = 0;
      if (wo >= 8) {
        while (ox < wo) {
          if (ox + 8 > wo) ox = wo - 8;
          UNPOOL_BLOCK(v8f, v8i, v16f, v16i, TWICE8, codes16);
          ox += 8;
        }
      } else if (wo >= 4) {
        while (ox < wo) {
          if (ox + 4 > wo) ox = wo - 4;
          UNPOOL_BLOCK(v4f, v4i, v8f, v8i, TWICE4, codes8);
          ox += 4;
        }
      }
      for (; ox < wo; ox++) {
        const int32_t code = argmax[o + ox];
        float g = dy[o + ox];
        if (positive && !(positive[o + ox] > 0)) g = 0;
        top[2 * ox] = code == 0 ? g : 0;
        top[2 * ox + 1] = code == 1 ? g : 0;
        bottom[2 * ox] = code == 2 ? g : 0;
        bottom[2 * ox + 1] = code == 3 ? g : 0;
      }
    }
  }
}

UNLEARN_VARIANTS(max_pool2_forward,
                 (size_t planes, size_t height, size_t width, const float *x, float *y, int32_t *argmax, int relu),
                 (planes, height, width, x, y, argmax, relu))
UNLEARN_VARIANTS(max_pool2_backward_even,
                 (size_t planes, size_t height, size_t width, const float *dy, const int32_t *argmax,
                  const float *positive, float *dx),
                 (planes, height, width, dy, argmax, positive, dx))
