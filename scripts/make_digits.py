#!/usr/bin/env python3
"""Regenerates datasets/digits from scikit-learn's bundled copy of the UCI
optical digits (1,797 images, 8x8, 10 classes).

Pixel values 0..16 are scaled to 0..255 as round(v * 255 / 16) (NumPy's
round-half-to-even) and written as 8-bit grayscale PNG files, one per image,
with labels.csv listing `path,label` in scikit-learn's order.

Usage: pip install scikit-learn && python3 scripts/make_digits.py
Nothing at run time needs Python; the PNG files are committed.
"""
import os
import sys

import numpy as np
from sklearn.datasets import load_digits

sys.path.insert(0, os.path.dirname(__file__))
from pngwrite import png_bytes  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datasets", "digits")
images_dir = os.path.join(root, "images")
os.makedirs(images_dir, exist_ok=True)

digits = load_digits()
pixels = np.round(digits.images * 255.0 / 16.0).astype(np.uint8)
assert pixels.shape == (1797, 8, 8)
lines = ["path,label"]
for i, (img, label) in enumerate(zip(pixels, digits.target)):
    name = f"images/{i:04d}.png"
    with open(os.path.join(root, name), "wb") as f:
        f.write(png_bytes([img[r].tobytes() for r in range(8)], 8, 8, color_type=0, bit_depth=8))
    lines.append(f"{name},{int(label)}")
with open(os.path.join(root, "labels.csv"), "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"wrote {len(pixels)} images to {root}")
