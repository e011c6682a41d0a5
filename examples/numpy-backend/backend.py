#!/usr/bin/env python3
"""An external model backend for `unlearn`, in NumPy alone: a softmax-regression or MLP classifier.

The external-model protocol (docs/EXTERNAL.md), version 2:

    python3 backend.py WORK_DIR                 (model.command)
    python3 backend.py --finetune WORK_DIR      (an algorithm with kind: external)

WORK_DIR/request.json says what to do ("action"):
  train    train a model from scratch on train_ids.npy with the request's seed and recipe
           ("training": epochs, learning_rate, batch_size, momentum, weight_decay; SGD at a
           constant rate, so it refuses another optimizer, schedule or class weighting);
  unlearn  start from the checkpoint in WORK_DIR/model/ and fine-tune it on retain_ids.npy
           (the baseline "fine-tune": forget by training on what is kept).
Either way, write the model to WORK_DIR/checkpoint/ and its logits on predict_ids.npy to
WORK_DIR/logits.npy (float32 [len(predict_ids), num_classes]). The data is features.npy
(float32 [n, C, H, W], row i is dataset id i) and labels.npy (int64 [n]).

model.parameters (all optional): hidden (a list of widths, default [] = softmax regression).
Fine-tune's hyper-parameters (algorithms.<name>.*): epochs (2), learning_rate (0.01).
Everything random comes from the request's seed, so the same request gives the same bytes.
"""
import json
import os
import sys

import numpy as np


def load(work, name):
    return np.load(os.path.join(work, name), mmap_mode="r")


def init(rng, sizes):
    """He-uniform weights [out, in] and zero biases, as PyTorch names them (layers.<k>.weight)."""
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = np.sqrt(6.0 / fan_in)
        params[f"{k}.weight"] = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        params[f"{k}.bias"] = np.zeros(fan_out, dtype=np.float32)
    return params


def layers(params):
    return [(params[f"{k}.weight"], params[f"{k}.bias"]) for k in range(len(params) // 2)]


def forward(params, x):
    """Activations of every layer (ReLU between Linear layers); the last is the logits."""
    acts = [x]
    net = layers(params)
    for k, (w, b) in enumerate(net):
        z = acts[-1] @ w.T + b
        acts.append(np.maximum(z, 0) if k < len(net) - 1 else z)
    return acts


def sgd(params, x, y, epochs, lr, batch, momentum, decay, rng):
    """Mean cross-entropy, SGD with momentum and coupled weight decay (PyTorch's SGD)."""
    names = sorted(params)
    velocity = {n: np.zeros_like(params[n]) for n in names}
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            acts = forward(params, x[idx])
            z = acts[-1] - acts[-1].max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            grad = p
            grad[np.arange(len(idx)), y[idx]] -= 1
            grad /= len(idx)
            net = layers(params)
            for k in range(len(net) - 1, -1, -1):
                w, _ = net[k]
                gw, gb = grad.T @ acts[k], grad.sum(axis=0)
                if k > 0:
                    grad = (grad @ w) * (acts[k] > 0)
                for name, g in ((f"{k}.weight", gw), (f"{k}.bias", gb)):
                    g = g + decay * params[name]
                    velocity[name] = momentum * velocity[name] + g
                    params[name] = (params[name] - lr * velocity[name]).astype(np.float32)
    return params


def save(params, folder):
    os.makedirs(folder, exist_ok=True)
    for name, t in params.items():
        np.save(os.path.join(folder, f"{name}.npy"), t)


def restore(folder):
    return {f[:-4]: np.load(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(".npy")}


def main(argv):
    finetune = argv[1:2] == ["--finetune"]
    work = argv[-1]
    with open(os.path.join(work, "request.json")) as f:
        request = json.load(f)
    features, labels = load(work, "features.npy"), load(work, "labels.npy")
    x_all = features.reshape(len(features), -1)
    rng = np.random.default_rng(request["seed"])
    recipe = request["training"]
    if recipe["optimizer"] != "sgd" or recipe["schedule"] != "constant" or recipe["class_weighting"] != "none":
        sys.exit("backend.py trains with SGD at a constant rate and no class weights: set training.optimizer: sgd, "
                 "training.schedule: constant and training.class_weighting: none")
    if request["action"] == "train":
        ids = np.load(os.path.join(work, "train_ids.npy"))
        hidden = [int(h) for h in request["model_parameters"].get("hidden", [])]
        params = init(rng, [x_all.shape[1]] + hidden + [request["num_classes"]])
        epochs, lr = recipe["epochs"], recipe["learning_rate"]
    elif request["action"] == "unlearn" and finetune:
        ids = np.load(os.path.join(work, "retain_ids.npy"))
        params = restore(os.path.join(work, "model"))
        hp = request["hyper_parameters"]
        epochs, lr = int(hp.get("epochs", 2)), float(hp.get("learning_rate", 0.01))
    else:
        sys.exit(f"backend.py: cannot {request['action']} (run as --finetune for the unlearn action)")
    x, y = np.asarray(x_all[ids], dtype=np.float32), np.asarray(labels[ids])
    assert (y >= 0).all(), "asked to learn from an example without a label"
    print(f"{request['action']} {request['name']}: {len(y)} examples, {epochs} epochs at {lr}, seed {request['seed']}")
    params = sgd(params, x, y, epochs, lr, recipe["batch_size"], recipe["momentum"], recipe["weight_decay"], rng)
    save(params, os.path.join(work, "checkpoint"))
    predict = np.load(os.path.join(work, "predict_ids.npy"))
    logits = forward(params, np.asarray(x_all[predict], dtype=np.float32))[-1].astype(np.float32)
    np.save(os.path.join(work, "logits.npy"), logits)
    with open(os.path.join(work, "backend.json"), "w") as f:
        json.dump({"deterministic": True, "device": "cpu"}, f)


if __name__ == "__main__":
    main(sys.argv)
