// libpng's low-level reader wrapped with setjmp error handling, so Swift never
// sees a longjmp. See include/png_decoder.h.
#include "png_decoder.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const uint8_t *data;
  size_t size;
  size_t offset;
  char *error;
  size_t error_size;
} reader_state;

static void on_error(png_structp png, png_const_charp message) {
  reader_state *s = (reader_state *)png_get_error_ptr(png);
  if (s && s->error && s->error_size) snprintf(s->error, s->error_size, "%s", message);
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

static void read_bytes(png_structp png, png_bytep out, png_size_t length) {
  reader_state *s = (reader_state *)png_get_io_ptr(png);
  if (s->offset + length > s->size) png_error(png, "unexpected end of file (truncated PNG)");
  memcpy(out, s->data + s->offset, length);
  s->offset += length;
}

int unlearn_png_decode(const uint8_t *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                       uint8_t **pixels, uint32_t *width, uint32_t *height, int *channels,
                       char *error, size_t error_size) {
  reader_state state = {data, size, 0, error, error_size};
  if (error && error_size) error[0] = 0;
  *pixels = NULL;
  if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
    snprintf(error, error_size, "not a PNG file (bad signature)");
    return 1;
  }
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
  if (!png) {
    snprintf(error, error_size, "out of memory");
    return 1;
  }
  png_infop info = png_create_info_struct(png);
  uint8_t *volatile buffer = NULL;
  png_bytep *volatile rows = NULL;
  if (!info || setjmp(png_jmpbuf(png))) {
    free(buffer);
    free(rows);
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    return 1;
  }
  // libpng refuses larger images while reading the header, before allocating.
  png_set_user_limits(png, max_side, max_side);
  png_set_read_fn(png, &state, read_bytes);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if ((uint64_t)w * (uint64_t)h > max_pixels) png_error(png, "image has more pixels than the limit");
  int color_type = png_get_color_type(png, info);
  png_set_expand(png);         // palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha
  png_set_scale_16(png);       // 16 -> 8 bits, rounded: (v * 255 + 32895) >> 16
  png_set_strip_alpha(png);    // drop alpha (do not composite)
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int ch = png_get_channels(png, info);
  if (png_get_bit_depth(png, info) != 8 || !(ch == 1 || ch == 3)) {
    png_error(png, "unsupported pixel layout after conversion");
  }
  (void)color_type;
  size_t rowbytes = png_get_rowbytes(png, info);
  if (rowbytes != (size_t)w * (size_t)ch) png_error(png, "unexpected row size");
  buffer = (uint8_t *)malloc(rowbytes * h);
  rows = (png_bytep *)malloc(sizeof(png_bytep) * h);
  if (!buffer || !rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < h; y++) rows[y] = buffer + y * rowbytes;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  free(rows);
  png_destroy_read_struct(&png, &info, NULL);
  *pixels = buffer;
  *width = w;
  *height = h;
  *channels = ch;
  return 0;
}

void unlearn_png_free(uint8_t *pixels) { free(pixels); }
