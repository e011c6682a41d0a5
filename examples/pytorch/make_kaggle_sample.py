#!/usr/bin/env python3
"""Writes a small synthetic dataset in the Kaggle CIFAR-10 layout (train/<id>.png, trainLabels.csv):
per class a colour and a stripe direction, plus noise, so that a small CNN learns it in seconds.

    python3 examples/pytorch/make_kaggle_sample.py OUT [--images 240] [--size 16] [--classes 3]
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from pngwrite import png_bytes  # noqa: E402

NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--images", type=int, default=240)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--classes", type=int, default=3)
    a = p.parse_args()
    rng = random.Random(0)
    os.makedirs(os.path.join(a.out, "train"), exist_ok=True)
    rows = ["id,label"]
    for i in range(1, a.images + 1):
        c = (i * 7) % a.classes
        base = [(90 + 25 * ((c + k) % 3)) for k in range(3)]
        lines = []
        for y in range(a.size):
            line = bytearray()
            for x in range(a.size):
                stripe = 30 if ((x if c % 2 else y) // 2) % 2 else 0
                line += bytes(max(0, min(255, base[k] + stripe + rng.randint(-110, 110))) for k in range(3))
            lines.append(bytes(line))
        with open(os.path.join(a.out, "train", f"{i}.png"), "wb") as f:
            f.write(png_bytes(lines, a.size, a.size, color_type=2))
        rows.append(f"{i},{NAMES[c]}")
    with open(os.path.join(a.out, "trainLabels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"wrote {a.images} images of {a.classes} classes to {a.out}")


if __name__ == "__main__":
    main()
