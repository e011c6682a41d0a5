#!/usr/bin/env python3
"""The speed benchmark's protocol as a plain PyTorch program: the peer `make bench` times against
`unlearn evaluate --config configs/protocol.yaml` (unlearn-bench --only=protocol).

    python3 bench/pytorch_protocol.py DATA_DIR [--models 512] [--workers 2]

DATA_DIR (written by the bench) holds features.npy (float32 [n, 64], the digits as unlearn loads
them), labels.npy (int64 [n]) and splits.json ({"train", "forget", "retain", "test"}: ids), the
same splits as the unlearn run. MLP 64-128-128-10, cross-entropy, batch 64, SGD momentum 0.9, no
weight decay, constant rate:
  original            30 epochs at 0.05 on train
  N retrained         30 epochs at 0.05 on retain, from scratch
  N fine-tuned         5 epochs at 0.01 on retain, from the original
  N gradient ascent    1 epoch  at 0.01 on forget, from the original
Scored as a participant would: the challenge's per-example ε with the organisers' decision rules
(scripts/challenge_oracle.py, a NumPy transcription of their metric.py), F and the final score of
both methods and of the retrain noise floor (half against half), and the starting kit's simple MIA.
Jobs and per-example ε run on a pool of `--workers` processes of one thread each.
Prints one JSON object with the wall times of training and scoring and the scores.
"""
import argparse
import json
import math
import os
import sys
import time
from multiprocessing import get_context

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import challenge_oracle  # noqa: E402

DATA = {}


def init_worker(data_dir):
    torch.set_num_threads(1)
    x = torch.from_numpy(np.load(os.path.join(data_dir, "features.npy")))
    y = torch.from_numpy(np.load(os.path.join(data_dir, "labels.npy")))
    with open(os.path.join(data_dir, "splits.json")) as f:
        splits = {k: torch.tensor(v) for k, v in json.load(f).items()}
    DATA.update(x=x, y=y, splits=splits)


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))


def train(net, ids, epochs, lr, seed, ascent=False):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    x, y = DATA["x"][ids], DATA["y"][ids]
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(ids), generator=g)
        for start in range(0, len(ids), 64):
            b = order[start:start + 64]
            opt.zero_grad()
            loss = loss_fn(net(x[b]), y[b])
            (-loss if ascent else loss).backward()
            opt.step()
    return net


def outputs(net):
    """Logit-scaled confidences of the forget examples, and retain / test accuracy in percent."""
    s = DATA["splits"]
    with torch.no_grad():
        z = net(DATA["x"][s["forget"]]).double()
        y = DATA["y"][s["forget"]]
        p = torch.softmax(z, 1)
        py = p[torch.arange(len(y)), y]
        conf = torch.log(py) - torch.log(torch.clamp(1 - py, min=1e-300))
        acc = {}
        for name in ("retain", "test", "forget"):
            ids = s[name]
            acc[name] = 100.0 * (net(DATA["x"][ids]).argmax(1) == DATA["y"][ids]).double().mean().item()
        losses = {name: nn.functional.cross_entropy(net(DATA["x"][s[name]]), DATA["y"][s[name]], reduction="none")
                  .numpy().astype(np.float64) for name in ("forget", "test")}
    return conf.numpy(), acc, kit_mia(losses["forget"], losses["test"])


def job(args):
    kind, seed, state = args
    torch.manual_seed(seed)
    s = DATA["splits"]
    if kind == "original":
        net = train(mlp(), s["train"], 30, 0.05, seed)
        return {k: v.clone() for k, v in net.state_dict().items()}, outputs(net)
    if kind == "retrain":
        net = train(mlp(), s["retain"], 30, 0.05, seed)
    else:
        net = mlp()
        net.load_state_dict(state)
        if kind == "finetune":
            net = train(net, s["retain"], 5, 0.01, seed)
        else:
            net = train(net, s["forget"], 1, 0.01, seed, ascent=True)
    return None, outputs(net)


def epsilon(args):
    u, r = args
    return challenge_oracle.epsilon(np.asarray(u, np.float64), np.asarray(r, np.float64))[0]


def kit_mia(forget_loss, test_loss, seed=0):
    """The starting kit's simple MIA: logistic regression on the loss, 10 stratified splits (NumPy)."""
    rng = np.random.default_rng(seed)
    n = min(len(forget_loss), len(test_loss))
    f, t = rng.permutation(forget_loss)[:n], rng.permutation(test_loss)[:n]
    x, y = np.concatenate([t, f]), np.concatenate([np.zeros(n), np.ones(n)])
    accs = []
    for _ in range(10):
        test = np.concatenate([rng.permutation(n)[:math.ceil(0.05 * 2 * n)], n + rng.permutation(n)[:math.ceil(0.05 * 2 * n)]])
        train = np.setdiff1d(np.arange(2 * n), test)
        w, b = 0.0, 0.0
        for _ in range(25):  # Newton steps, L2 penalty of C = 1
            p = 1 / (1 + np.exp(-(w * x[train] + b)))
            g = np.array([np.sum((p - y[train]) * x[train]) + w, np.sum(p - y[train])])
            h = p * (1 - p)
            H = np.array([[np.sum(h * x[train] ** 2) + 1, np.sum(h * x[train])], [np.sum(h * x[train]), np.sum(h)]])
            w, b = np.array([w, b]) - np.linalg.solve(H, g)
        accs.append(np.mean(((w * x[test] + b) > 0) == (y[test] == 1)))
    return float(np.mean(accs))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--models", type=int, default=512)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    start = time.time()
    ctx = get_context("fork")
    with ctx.Pool(a.workers, initializer=init_worker, initargs=(a.data,)) as pool:
        state, original = pool.apply(job, (("original", 0, None),))
        jobs = [("retrain", 1000 + i, None) for i in range(a.models)]
        jobs += [("finetune", 2000 + i, state) for i in range(a.models)]
        jobs += [("gradient-ascent", 3000 + i, state) for i in range(a.models)]
        results = pool.map(job, jobs, chunksize=8)
        trained = time.time()
        pops = {}
        for (kind, _, _), (_, out) in zip(jobs, results):
            pops.setdefault(kind, []).append(out)
        conf = {k: np.stack([o[0] for o in v]) for k, v in pops.items()}
        acc = {k: {s: float(np.mean([o[1][s] for o in v])) for s in ("retain", "test")} for k, v in pops.items()}
        half = a.models // 2
        pairs = {
            "finetune": (conf["finetune"], conf["retrain"]),
            "gradient-ascent": (conf["gradient-ascent"], conf["retrain"]),
            "retrain": (conf["retrain"][:half], conf["retrain"][half:2 * half]),
        }
        scores = {}
        for name, (u, r) in pairs.items():
            eps = pool.map(epsilon, [(u[:, j], r[:, j]) for j in range(u.shape[1])])
            _, f = challenge_oracle.forgetting_quality(eps, len(u))
            ref = "retrain"
            ratio = (acc[name]["retain"] / acc[ref]["retain"]) * (acc[name]["test"] / acc[ref]["test"])
            scores[name] = {"F": f, "score": f * ratio}
        for name in pops:
            scores.setdefault(name, {})["kit_mia"] = float(np.mean([o[2] for o in pops[name]]))
    done = time.time()
    print(json.dumps({
        "seconds": done - start, "training_seconds": trained - start, "scoring_seconds": done - trained,
        "models": a.models, "workers": a.workers, "torch": torch.__version__, "scores": scores}))


if __name__ == "__main__":
    main()
