#!/usr/bin/env python3
"""Writes the PNG decoder fixtures under Tests/Fixtures/png/ and expected.json.

Every colour type and bit depth libpng reads (gray 1/2/4/8/16, gray+alpha
8/16, RGB 8/16, RGBA 8/16, palette 1/2/4/8 with and without tRNS), plain and
Adam7-interlaced, each with the 8-bit pixel values the harness must decode
(alpha dropped; sub-byte gray scaled by 255/(2^b - 1); 16-bit values chosen as
multiples of 257 so that the 8-bit value is exact), plus malformed files.

Usage: pip install pypng && python3 scripts/make_png_fixtures.py
"""
import json
import os
import struct
import sys
import zlib

import png  # pypng

sys.path.insert(0, os.path.dirname(__file__))
from pngwrite import chunk  # noqa: E402

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "png")
os.makedirs(out, exist_ok=True)
W, H = 5, 3  # small, but odd so interlacing passes are uneven
expected = {}


def write(name, rows, *, interlace=False, **kw):
    with open(os.path.join(out, name), "wb") as f:
        png.Writer(W, H, interlace=interlace, **kw).write(f, rows)


def gray_values(bits):
    top = (1 << bits) - 1
    return [[(x * 3 + y * 7) % (top + 1) for x in range(W)] for y in range(H)]


for interlace in (False, True):
    suffix = "-adam7" if interlace else ""
    for bits in (1, 2, 4, 8):
        v = gray_values(bits)
        write(f"gray{bits}{suffix}.png", v, greyscale=True, bitdepth=bits, interlace=interlace)
        scale = 255 // ((1 << bits) - 1)
        expected[f"gray{bits}{suffix}.png"] = {"channels": 1, "pixels": [p * scale for r in v for p in r]}
    # 16-bit gray: multiples of 257 map exactly to 8 bits.
    v8 = [[(x * 50 + y * 20) % 256 for x in range(W)] for y in range(H)]
    write(f"gray16{suffix}.png", [[p * 257 for p in r] for r in v8], greyscale=True, bitdepth=16, interlace=interlace)
    expected[f"gray16{suffix}.png"] = {"channels": 1, "pixels": [p for r in v8 for p in r]}
    # gray + alpha (alpha must be dropped, not composited)
    ga = [[((x * 40 + y * 30) % 256, (x * 60 + 5) % 256) for x in range(W)] for y in range(H)]
    for bits in (8, 16):
        m = 257 if bits == 16 else 1
        write(f"graya{bits}{suffix}.png", [[c * m for px in r for c in px] for r in ga], greyscale=True, alpha=True, bitdepth=bits, interlace=interlace)
        expected[f"graya{bits}{suffix}.png"] = {"channels": 1, "pixels": [px[0] for r in ga for px in r]}
    rgb = [[((x * 40) % 256, (y * 90 + x) % 256, (255 - x * 30 - y) % 256) for x in range(W)] for y in range(H)]
    for bits in (8, 16):
        m = 257 if bits == 16 else 1
        write(f"rgb{bits}{suffix}.png", [[c * m for px in r for c in px] for r in rgb], greyscale=False, bitdepth=bits, interlace=interlace)
        expected[f"rgb{bits}{suffix}.png"] = {"channels": 3, "pixels": [c for r in rgb for px in r for c in px]}
        rgba = [[c * m for x, px in enumerate(r) for c in px + ((x * 50 + 7) % 256,)] for r in rgb]
        write(f"rgba{bits}{suffix}.png", rgba, greyscale=False, alpha=True, bitdepth=bits, interlace=interlace)
        expected[f"rgba{bits}{suffix}.png"] = {"channels": 3, "pixels": [c for r in rgb for px in r for c in px]}
    for bits in (1, 2, 4, 8):
        n = min(1 << bits, 6)
        palette = [((i * 37) % 256, (i * 91 + 3) % 256, (200 - i * 23) % 256) for i in range(n)]
        idx = [[(x + 2 * y) % n for x in range(W)] for y in range(H)]
        write(f"palette{bits}{suffix}.png", idx, palette=palette, bitdepth=bits, interlace=interlace)
        expected[f"palette{bits}{suffix}.png"] = {"channels": 3, "pixels": [c for r in idx for i in r for c in palette[i]]}
        # with a tRNS chunk: alpha dropped, colours unchanged
        pal_a = [p + ((i * 80) % 256,) for i, p in enumerate(palette)]
        write(f"palette{bits}-trns{suffix}.png", idx, palette=pal_a, bitdepth=bits, interlace=interlace)
        expected[f"palette{bits}-trns{suffix}.png"] = {"channels": 3, "pixels": [c for r in idx for i in r for c in palette[i]]}

for v in expected.values():
    v["width"], v["height"] = W, H

# Malformed files.
with open(os.path.join(out, "gray8.png"), "rb") as f:
    good = f.read()
with open(os.path.join(out, "bad-truncated.png"), "wb") as f:
    f.write(good[: len(good) - 20])
with open(os.path.join(out, "bad-not-png.png"), "wb") as f:
    f.write(b"this is not an image\n")
# Header declares 1,000,000 x 1,000,000 pixels, with valid CRCs, and no data.
ihdr = struct.pack(">IIBBBBB", 1_000_000, 1_000_000, 8, 0, 0, 0, 0)
with open(os.path.join(out, "bad-huge.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))
# Valid header but corrupt compressed data.
ihdr = struct.pack(">IIBBBBB", W, H, 8, 0, 0, 0, 0)
with open(os.path.join(out, "bad-corrupt-data.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"\x78\x9c garbage garbage") + chunk(b"IEND", b""))

# A valid 4x4 gray image, for the "sizes differ" dataset test.
from pngwrite import png_bytes  # noqa: E402
with open(os.path.join(out, "odd-size.png"), "wb") as f:
    f.write(png_bytes([bytes([i * 16 + j for j in range(4)]) for i in range(4)], 4, 4))

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print(f"wrote {len(expected)} decodable fixtures and 4 malformed ones to {out}")
