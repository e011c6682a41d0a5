// Counts heap allocations per thread by interposing glibc's allocation
// functions in the test executable (symbols defined in the executable take
// precedence over libc's for every shared library, including the Swift runtime).
// Used by the tests that check that a training step allocates nothing.
#include "allocation_counter.h"
#include <stddef.h>
#if defined(__linux__)
#include <features.h>  // defines __GLIBC__ on glibc
#endif

#if defined(__GLIBC__)
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static _Thread_local long allocations;

void *malloc(size_t size) {
  allocations++;
  return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
  allocations++;
  return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
  allocations++;
  return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
  allocations++;
  return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
  allocations++;
  return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
  allocations++;
  // EINVAL for an alignment that is not a power of two multiple of sizeof(void *).
  if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return 22;
  void *p = __libc_memalign(alignment, size);
  if (p == NULL) return 12;  // ENOMEM
  *out = p;
  return 0;
}

long allocation_counter_thread_count(void) { return allocations; }
#else
long allocation_counter_thread_count(void) { return -1; }
#endif
