#ifndef UNLEARN_PNG_ENCODER_H
#define UNLEARN_PNG_ENCODER_H
#include <stddef.h>
#include <stdint.h>

/// Encodes 8-bit RGB pixels (rows top to bottom, interleaved) as a PNG in memory.
/// On success returns 0 and sets *out (free with unlearn_png_free_encoded) and *out_size.
int unlearn_png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, uint8_t **out, size_t *out_size);

void unlearn_png_free_encoded(uint8_t *data);

#endif
