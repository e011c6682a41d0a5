#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// Heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc,
/// memalign) made so far by the calling thread, or -1 where they cannot be
/// counted (not glibc). Linking this target into a test binary interposes
/// those functions for the whole process; each still allocates through glibc.
long allocation_counter_thread_count(void);

#endif
