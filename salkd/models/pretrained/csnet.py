"""CSNet: S.-H. Gao, Y.-Q. Tan, M.-M. Cheng, C. Lu, Y. Chen, S. Yan, *Highly Efficient Salient Object
Detection with 100K Parameters*, ECCV 2020.

A rebuild of the released CSNet-L models (``csnet-L-x2``, ``csnet-L-x1``) from the architecture facts in
``shared/design/pretrained-teachers.md``: gOctConv layers over features split into scales (scale j at
1/2^j resolution), ILBlocks (gOctConv + two depthwise gOctConvs, no residual), a cross-stage fusion
(CSF) head with parallel dilated convs, and a 1x1 classifier at half the input resolution. The
pruned channel counts come from the ``.bin`` file released with each checkpoint.

Input: [N,3,H,W] ImageNet-normalized RGB (H, W multiples of 16; 224 for the released models).
Output: [N,1,H,W] logits (apply a sigmoid for the saliency map).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["CSNet", "preprocess_frames", "postprocess_map", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CITATION = ("S.-H. Gao, Y.-Q. Tan, M.-M. Cheng, C. Lu, Y. Chen, S. Yan, Highly Efficient Salient Object "
            "Detection with 100K Parameters, ECCV 2020")

Feats = list[torch.Tensor]


def _bounds(split: Any) -> list[int]:
    """Channel boundaries of the scales of a split: round(C * cumsum(alpha)), alpha = s / sum(s)."""
    s = np.atleast_1d(np.asarray(split, dtype=np.float64))
    total = int(round(float(s.sum())))
    cum = np.cumsum(s / s.sum())
    return [0] + [int(round(total * float(c))) for c in cum]


class Conv2dX100(nn.Conv2d):
    """A bias-free conv that uses 100 x its stored weight (how the released weights are stored)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * 100, self.bias)


class GOctaveConv(nn.Module):
    """Generalized octave conv: one weight [C_out, C_in, k, k] whose (out-scale j, in-scale i) blocks
    map input scale i to output scale j (max-pool before the conv when j > i, bilinear upsampling
    after it when i > j); stride 2 average-pools every input scale first."""

    def __init__(self, in_split: Any, out_split: Any, kernel: int, stride: int = 1):
        super().__init__()
        self.in_b, self.out_b = _bounds(in_split), _bounds(out_split)
        self.stride, self.pad = stride, kernel // 2
        self.weight = nn.Parameter(torch.empty(self.out_b[-1], self.in_b[-1], kernel, kernel))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    def forward(self, xs: Feats) -> Feats:
        if self.stride == 2:
            xs = [F.avg_pool2d(x, 2, 2) for x in xs]
        outs = []
        for j in range(len(self.out_b) - 1):
            acc = None
            for i, x in enumerate(xs):
                w = self.weight[self.out_b[j]:self.out_b[j + 1], self.in_b[i]:self.in_b[i + 1]]
                if i < j:
                    y = F.conv2d(F.max_pool2d(x, 2 ** (j - i), 2 ** (j - i)), w, padding=self.pad)
                elif i > j:
                    y = F.interpolate(F.conv2d(x, w, padding=self.pad), scale_factor=2 ** (i - j),
                                      mode="bilinear", align_corners=False)
                else:
                    y = F.conv2d(x, w, padding=self.pad)
                acc = y if acc is None else acc + y
            outs.append(acc)
        return outs


class GOctaveCBR(nn.Module):
    """gOctConv, then per output scale BatchNorm and PReLU."""

    def __init__(self, in_split: Any, out_split: Any, kernel: int, stride: int = 1):
        super().__init__()
        self.conv = GOctaveConv(in_split, out_split, kernel, stride)
        widths = np.diff(self.conv.out_b).tolist()
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in widths)
        self.prelus = nn.ModuleList(nn.PReLU(c) for c in widths)

    def forward(self, xs: Feats) -> Feats:
        return [p(b(y)) for y, b, p in zip(self.conv(xs), self.bns, self.prelus)]


