// SHA-256 block function: portable C, and the x86 SHA extensions behind a run-time check.
// The target attribute compiles the accelerated function for those instructions only; it is
// called only after cpuid has reported them, so the binary still runs on any x86-64.
#include "kernels.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

void unlearn_sha256_blocks_portable(uint32_t h[8], const uint8_t *data, size_t blocks) {
  uint32_t w[64];
  for (size_t blk = 0; blk < blocks; blk++, data += 64) {
    for (int t = 0; t < 16; t++) {
      w[t] = (uint32_t)data[4 * t] << 24 | (uint32_t)data[4 * t + 1] << 16 | (uint32_t)data[4 * t + 2] << 8 |
             (uint32_t)data[4 * t + 3];
    }
    for (int t = 16; t < 64; t++) {
      uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
      uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
      uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

// The SHA extensions keep the state in two registers, ABEF and CDGH (A in the highest lane).
// sha256rnds2(CDGH, ABEF, wk) runs two rounds with the two lowest lanes of wk (W + K) and
// returns the new ABEF; the old ABEF is then the new CDGH, so the two registers alternate.
// Four message words at a time: W[t..t+3] = msg2(msg1(W[t-16..], W[t-12..]) + W[t-7..t-4], W[t-4..]).
__attribute__((target("sha,sse4.1,ssse3"))) static void sha256_blocks_shani(uint32_t h[8], const uint8_t *data,
                                                                              size_t blocks) {
  const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]);  // lanes A B C D (A lowest)
  __m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);  // lanes E F G H
  __m128i badc = _mm_shuffle_epi32(dcba, 0xB1);             // B A D C
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);             // H G F E
  __m128i abef = _mm_alignr_epi8(badc, efgh, 8);            // F E B A
  __m128i cdgh = _mm_blend_epi16(efgh, badc, 0xF0);         // H G D C
  for (size_t blk = 0; blk < blocks; blk++, data += 64) {
    const __m128i abefStart = abef, cdghStart = cdgh;
    __m128i m[4];
    for (int g = 0; g < 16; g++) {
      __m128i *w = &m[g & 3];
      if (g < 4) {
        *w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * g)), byteswap);
      } else {
        const __m128i older = _mm_sha256msg1_epu32(*w, m[(g + 1) & 3]);
        const __m128i w7 = _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4);
        *w = _mm_sha256msg2_epu32(_mm_add_epi32(older, w7), m[(g + 3) & 3]);
      }
      const __m128i wk = _mm_add_epi32(*w, _mm_loadu_si128((const __m128i *)&K[4 * g]));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
    }
    abef = _mm_add_epi32(abef, abefStart);
    cdgh = _mm_add_epi32(cdgh, cdghStart);
  }
  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);  // A B E F
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);  // G H C D
  _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}

static int detected = -1;

int unlearn_sha256_accelerated(void) {
  int d = __atomic_load_n(&detected, __ATOMIC_RELAXED);
  if (d < 0) {
    unsigned a, b, c, e;
    int ssse3_sse41 = __get_cpuid(1, &a, &b, &c, &e) && (c & (1u << 9)) && (c & (1u << 19));
    int sha = __get_cpuid_count(7, 0, &a, &b, &c, &e) && (b & (1u << 29));
    d = ssse3_sse41 && sha;
    __atomic_store_n(&detected, d, __ATOMIC_RELAXED);
  }
  return d;
}

void unlearn_sha256_blocks(uint32_t h[8], const uint8_t *data, size_t blocks) {
  if (unlearn_sha256_accelerated()) {
    sha256_blocks_shani(h, data, blocks);
  } else {
    unlearn_sha256_blocks_portable(h, data, blocks);
  }
}
#else
int unlearn_sha256_accelerated(void) { return 0; }

void unlearn_sha256_blocks(uint32_t h[8], const uint8_t *data, size_t blocks) {
  unlearn_sha256_blocks_portable(h, data, blocks);
}
#endif
