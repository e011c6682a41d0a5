// libpng's writer behind setjmp error handling, encoding into memory.
#include "png_encoder.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint8_t *data;
  size_t size;
  size_t capacity;
  int failed;
} buffer_t;

static void write_to_buffer(png_structp png, png_bytep bytes, png_size_t length) {
  buffer_t *b = (buffer_t *)png_get_io_ptr(png);
  if (b->failed) return;
  if (b->size + length > b->capacity) {
    size_t cap = b->capacity ? b->capacity * 2 : 65536;
    while (cap < b->size + length) cap *= 2;
    uint8_t *grown = (uint8_t *)realloc(b->data, cap);
    if (!grown) {
      b->failed = 1;
      return;
    }
    b->data = grown;
    b->capacity = cap;
  }
  memcpy(b->data + b->size, bytes, length);
  b->size += length;
}

static void flush_buffer(png_structp png) { (void)png; }

int unlearn_png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, uint8_t **out, size_t *out_size) {
  buffer_t buffer = {0};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  if (!png) return 1;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    return 1;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    free(buffer.data);
    return 1;
  }
  png_set_write_fn(png, &buffer, write_to_buffer, flush_buffer);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  if (buffer.failed) {
    free(buffer.data);
    return 1;
  }
  *out = buffer.data;
  *out_size = buffer.size;
  return 0;
}

void unlearn_png_free_encoded(uint8_t *data) { free(data); }