class DepthwiseBR(nn.Module):
    """Per scale: depthwise 3x3 (x100), BatchNorm, PReLU; no exchange between scales."""

    def __init__(self, split: Any):
        super().__init__()
        widths = np.diff(_bounds(split)).tolist()
        self.convs = nn.ModuleList(Conv2dX100(c, c, 3, padding=1, groups=c, bias=False) for c in widths)
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in widths)
        self.prelus = nn.ModuleList(nn.PReLU(c) for c in widths)

    def forward(self, xs: Feats) -> Feats:
        return [p(b(c(x))) for x, c, b, p in zip(xs, self.convs, self.bns, self.prelus)]


class ILBlock(nn.Module):
    """gOctConv (3x3 for the first block and stride-2 blocks, else 1x1) + two depthwise layers."""

    def __init__(self, in_split: Any, out_split: Any, stride: int, first: bool):
        super().__init__()
        k = 3 if first or stride == 2 else 1
        self.conv1x1 = GOctaveCBR(in_split, out_split, k, stride)
        self.conv3x3_1 = DepthwiseBR(out_split)
        self.conv3x3_2 = DepthwiseBR(out_split)

    def forward(self, xs: Feats) -> Feats:
        return self.conv3x3_2(self.conv3x3_1(self.conv1x1(xs)))


class Stage(nn.Sequential):
    def forward(self, xs: Feats) -> Feats:  # type: ignore[override]
        for block in self:
            xs = block(xs)
        return xs


class MSBlock(nn.Module):
    """Parallel 3x3 convs with dilations 1, 2, 4, 8, 16 (x100; 0 channels = absent), concatenated in
    dilation order, then BatchNorm and PReLU."""

    DILATIONS = (1, 2, 4, 8, 16)

    def __init__(self, in_ch: int, dil_channels: Sequence[float]):
        super().__init__()
        self.msconv = nn.ModuleDict()
        for idx, (d, c) in enumerate(zip(self.DILATIONS, dil_channels)):
            if int(c) > 0:
                self.msconv[str(idx)] = Conv2dX100(in_ch, int(c), 3, padding=d, dilation=d, bias=False)
        out = int(sum(int(c) for c in dil_channels))
        self.bn = nn.BatchNorm2d(out)
        self.prelu = nn.PReLU(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.bn(torch.cat([conv(x) for conv in self.msconv.values()], dim=1)))


class PallMSBlock(nn.Module):
    def __init__(self, in_split: Any, dil: Any):
        super().__init__()
        widths = np.diff(_bounds(in_split)).tolist()
        self.convs = nn.ModuleList(MSBlock(c, row) for c, row in zip(widths, np.asarray(dil)))

    def forward(self, xs: Feats) -> Feats:
        return [m(x) for m, x in zip(self.convs, xs)]


class CSFHead(nn.Module):
    """Cross-stage fusion: 1x1 gOctConv over the 3 stage outputs, multi-scale dilated block per scale,
    1x1 gOctConv to one scale at the finest resolution."""

    def __init__(self, fuse: Any, ms: Any, fuse1x1: Any):
        super().__init__()
        self.fuse = GOctaveCBR(fuse[0], fuse[1], 1)
        self.ms = PallMSBlock(ms[0], ms[2])
        self.fuse1x1 = GOctaveCBR(fuse1x1[0], fuse1x1[1], 1)

    def forward(self, xs: Feats) -> torch.Tensor:
        return self.fuse1x1(self.ms(self.fuse(xs)))[0]


