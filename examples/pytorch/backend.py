#!/usr/bin/env python3
"""A PyTorch model backend for `unlearn` (external-model protocol, version 2; docs/EXTERNAL.md).

    python3 examples/pytorch/backend.py WORK_DIR                      model.command: train from scratch
    python3 examples/pytorch/backend.py --finetune WORK_DIR           an algorithm: fine-tune on retain
    python3 examples/pytorch/backend.py --gradient-ascent WORK_DIR    an algorithm: ascend the forget loss
    python3 examples/pytorch/neurips_adapter.py FILE.py WORK_DIR      a NeurIPS 2023 `unlearning` function

model.parameters: network (resnet18, the CIFAR-style ResNet-18 of the NeurIPS 2023 challenge, or
small_cnn: two conv blocks, for quick runs), width (resnet18's first width, 64).
The training recipe is the configuration's `training` section (epochs, batch_size, learning_rate,
momentum, weight_decay, optimizer sgd or adam, schedule constant or cosine).

It runs on a GPU when one is visible (pass CUDA_VISIBLE_DEVICES with model.pass_environment), else on
the CPU, where it is deterministic (seeded, torch.use_deterministic_algorithms, one thread), so
`unlearn rerun --verify` passes; on a GPU it says in backend.json that it is not.
The checkpoint is checkpoint/model.safetensors-like raw tensors: one .npy file per state_dict entry.
"""
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


# --- Networks -------------------------------------------------------------------------------------

class SmallCNN(nn.Module):
    def __init__(self, channels, classes):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(32, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for 32×32 inputs (3×3 stem, no max-pool), as trained on CIFAR-10 in the challenge."""

    def __init__(self, channels, classes, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, cin = [], width
        for i, cout in enumerate([width, 2 * width, 4 * width, 8 * width]):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def build(request):
    p = request["model_parameters"]
    channels, classes = request["input_shape"][0], request["num_classes"]
    network = p.get("network", "small_cnn")
    if network == "small_cnn":
        return SmallCNN(channels, classes)
    if network == "resnet18":
        return ResNet18(channels, classes, int(p.get("width", 64)))
    sys.exit(f"model.parameters.network must be small_cnn or resnet18, not {network}")


# --- The work folder --------------------------------------------------------------------------------

class Work:
    """One call's work folder: the request, the data as tensors, the device."""

    def __init__(self, folder):
        self.folder = folder
        with open(os.path.join(folder, "request.json")) as f:
            self.request = json.load(f)
        self.features = np.load(os.path.join(folder, "features.npy"), mmap_mode="r")
        self.labels = np.load(os.path.join(folder, "labels.npy"))
        self.cuda = torch.cuda.is_available()
        self.device = torch.device("cuda" if self.cuda else "cpu")
        seed = self.request["seed"] % (2**63)
        torch.manual_seed(seed)
        np.random.seed(seed % (2**32))
        if not self.cuda:
            torch.use_deterministic_algorithms(True)
            torch.set_num_threads(1)
        self.generator = torch.Generator().manual_seed(seed)

    def path(self, name):
        return os.path.join(self.folder, name)

    def ids(self, name):
        return np.load(self.path(f"{name}_ids.npy"))

    def dataset(self, ids):
        x = torch.from_numpy(np.ascontiguousarray(self.features[ids]))
        y = torch.from_numpy(self.labels[ids])
        if (y < 0).any():
            sys.exit("asked to learn from examples without labels (test or audit)")
        return torch.utils.data.TensorDataset(x, y)

    def loader(self, ids, batch=None, shuffle=True):
        return torch.utils.data.DataLoader(
            self.dataset(ids), batch_size=batch or self.request["training"]["batch_size"], shuffle=shuffle,
            generator=self.generator)

    def load(self):
        net = build(self.request)
        state = {k: torch.from_numpy(np.load(self.path(f"model/{k}.npy"))) for k in net.state_dict()}
        net.load_state_dict(state, strict=True)
        return net.to(self.device)

    def finish(self, net):
        """Writes checkpoint/, logits.npy on predict_ids.npy, and backend.json."""
        net = net.eval()
        os.makedirs(self.path("checkpoint"), exist_ok=True)
        for k, v in net.state_dict().items():
            np.save(self.path(f"checkpoint/{k}.npy"), v.detach().cpu().numpy())
        predict = np.load(self.path("predict_ids.npy"))
        out = []
        with torch.no_grad():
            for start in range(0, len(predict), 512):
                x = torch.from_numpy(np.ascontiguousarray(self.features[predict[start:start + 512]]))
                out.append(net(x.to(self.device)).float().cpu().numpy())
        np.save(self.path("logits.npy"), np.concatenate(out).astype(np.float32))
        with open(self.path("backend.json"), "w") as f:
            json.dump({"deterministic": not self.cuda, "device": str(self.device)}, f)


def optimizer(net, recipe, lr=None, epochs=None):
    lr = recipe["learning_rate"] if lr is None else lr
    if recipe["optimizer"] == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=recipe["weight_decay"])
    else:
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=recipe["momentum"], weight_decay=recipe["weight_decay"])
    epochs = recipe["epochs"] if epochs is None else epochs
    cosine = recipe["schedule"] == "cosine"
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: 0.5 * (1 + math.cos(math.pi * e / max(epochs, 1))) if cosine else 1.0)
    return opt, sched


def train(net, loader, recipe, device, epochs=None, lr=None, sign=1.0):
    """Epochs of cross-entropy (sign −1: gradient ascent), stepping the schedule once per epoch."""
    epochs = recipe["epochs"] if epochs is None else epochs
    opt, sched = optimizer(net, recipe, lr, epochs)
    net.train()
    for _ in range(epochs):
        for x, y in loader:
            opt.zero_grad()
            (sign * F.cross_entropy(net(x.to(device)), y.to(device))).backward()
            opt.step()
        sched.step()
    return net


def main(argv):
    mode, work = (argv[1] if len(argv) > 2 else "--train"), Work(argv[-1])
    request, recipe = work.request, work.request["training"]
    hp = request["hyper_parameters"]
    print(f"{request['action']} ({mode}) {request['name']} on {work.device}, seed {request['seed']}", flush=True)
    if request["action"] == "train":
        net = train(build(request).to(work.device), work.loader(work.ids("train")), recipe, work.device)
    elif mode == "--finetune":
        net = train(work.load(), work.loader(work.ids("retain")), recipe, work.device,
                    epochs=int(hp.get("epochs", 1)), lr=float(hp.get("learning_rate", 0.01)))
    elif mode == "--gradient-ascent":
        net = train(work.load(), work.loader(work.ids("forget")), recipe, work.device,
                    epochs=int(hp.get("epochs", 1)), lr=float(hp.get("learning_rate", 0.001)), sign=-1.0)
    else:
        sys.exit(f"backend.py: the unlearn action needs --finetune or --gradient-ascent, got {mode}")
    work.finish(net)


if __name__ == "__main__":
    main(sys.argv)
