#!/usr/bin/env python3
"""Fine-tune on the retain set: an unlearning algorithm for `unlearn`, in NumPy alone.

The external-algorithm protocol (README, "Submitting an algorithm"), version 2 (docs/EXTERNAL.md):

    python3 finetune_numpy.py WORK_DIR

WORK_DIR holds model.safetensors (float32, PyTorch names such as layers.0.weight), architecture.json,
forget/retain/validation.npy (float32 [n, C, H, W]) with *_labels.npy (int64 [n])
and request.json (seed, time budget, hyper_parameters, the experiment's training
recipe). Write WORK_DIR/unlearned.safetensors with the same tensor names and shapes.

This example handles the `softmax` and `mlp` architectures (Linear layers with
ReLU between them): it runs a few epochs of SGD with momentum and weight decay on
the retain set, starting from the original weights, with all randomness drawn from
the request's seed, so the same request always gives the same bytes.

Hyper-parameters (configuration `algorithms.<name>.*`, all optional):
epochs (2), learning_rate (0.05), batch_size (64), momentum (0.9), weight_decay (5e-4).
"""
import json
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    """Returns ({name: float32 array}, metadata), validating what it reads."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(info["shape"]).copy()
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    """Writes float32 tensors in the given order (the harness validates names and shapes)."""
    entries, offset, blobs = {}, 0, []
    if metadata:
        entries["__metadata__"] = metadata
    for name, t in tensors.items():
        blob = np.ascontiguousarray(t, dtype="<f4").tobytes()
        entries[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    header = json.dumps(entries, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + b"".join(blobs))
    os.replace(tmp, path)


def linear_layers(tensors):
    """(weight name, weight [out, in], bias name, bias [out]) of each nn.Linear, in module order.

    The names are those of a module holding the nn.Sequential as `self.layers`:
    "layers.0.weight", "layers.0.bias", "layers.2.weight", ...
    """
    indices = sorted({int(name.split(".")[1]) for name in tensors})
    return [(f"layers.{i}.weight", tensors[f"layers.{i}.weight"], f"layers.{i}.bias", tensors[f"layers.{i}.bias"]) for i in indices]


def main(work):
    with open(os.path.join(work, "request.json")) as f:
        request = json.load(f)
    with open(os.path.join(work, "architecture.json")) as f:
        architecture = json.load(f)
    if architecture["kind"] not in ("softmax", "mlp"):
        sys.exit(f"finetune_numpy.py handles softmax and mlp models, not {architecture['kind']}; see pytorch_template.py")
    hp = request["hyper_parameters"]
    epochs = int(hp.get("epochs", 2))
    lr = float(hp.get("learning_rate", 0.05))
    batch = int(hp.get("batch_size", 64))
    momentum = float(hp.get("momentum", 0.9))
    decay = float(hp.get("weight_decay", 5e-4))

    tensors, metadata = read_safetensors(os.path.join(work, "model.safetensors"))
    layers = linear_layers(tensors)
    params = [p for _, w, _, b in layers for p in (w, b)]
    velocity = [np.zeros_like(p) for p in params]
    x = np.load(os.path.join(work, "retain.npy")).reshape(-1, layers[0][1].shape[1]).astype(np.float32)
    y = np.load(os.path.join(work, "retain_labels.npy")).astype(np.int64)
    rng = np.random.default_rng(request["seed"])
    print(f"fine-tuning on {len(y)} retain examples: {epochs} epochs, lr {lr}, batch {batch}, seed {request['seed']}")

    for epoch in range(epochs):
        order = rng.permutation(len(y))
        total = 0.0
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            # Forward: Linear, then ReLU before every Linear but the first.
            activations = [x[idx]]
            for k, (_, w, _, b) in enumerate(layers):
                z = activations[-1] @ w.T + b
                activations.append(np.maximum(z, 0) if k < len(layers) - 1 else z)
            logits = activations[-1]
            logits = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            total += -np.log(p[np.arange(len(idx)), y[idx]] + 1e-12).sum()
            # Backward: mean cross-entropy.
            grad = p
            grad[np.arange(len(idx)), y[idx]] -= 1
            grad /= len(idx)
            grads = []
            for k in range(len(layers) - 1, -1, -1):
                w = layers[k][1]
                a = activations[k]
                grads = [grad.T @ a, grad.sum(axis=0)] + grads
                if k > 0:
                    grad = (grad @ w) * (activations[k] > 0)
            for p_, g, v in zip(params, grads, velocity):
                v *= momentum
                v += g + decay * p_
                p_ -= lr * v
        print(f"epoch {epoch + 1}: mean retain loss {total / len(y):.4f}")

    out = {}
    for weight_name, w, bias_name, b in layers:
        out[weight_name] = w
        out[bias_name] = b
    write_safetensors(os.path.join(work, "unlearned.safetensors"), out, metadata)
    print("wrote unlearned.safetensors")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: finetune_numpy.py WORK_DIR")
    main(sys.argv[1])
