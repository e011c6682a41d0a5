"""The NeurIPS 2023 Unlearning Challenge starting kit's example submission: fine-tune on the retain
set (SGD, cross-entropy, a cosine schedule), unchanged in form. Run it with neurips_adapter.py."""
import torch
from torch import nn, optim

DEVICE = "cpu"  # replaced by the adapter


def unlearning(net, retain_loader, forget_loader, val_loader):
    epochs = 1
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    net.train()
    for _ in range(epochs):
        for inputs, targets in retain_loader:
            inputs, targets = inputs.to(DEVICE), targets.to(DEVICE)
            optimizer.zero_grad()
            loss = criterion(net(inputs), targets)
            loss.backward()
            optimizer.step()
        scheduler.step()
    net.eval()
