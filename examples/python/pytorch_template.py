#!/usr/bin/env python3
"""A PyTorch starting point for an `unlearn` external algorithm.

    python3 pytorch_template.py WORK_DIR

It rebuilds the harness's model as an equivalent torch.nn.Sequential from
architecture.json, loads model.safetensors into it (the tensor names are the
module's state_dict keys), runs your unlearning (here: fine-tuning on the retain
set, like the NeurIPS 2023 challenge's starting kit), and writes
unlearned.safetensors. Replace `unlearn()` with your method; everything else is
the protocol (README, "Submitting an algorithm").

Needs torch and numpy; the `safetensors` package is not required. The harness
gives the command one thread (OMP_NUM_THREADS=1) because it runs one job per
core; call torch.set_num_threads yourself if you want otherwise.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn


class Model(nn.Module):
    """The harness's model: an nn.Sequential held as `self.layers`, so the state_dict keys
    ("layers.0.weight", ...) are the tensor names of model.safetensors."""

    def __init__(self, architecture):
        super().__init__()
        self.layers = build_layers(architecture)
        self.flat = architecture["kind"] != "cnn"

    def forward(self, x):
        return self.layers(x.reshape(len(x), -1) if self.flat else x)


def build_layers(architecture):
    """nn.Sequential with the harness's layer order (the safetensors metadata's torch_module)."""
    c, h, w = architecture["input_shape"]
    k = architecture["num_classes"]
    kind = architecture["kind"]
    if kind == "softmax":
        return nn.Sequential(nn.Linear(c * h * w, k))  # takes flattened features, as the MLP does
    if kind == "mlp":
        layers, width = [], c * h * w
        for hidden in architecture["hidden"]:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        return nn.Sequential(*layers, nn.Linear(width, k))
    if kind == "cnn":
        layers, cin, size = [], c, architecture["kernel_size"]
        for cout in architecture["channels"]:
            layers += [nn.Conv2d(cin, cout, size, padding=size // 2), nn.ReLU(), nn.MaxPool2d(2)]
            cin, h, w = cout, h // 2, w // 2
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(cin * h * w, k))
    raise ValueError(f"unknown architecture kind {kind}")


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(body[begin:end], dtype="<f4").reshape(info["shape"]).copy())
    return tensors, metadata


def write_safetensors(path, state, metadata):
    entries, offset, blobs = ({"__metadata__": metadata} if metadata else {}), 0, []
    for name, t in state.items():
        blob = t.detach().cpu().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        entries[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    header = json.dumps(entries, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + b"".join(blobs))
    os.replace(path + ".tmp", path)


def load_split(work, name):
    x = torch.from_numpy(np.load(os.path.join(work, f"{name}.npy")))
    y = torch.from_numpy(np.load(os.path.join(work, f"{name}_labels.npy")))
    return x, y


def unlearn(model, forget, retain, validation, request):
    """Your method goes here. This one fine-tunes on the retain set."""
    hp = request["hyper_parameters"]
    epochs = int(hp.get("epochs", 2))
    x, y = retain
    opt = torch.optim.SGD(model.parameters(), lr=float(hp.get("learning_rate", 0.05)), momentum=0.9, weight_decay=5e-4)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=int(hp.get("batch_size", 64)), shuffle=True)
    model.train()
    for epoch in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        print(f"epoch {epoch + 1} done")
    return model


def main(work):
    with open(os.path.join(work, "request.json")) as f:
        request = json.load(f)
    with open(os.path.join(work, "architecture.json")) as f:
        architecture = json.load(f)
    torch.manual_seed(request["seed"] % 2**63)
    model = Model(architecture)
    state, metadata = read_safetensors(os.path.join(work, "model.safetensors"))
    model.load_state_dict(state, strict=True)  # fails loudly if the names or shapes differ
    splits = [load_split(work, s) for s in ("forget", "retain", "validation")]
    model = unlearn(model, *splits, request)
    write_safetensors(os.path.join(work, "unlearned.safetensors"), model.state_dict(), metadata)
    print("wrote unlearned.safetensors")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: pytorch_template.py WORK_DIR")
    main(sys.argv[1])
