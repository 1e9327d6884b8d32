"""ResNet backbones (He et al. 2016) with torchvision's parameter layout, for fastvsod Sec. 3.2.

Parameter names and shapes follow torchvision's ``resnet18/34/50`` (``conv1``, ``bn1``,
``layer{1..4}.{j}.conv1/bn1/conv2/bn2[/conv3/bn3]``, ``downsample.0/1``) so a user's ImageNet
state_dict file loads (its ``fc.*`` keys are ignored: there is no classifier here). ``width``
scales every channel count (only width=1 matches the torchvision shapes). ``dilate_last=True``
replaces layer4's stride by dilation 2 (output stride 16, as DeepLab/ASPP expect).
"""
from __future__ import annotations

import os
from typing import Type

import torch
import torch.nn as nn

from .blocks import ch

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet", "load_torchvision_weights"]


class BasicBlock(nn.Module):
    """Two 3x3 convs + identity (ResNet-18/34)."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + idt)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (stride on the 3x3, "ResNet v1.5" as torchvision), 1x1 expand x4 + identity."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + idt)


class ResNet(nn.Module):
    """ResNet trunk without avgpool/fc. ``forward`` returns the outputs of layer1..layer4
    (strides 4, 8, 16, 16 with ``dilate_last`` else 32): the side outputs S1..S4 of fastvsod eq. 1."""

    def __init__(self, block: Type[BasicBlock] | Type[Bottleneck], layers: tuple[int, ...], width: float = 1.0,
                 dilate_last: bool = True) -> None:
        super().__init__()
        base = ch(64, width)
        self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self._cin = base
        self.layer1 = self._make(block, base, layers[0], 1, 1)
        self.layer2 = self._make(block, ch(128, width), layers[1], 2, 1)
        self.layer3 = self._make(block, ch(256, width), layers[2], 2, 1)
        self.layer4 = self._make(block, ch(512, width), layers[3], 1 if dilate_last else 2, 2 if dilate_last else 1)
        self.channels = tuple(c * block.expansion for c in (base, ch(128, width), ch(256, width), ch(512, width)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make(self, block: Type[BasicBlock] | Type[Bottleneck], planes: int, n: int, stride: int,
              dilation: int) -> nn.Sequential:
        down = None
        if stride != 1 or self._cin != planes * block.expansion:
            down = nn.Sequential(nn.Conv2d(self._cin, planes * block.expansion, 1, stride, bias=False),
                                 nn.BatchNorm2d(planes * block.expansion))
        # torchvision: the first block of a dilated layer uses the previous dilation (1 here)
        blocks = [block(self._cin, planes, stride, 1, down)]
        self._cin = planes * block.expansion
        blocks += [block(self._cin, planes, 1, dilation) for _ in range(1, n)]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outs.append(x)
        return outs


_SPECS = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet34": (BasicBlock, (3, 4, 6, 3)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
}


def resnet(name: str = "resnet50", width: float = 1.0, dilate_last: bool = True) -> ResNet:
    """Build ``resnet18``/``resnet34``/``resnet50`` (torchvision layout) scaled by ``width``."""
    if name not in _SPECS:
        raise ValueError(f"backbone must be one of {sorted(_SPECS)}, got {name!r}")
    block, layers = _SPECS[name]
    return ResNet(block, layers, width, dilate_last)


def load_torchvision_weights(backbone: ResNet, path: str | os.PathLike, arch: str = "resnet") -> ResNet:
    """Load a user's torchvision-layout ImageNet state_dict file (never downloads); ``fc.*`` ignored.

    Raises ValueError listing missing / unexpected / shape-mismatched keys for a wrong file.
    """
    from .checkpoints import load_state_checked, read_state_dict

    sd = {k: v for k, v in read_state_dict(path).items() if not k.startswith("fc.")}
    return load_state_checked(backbone, sd, source=f"ImageNet weights {path}", arch=f"{arch} backbone")
