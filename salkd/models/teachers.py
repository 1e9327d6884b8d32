"""High-resolution teachers in the styles named by skd Sec. III-A / uvanet Sec. 4 (Tab. 3).

The papers distil from pretrained DVA, SalNet, SSNet (spatial) and TSNet (temporal); their weights
are unavailable, so salkd trains teachers of the same *styles* (they are not faithful copies):

* ``DVATeacher`` (Wang & Shen, TIP 2018): VGG-16 encoder (13 convs, 4 poolings) with three side
  outputs from conv3_3, conv4_3, conv5_3 (multi-level supervision), fused by a 1x1 conv.
* ``SalNetTeacher`` (Pan et al., CVPR 2016, deep net): a deep single stream: VGG blocks 1-3 then
  large-kernel convs (5x5, 7x7) and a learned 16x16/8 deconvolution.
* ``SSNetTeacher`` (Bak et al., spatial stream of STS): VGG-M-like: 7x7/2 conv, pool, 5x5/2 conv,
  three 3x3 convs, 1x1 to one map, learned 16x16/8 deconvolution.
* ``TSNetTeacher`` (temporal stream of STS): the SSNet topology on cat(frame, optical flow).

``width`` scales every channel count (1.0 = the original channel counts: 64..512). The default
``width`` (0.125 DVA, 0.125 SalNet, 0.25 SSNet/TSNet) is the CPU size used by salkd's teachers
notebook. Every teacher: NCHW float RGB in [0, 1] (ImageNet normalization inside), logits
(N, 1, H, W) at input resolution. H, W must be multiples of ``stride`` (16 DVA, 8 the others).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .blocks import ImageNetNorm, SaliencyModel, ch, upsample_to

__all__ = ["DVATeacher", "SalNetTeacher", "SSNetTeacher", "TSNetTeacher", "normalize_flow"]


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


def _vgg_block(cin: int, cout: int, n: int) -> nn.Sequential:
    layers = [_conv(cin, cout)] + [_conv(cout, cout) for _ in range(n - 1)]
    return nn.Sequential(*layers)


class DVATeacher(SaliencyModel):
    """DVA-style spatial teacher: VGG-16 encoder with side outputs at strides 4, 8, 16.

    ``forward_train(x)`` -> {"out": fused logits, "side1"/"side2"/"side3": conv3/conv4/conv5 side
    logits}, all at input resolution (train each with the hard loss, as DVA's multi-level losses).
    ``model(x)`` -> the fused "out". BN added after each conv (trainable from scratch).
    """

    stride = 16
    model_name = "teacher_dva"

    def __init__(self, width: float = 0.125) -> None:
        super().__init__()
        c = [ch(v, width) for v in (64, 128, 256, 512, 512)]
        self.norm = ImageNetNorm(1)
        self.block1 = _vgg_block(3, c[0], 2)
        self.block2 = nn.Sequential(nn.MaxPool2d(2), _vgg_block(c[0], c[1], 2))
        self.block3 = nn.Sequential(nn.MaxPool2d(2), _vgg_block(c[1], c[2], 3))
        self.block4 = nn.Sequential(nn.MaxPool2d(2), _vgg_block(c[2], c[3], 3))
        self.block5 = nn.Sequential(nn.MaxPool2d(2), _vgg_block(c[3], c[4], 3))
        self.side = nn.ModuleList([nn.Conv2d(c[i], 1, 1) for i in (2, 3, 4)])
        self.fuse = nn.Conv2d(3, 1, 1)
        # the fusion starts as the mean of the side outputs (HED's fusion init): a random init can give
        # a side output a negative weight, and such a teacher learned an inverted map (NSS < 0)
        with torch.no_grad():
            self.fuse.weight.fill_(1.0 / 3.0)
            self.fuse.bias.zero_()

    def forward_train(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self._check(x, 3)
        f2 = self.block2(self.block1(self.norm(x)))
        f3 = self.block3(f2)
        f4 = self.block4(f3)
        f5 = self.block5(f4)
        sides = [upsample_to(s(f), x) for s, f in zip(self.side, (f3, f4, f5))]
        out = self.fuse(torch.cat(sides, 1))
        return {"out": out, "side1": sides[0], "side2": sides[1], "side3": sides[2]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_train(x)["out"]


class SalNetTeacher(SaliencyModel):
    """SalNet-style (deep) spatial teacher: a deep single stream to stride 8 + learned deconvolution."""

    stride = 8
    model_name = "teacher_salnet"

    def __init__(self, width: float = 0.125) -> None:
        super().__init__()
        c = [ch(v, width) for v in (64, 128, 256, 512, 256)]
        self.norm = ImageNetNorm(1)
        self.body = nn.Sequential(
            _vgg_block(3, c[0], 2), nn.MaxPool2d(2),
            _vgg_block(c[0], c[1], 2), nn.MaxPool2d(2),
            _vgg_block(c[1], c[2], 3), nn.MaxPool2d(2),
            _conv(c[2], c[3], 5), _conv(c[3], c[3], 5), _conv(c[3], c[4], 7),
            nn.Conv2d(c[4], 1, 1),
        )
        self.up = nn.ConvTranspose2d(1, 1, 16, 8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x, 3)
        return self.up(self.body(self.norm(x)))


def _sts_stream(cin: int, width: float) -> nn.Sequential:
    c = [ch(v, width) for v in (96, 256, 512)]
    return nn.Sequential(
        _conv(cin, c[0], 7, 2), nn.MaxPool2d(2),
        _conv(c[0], c[1], 5, 2),
        _conv(c[1], c[2]), _conv(c[2], c[2]), _conv(c[2], c[2]),
        nn.Conv2d(c[2], 1, 1),
    )


class SSNetTeacher(SaliencyModel):
    """SSNet-style spatial teacher (spatial stream of STS): VGG-M-like stream + 16x16/8 deconvolution."""

    stride = 8
    model_name = "teacher_ssnet"

    def __init__(self, width: float = 0.25) -> None:
        super().__init__()
        self.norm = ImageNetNorm(1)
        self.body = _sts_stream(3, width)
        self.up = nn.ConvTranspose2d(1, 1, 16, 8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x, 3)
        return self.up(self.body(self.norm(x)))


def normalize_flow(flow: torch.Tensor) -> torch.Tensor:
    """Flow in pixels at the input resolution -> flow * 20 / max(H, W) (a displacement of 5% of the
    image size maps to 1), so the network sees the same motion at every input resolution."""
    return flow * (20.0 / max(flow.shape[-2:]))


class TSNetTeacher(SaliencyModel):
    """TSNet-style temporal teacher (temporal stream of STS): ``model(x, flow)``.

    ``x``: frame t (N,3,H,W) in [0,1]; ``flow``: optical flow t -> t+1 (N,2,H,W) in pixels at the input
    resolution (x, y displacement; e.g. ``salkd.models.flow.optical_flow``), normalized inside by
    ``normalize_flow``. The stream sees cat(normalized frame, normalized flow) (5 channels).
    """

    stride = 8
    input_kind = "flow"
    model_name = "teacher_tsnet"

    def __init__(self, width: float = 0.25) -> None:
        super().__init__()
        self.norm = ImageNetNorm(1)
        self.body = _sts_stream(5, width)
        self.up = nn.ConvTranspose2d(1, 1, 16, 8, 4)

    def forward(self, x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        self._check(x, 3, "x")
        self._check(flow, 2, "flow")
        if flow.shape[-2:] != x.shape[-2:] or flow.shape[0] != x.shape[0]:
            raise ValueError(f"teacher_tsnet: flow {tuple(flow.shape)} must match x {tuple(x.shape)} (N, 2, H, W)")
        return self.up(self.body(torch.cat([self.norm(x), normalize_flow(flow.to(x.dtype))], 1)))
