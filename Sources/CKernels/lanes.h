// Kernels on 64-byte vectors (eight doubles or sixteen floats), written once and compiled for three
// instruction sets.
//
// A body is an inline function on pointers (vectors are never passed by value across the
// differently targeted functions: that would change their ABI). UNLEARN_VARIANTS(name, params,
// args) compiles `name` for AVX-512F and for AVX2 + FMA and defines `unlearn_<name>`, which picks
// one at run time (unlearn_vector_level), and `unlearn_<name>_portable`, the baseline build. Lane
// operations are IEEE operations, never contracted; an FMA is written as FMA() and is C's
// correctly rounded fma in the baseline build. So all three give the same bits.
#ifndef UNLEARN_LANES_H
#define UNLEARN_LANES_H

#include "kernels.h"

#pragma clang fp contract(off)

typedef double v8d __attribute__((vector_size(64), aligned(8)));
typedef long long v8l __attribute__((vector_size(64), aligned(8)));
typedef float v16f __attribute__((vector_size(64), aligned(4)));
typedef int v16i __attribute__((vector_size(64), aligned(4)));

/// Lane by lane: a where mask is set (all ones), else b.
#define SELECT(mask, a, b) ((v8d)(((v8l)(a) & (mask)) | ((v8l)(b) & ~(mask))))
/// a·b + c rounded once, lane by lane: an FMA instruction where the build has one, else C's fma.
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define SELECT_INT(mask, a, b) (((a) & (mask)) | ((b) & ~(mask)))
#define ALWAYS_INLINE static inline __attribute__((always_inline))

#if defined(__x86_64__)
#define UNLEARN_VARIANTS(name, params, args)                             \
  __attribute__((target("avx512f"))) static void name##_avx512 params { \
    name args;                                                           \
  }                                                                      \
  __attribute__((target("avx2,fma"))) static void name##_avx2 params {      \
    name args;                                                           \
  }                                                                      \
  void unlearn_##name params {                                           \
    switch (unlearn_vector_level()) {                                    \
      case 2:                                                            \
        name##_avx512 args;                                              \
        break;                                                           \
      case 1:                                                            \
        name##_avx2 args;                                                \
        break;                                                           \
      default:                                                           \
        name args;                                                       \
    }                                                                    \
  }                                                                      \
  void unlearn_##name##_portable params { name args; }
#else
#define UNLEARN_VARIANTS(name, params, args) \
  void unlearn_##name params { name args; }  \
  void unlearn_##name##_portable params { name args; }
#endif

#endif
