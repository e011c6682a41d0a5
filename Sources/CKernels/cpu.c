// The vector instruction sets this CPU and its operating system support, checked once.
#include "kernels.h"

int unlearn_vector_level(void) {
#if defined(__x86_64__)
  static int detected = -1;
  int level = __atomic_load_n(&detected, __ATOMIC_RELAXED);
  if (level < 0) {
    // __builtin_cpu_supports also checks (xgetbv) that the OS saves the wider registers.
    level = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    __atomic_store_n(&detected, level, __ATOMIC_RELAXED);
  }
  return level;
#else
  return 0;
#endif
}
