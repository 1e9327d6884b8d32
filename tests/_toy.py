"""A tiny model, dataset and loss for testing the training engine in isolation."""
from __future__ import annotations

import torch
from torch import nn


class ToyDataset:
    """Deterministic dict samples: a 3x16x16 image whose label is its thresholded red channel."""

    def __init__(self, n: int = 48, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.frames = torch.rand(n, 3, 16, 16, generator=g)
        self.labels = (self.frames[:, :1] > 0.5).float()
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> dict:
        flip = (hash((self.epoch, i)) % 2) == 1  # a deterministic "augmentation"
        f, y = self.frames[i], self.labels[i]
        if flip:
            f, y = f.flip(-1), y.flip(-1)
        return {"frame": f, "label": y}


def toy_model() -> nn.Module:
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1))
    m.salkd_spec = {"name": "toy", "kwargs": {}}
    return m


def toy_loss(net, batch):
    logits = net(batch["frame"])
    loss = nn.functional.binary_cross_entropy_with_logits(logits, batch["label"])
    return loss, {"bce": float(loss.detach())}
