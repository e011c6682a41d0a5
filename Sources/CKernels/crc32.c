// CRC-32 of ISO 3309 / ITU-T V.42 (the checksum of zip archives, gzip and PNG): the reflected
// polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF. Slicing by eight (Intel's
// "slicing-by-8", Kounavis and Berry 2005): eight tables fold eight bytes per step.
#include <pthread.h>

#include "kernels.h"

static uint32_t table[8][256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++) {
    for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
  }
}

uint32_t unlearn_crc32(uint32_t crc, const uint8_t *data, size_t count) {
  pthread_once(&once, build);
  uint32_t c = ~crc;
  while (count >= 8) {
    uint32_t lo = c ^ ((uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24);
    uint32_t hi = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 | (uint32_t)data[7] << 24;
    c = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
        table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^ table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
    data += 8;
    count -= 8;
  }
  while (count--) c = table[0][(c ^ *data++) & 0xFF] ^ (c >> 8);
  return ~c;
}
