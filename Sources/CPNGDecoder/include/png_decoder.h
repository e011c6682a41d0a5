#ifndef UNLEARN_PNG_DECODER_H
#define UNLEARN_PNG_DECODER_H
#include <stddef.h>
#include <stdint.h>

/// Decodes a PNG held in memory to 8-bit samples, 1 (gray) or 3 (RGB) channels,
/// interleaved, rows top to bottom. Palette images expand to RGB, sub-byte gray
/// scales to 0..255, 16-bit samples scale to 8 bits (rounded), alpha and tRNS
/// are dropped, Adam7 interlacing is undone.
///
/// The image size is checked against max_side / max_pixels before any pixel
/// memory is allocated. On success returns 0 and sets *pixels (free with
/// unlearn_png_free), *width, *height, *channels. On failure returns non-zero and
/// writes a message into error (error_size bytes, NUL-terminated).
int unlearn_png_decode(const uint8_t *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                       uint8_t **pixels, uint32_t *width, uint32_t *height, int *channels,
                       char *error, size_t error_size);

void unlearn_png_free(uint8_t *pixels);

#endif
