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

#endif
