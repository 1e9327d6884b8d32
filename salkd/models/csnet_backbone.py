"""CSNet as a pretrained backbone for fastvsod (``FastVSOD(backbone="csnet")``).

CSNet (S.-H. Gao et al., *Highly Efficient Salient Object Detection with 100K Parameters*, ECCV 2020) is
a salient-object network trained on DUTS-TR; its five stages end at strides 1, 1, 2, 4 and 8 of the
input (channels 13, 18, 51, 38, 64 for CSNet-L-x2). fastvsod's eq. 1 takes four side outputs S1..S4 and
ASPP(S4); from CSNet we take S1 = stage 3 (stride 4), S2 = stage 4 (stride 8), S3 = stage 2 average-pooled
to stride 8, S4 = stage 4 (stride 8), so L is at stride 4 and H at stride 8 (ResNet's H is at 16).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["CSNetBackbone"]


class CSNetBackbone(nn.Module):
    """CSNet's stages as S1..S4 (``channels``), with CSNet's released weights (``salkd weights``).

    ``freeze``: no gradient into CSNet and its BatchNorm statistics kept (eval mode) while the rest of
    the network trains. ``name``: ``csnet_x2`` (default) or ``csnet_x1``. ``pretrained=False`` builds the
    architecture with random weights (its channel configuration still comes from the ``.bin`` file).
    """

    def __init__(self, name: str = "csnet_x2", freeze: bool = True, pretrained: bool = True) -> None:
        super().__init__()
        from salkd.models import pretrained as published

        if pretrained:
            self.net = published.load(name)
        else:
            from salkd import weights

            path = weights.find(name)
            if path is None:
                raise FileNotFoundError(f"{name}: its channel configuration (.bin) is needed to build it; "
                                        f"run `salkd weights get {name}`")
            self.net = published.build(name, path.with_name(path.name.replace(".pth.tar", ".bin")))
        f = self.net.feature_channels
        self.channels = (f[3], f[4], f[2], f[4])
        self.freeze = freeze
        if freeze:
            for p in self.net.parameters():
                p.requires_grad_(False)
            self.net.eval()

    def train(self, mode: bool = True) -> "CSNetBackbone":
        super().train(mode)
        if self.freeze:
            self.net.eval()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """S1 (stride 4), S2, S3, S4 (stride 8) of ImageNet-normalized RGB ``x``."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            f = self.net.features(x)
        return f[3], f[4], F.avg_pool2d(f[2], 4), f[4]