class CSNet(nn.Module):
    """CSNet-L (ECCV 2020), built from its released channel configuration (the 22-entry ``.bin`` list).

    ``forward(x)`` returns logits [N,1,H,W]; ``stages(x)`` the per-stage feature scales;
    ``features(x)`` the finest scale of each of the 5 stages (for use as a backbone);
    ``preprocess(frames)`` makes the input tensor from uint8 RGB frames exactly as the authors' test
    script does.
    """

    input_size = (224, 224)
    clip_len = 1
    citation = CITATION

    def __init__(self, config: Sequence[Any], name: str = "csnet"):
        super().__init__()
        blocks, fuse, ms, fuse1x1, stages = config[:18], config[18], config[19], config[20], config[21]
        counts = [1] + [int(s) for s in stages]
        if sum(counts) != 18:
            raise ValueError(f"channel configuration: stages {list(stages)} do not add up to 17 blocks")
        self.name = name
        it = iter(blocks)
        for s, n in enumerate(counts):
            mods = []
            for b in range(n):
                in_split, out_split = next(it)
                stride = 2 if s >= 2 and b == 0 else 1
                mods.append(ILBlock(in_split, out_split, stride, first=(s == 0 and b == 0)))
            self.add_module(f"stage{s}", Stage(*mods))
        self.oct_fuse = CSFHead(fuse, ms, fuse1x1)
        c = int(round(float(np.sum(fuse1x1[1]))))
        self.cls_layer = nn.Conv2d(c, 1, 1)
        self.feature_channels = [int(np.asarray(config[i][1], dtype=float)[0]) for i in (0, 3, 7, 13, 17)]

    def stages(self, x: torch.Tensor) -> list[Feats]:
        """Outputs of stage0..stage4, each a list of scales (scale j at 1/2^j of scale 0)."""
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-2] % 16 or x.shape[-1] % 16:
            raise ValueError(f"{self.name} expects [N,3,H,W] with H, W multiples of 16, got {tuple(x.shape)}")
        outs: list[Feats] = []
        xs: Feats = [x]
        for s in range(5):
            xs = getattr(self, f"stage{s}")(xs)
            outs.append(xs)
        return outs

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Finest scale of each stage: strides 1, 1, 2, 4, 8 at channels ``feature_channels``."""
        return [s[0] for s in self.stages(x)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        st = self.stages(x)
        y = self.cls_layer(self.oct_fuse([st[2][0], st[3][0], st[4][0]]))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    def preprocess(self, frames: np.ndarray | Sequence[np.ndarray]) -> torch.Tensor:
        """uint8 RGB frame(s) HxWx3 (one array or a list) -> [N,3,224,224] float32 input."""
        return preprocess_frames(frames, self.input_size)

    @staticmethod
    def postprocess(logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        """Logits [N,1,h,w] -> uint8 saliency maps [N,H,W] as the authors' test script writes them."""
        return postprocess_map(logits, size)

    def describe(self) -> str:
        n = sum(p.numel() for p in self.parameters())
        return (f"{self.name}: CSNet-L salient object detection, {n:,} parameters, input "
                f"{self.input_size[0]}x{self.input_size[1]} RGB, output logits. {CITATION}.")


def _zoom(img: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """skimage ``resize(img, out_hw, order=1, mode='reflect', anti_aliasing=False)``: bilinear with
    half-pixel centres, samples outside mirrored about the edge pixel, clipped to the input range."""
    from scipy import ndimage

    h, w = img.shape[:2]
    factors = (out_hw[0] / h, out_hw[1] / w) + (1.0,) * (img.ndim - 2)
    out = ndimage.zoom(img, factors, order=1, mode="mirror", grid_mode=True)
    return np.clip(out, img.min(), img.max())


def preprocess_frames(frames: np.ndarray | Sequence[np.ndarray], size: tuple[int, int] = (224, 224)) -> torch.Tensor:
    """uint8 RGB HxWx3 frame(s) -> [N,3,h,w]: /255 in float64, bilinear resize (skimage semantics),
    ImageNet normalization in float64, then float32 (the order of CSNet's test.py)."""
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        frames = [frames]
    out = []
    for f in frames:
        f = np.asarray(f)
        if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3:
            raise ValueError(f"CSNet.preprocess expects uint8 RGB frames HxWx3, got {f.dtype} {f.shape}")
        x = _zoom(f.astype(np.float64) / 255.0, size)
        x = (x - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
        out.append(x.transpose(2, 0, 1))
    if not out:
        raise ValueError("CSNet.preprocess: no frames given")
    return torch.from_numpy(np.stack(out).astype(np.float32))


def postprocess_map(logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """sigmoid, resize to ``size`` (H, W) with the same skimage semantics in float32, x255, truncate."""
    p = torch.sigmoid(logits.detach().float()).cpu().numpy()[:, 0]
    return np.stack([(_zoom(m, size) * 255).astype(np.uint8) for m in p])
