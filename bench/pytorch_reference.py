#!/usr/bin/env python3
"""PyTorch reference for `make bench`: training samples/s on ONE thread of the
same MLP (64-128-128-10, ReLU) and small CNN (conv3x3 16 + ReLU + maxpool 2,
conv3x3 32 + ReLU + maxpool 2, linear 10; 1x28x28 inputs; padding 1) with
batch 64 and SGD (lr 0.05, momentum 0.9), on random data, as the Swift bench.

Prints one JSON object {"mlp": ..., "cnn": ..., "torch": version}.
Needs torch (pip install torch); the Swift bench skips it when absent.
"""
import argparse
import json
import time

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=3.0)
args = parser.parse_args()
torch.set_num_threads(1)
torch.manual_seed(0)


def rate(model, n, shape):
    x = torch.rand((n,) + shape)
    y = torch.randint(0, 10, (n,))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        perm = torch.randperm(n)
        for i in range(0, n, 64):
            idx = perm[i : i + 64]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()

    epoch()  # warm-up
    samples, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        epoch()
        samples += n
    return samples / (time.perf_counter() - start)


mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
cnn = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
)
print(json.dumps({"mlp": rate(mlp, 8192, (64,)), "cnn": rate(cnn, 1024, (1, 28, 28)), "torch": torch.__version__}))
