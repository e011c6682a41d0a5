#!/usr/bin/env python3
"""Train a population elsewhere, in PyTorch, and write it in the layout `unlearn import --from` reads.

    unlearn import --config CONFIG --out RUN                  # prepares RUN: splits.json, .work/data/
    python3 train_population.py RUN DIR [--models N] [--epochs E]
    unlearn import --config CONFIG --out RUN --from DIR

It trains a softmax regression (one nn.Linear) on RUN's data: the original on the training split
(forget + retain) and N retrained models on the retain set, each with its own seed, and writes
DIR/ids/<split>.npy, DIR/original/<split>.npy and DIR/retrain/<index>/<split>.npy (float32 logits
[rows, classes], rows in the order of the ids). The original's checkpoint goes to
DIR/original/checkpoint/ as 0.weight.npy and 0.bias.npy, the format of examples/numpy-backend,
so that an external algorithm of that backend can unlearn from it. On a cluster, the same script
would run one model per GPU task; here it runs on the CPU, deterministically.
"""
import argparse
import json
import os

import numpy as np
import torch

SPLITS = ["forget", "retain", "test", "validation", "audit"]


def train(x, y, classes, seed, epochs, lr=0.05, batch=64):
    torch.manual_seed(seed)
    model = torch.nn.Linear(x.shape[1], classes)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=g)
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run")
    p.add_argument("out")
    p.add_argument("--models", type=int, default=4)
    p.add_argument("--epochs", type=int, default=3)
    a = p.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    with open(os.path.join(a.run, "splits.json")) as f:
        splits = {k: np.array(v["ids"], dtype=np.int64) for k, v in json.load(f)["splits"].items()}
    features = np.load(os.path.join(a.run, ".work/data/features.npy"))
    labels = np.load(os.path.join(a.run, ".work/data/labels.npy"))
    x_all = torch.from_numpy(features.reshape(len(features), -1))
    y_all = torch.from_numpy(labels)
    classes = int(labels.max()) + 1

    def save(model, folder):
        os.makedirs(folder, exist_ok=True)
        with torch.no_grad():
            for s in SPLITS:
                np.save(os.path.join(folder, f"{s}.npy"), model(x_all[splits[s]]).numpy().astype(np.float32))

    os.makedirs(os.path.join(a.out, "ids"), exist_ok=True)
    for s in SPLITS:
        np.save(os.path.join(a.out, "ids", f"{s}.npy"), splits[s])
    train_ids = np.sort(np.concatenate([splits["forget"], splits["retain"]]))
    original = train(x_all[train_ids], y_all[train_ids], classes, seed=0, epochs=a.epochs)
    save(original, os.path.join(a.out, "original"))
    checkpoint = os.path.join(a.out, "original", "checkpoint")
    os.makedirs(checkpoint, exist_ok=True)
    np.save(os.path.join(checkpoint, "0.weight.npy"), original.weight.detach().numpy().astype(np.float32))
    np.save(os.path.join(checkpoint, "0.bias.npy"), original.bias.detach().numpy().astype(np.float32))
    for i in range(a.models):
        r = splits["retain"]
        save(train(x_all[r], y_all[r], classes, seed=1 + i, epochs=a.epochs), os.path.join(a.out, "retrain", f"{i:04d}"))
    print(f"wrote the original and {a.models} retrained models to {a.out}")


if __name__ == "__main__":
    main()
