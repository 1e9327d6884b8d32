"""TinyHD: F. Hu, S. Palazzo, F. P. Salanitri, G. Bellitto, M. Moradi, C. Spampinato, K. McGuinness,
*TinyHD: Efficient Video Saliency Prediction with Heterogeneous Decoders using Hierarchical Maps
Distillation*, WACV 2023.

A rebuild of the released ``d123s_rc4`` (TinyHD-S, one map per clip) and ``d123m_rc4`` (TinyHD-M, one
map per frame of the clip) models from the facts in ``shared/design/pretrained-teachers.md``: a
MobileNetV2 with channels / 4 inflated to 3D as encoder, its 18 block outputs regrouped into four
levels (PixelShuffle x2 per frame), three heterogeneous decoders (d1: one chain per level, d2: U-Net
like top-down, d3: multi-level fusion) built from 37 inverted-residual blocks without residual, and a
1x1 conv over the 6 decoder maps.

Input: [N,3,16,192,256] (N,C,T,H,W) ImageNet-normalized RGB, oldest frame first.
Output: S: [N,1,192,256] after a sigmoid, the map of the last frame; M: [N,1,16,192,256], map t for
frame t.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["TinyHD", "preprocess_clip", "postprocess_map", "clip_schedule"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CITATION = ("F. Hu, S. Palazzo, F. P. Salanitri, G. Bellitto, M. Moradi, C. Spampinato, K. McGuinness, "
            "TinyHD: Efficient Video Saliency Prediction with Heterogeneous Decoders using Hierarchical "
            "Maps Distillation, WACV 2023")

# Encoder (MobileNetV2 features[1..17], channels / 4): (in, hidden, out, spatial stride, temporal stride).
_ENCODER = [
    (8, 8, 4, 1, 1), (4, 24, 6, 2, 1), (6, 36, 6, 1, 1), (6, 36, 8, 2, 2), (8, 48, 8, 1, 1), (8, 48, 8, 1, 1),
    (8, 48, 16, 2, 2), (16, 96, 16, 1, 1), (16, 96, 16, 1, 1), (16, 96, 16, 1, 1), (16, 96, 24, 1, 1),
    (24, 144, 24, 1, 1), (24, 144, 24, 1, 1), (24, 144, 40, 2, 1), (40, 240, 40, 1, 1), (40, 240, 40, 1, 1),
    (40, 240, 80, 1, 1),
]
# Depthwise temporal kernel / padding of features[1..17] where they differ from 3 / 1 (TinyHD-M).
_ENCODER_KT = {"s": {}, "m": {14: (2, 0), 15: (1, 0), 16: (1, 0), 17: (1, 0)}}

# The 37 aggregator blocks (in, out); d1 = 0..15, d2 = 16..23, d3 = 24..36.
_AGG = [
    (7, 24), (24, 48), (12, 24), (24, 1), (6, 56), (14, 56), (14, 28), (28, 1),
    (34, 56), (14, 56), (14, 56), (14, 1), (130, 136), (34, 136), (34, 136), (34, 1),
    (130, 136), (34, 24), (6, 6), (6, 28), (7, 7), (7, 7), (7, 7), (7, 1),
    (7, 6), (6, 34), (34, 130), (6, 8), (34, 32), (130, 128), (7, 2), (6, 8), (34, 32), (2, 2), (8, 8),
    (2, 2), (2, 1),
]
# Depthwise temporal (kernel, stride) per aggregator block.
_HALVE_S = {0, 2, 3, 4, 6, 8, 12, 18, 20, 21, 22, 23, 24, 25, 29, 30, 31, 32, 33, 34, 35}
_HALVE_M = {0, 2, 3, 4, 6, 8}
_AGG_KT = {
    "s": [(3, 2) if i in _HALVE_S else (1, 1) for i in range(37)],
    "m": [(3, 2) if i in _HALVE_M else (3, 1) for i in range(37)],
}


def _cbr(cin: int, cout: int, k: tuple[int, int, int], s: tuple[int, int, int], p: tuple[int, int, int],
         groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(cin, cout, k, s, p, groups=groups, bias=False), nn.BatchNorm3d(cout),
                         nn.ReLU6(inplace=True))


class InvertedResidual3d(nn.Module):
    """MobileNetV2 block inflated to 3D: [pw expand + BN + ReLU6], depthwise (kt,3,3) + BN + ReLU6,
    pw project + BN; residual when ``residual``."""

    def __init__(self, cin: int, hidden: int, cout: int, kt: int, st: int, pt: int, s: int, residual: bool):
        super().__init__()
        layers: list[nn.Module] = []
        if hidden != cin:
            layers.append(_cbr(cin, hidden, (1, 1, 1), (1, 1, 1), (0, 0, 0)))
        layers += [_cbr(hidden, hidden, (kt, 3, 3), (st, s, s), (pt, 1, 1), groups=hidden),
                   nn.Conv3d(hidden, cout, 1, bias=False), nn.BatchNorm3d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class Encoder(nn.Module):
    def __init__(self, variant: str):
        super().__init__()
        blocks: list[nn.Module] = [_cbr(3, 8, (3, 3, 3), (2, 2, 2), (1, 1, 1))]
        for idx, (cin, hid, cout, s, st) in enumerate(_ENCODER, start=1):
            kt, pt = _ENCODER_KT[variant].get(idx, (3, 1))
            blocks.append(InvertedResidual3d(cin, hid, cout, kt, st, pt, s, residual=(s == 1 and cin == cout)))
        blocks.append(_cbr(80, 320, (1, 1, 1), (1, 1, 1), (0, 0, 0)))
        self.encoder = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of features[1..18]."""
        feats = []
        for i, block in enumerate(self.encoder):
            x = block(x)
            if i > 0:
                feats.append(x)
        return feats


def _shuffle(x: torch.Tensor) -> torch.Tensor:
    """PixelShuffle(2) per frame: [N,C,T,H,W] -> [N,C/4,T,2H,2W]."""
    n, c, t, h, w = x.shape
    y = F.pixel_shuffle(x.transpose(1, 2).reshape(n * t, c, h, w), 2)
    return y.reshape(n, t, c // 4, 2 * h, 2 * w).transpose(1, 2)


def _up_hw(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=(1, 2, 2), mode="trilinear", align_corners=True)


def _up_t(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=(2, 1, 1), mode="trilinear", align_corners=True)


class Aggregator(nn.Module):
    """Feature regrouping and the three decoders d1 (4 maps), d2 and d3 (1 map each)."""

    def __init__(self, variant: str):
        super().__init__()
        self.multi = variant == "m"
        self.aggregate_adapter = nn.ModuleList(
            InvertedResidual3d(i, 2 * i, o, kt, st, kt // 2, 1, residual=False)
            for (i, o), (kt, st) in zip(_AGG, _AGG_KT[variant]))

    @staticmethod
    def levels(feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """X0..X3 from the 18 encoder outputs: groups [f1] [f2,f3] [f4-f6] [f7-f13] [f14-f18]."""
        g = [feats[0]] + [_shuffle(torch.cat(list(feats[a:b]), 1)) for a, b in ((1, 3), (3, 6), (6, 13), (13, 18))]
        return [torch.cat([g[0], g[1]], 1), g[2], g[3], g[4]]

    def d1(self, xs: list[torch.Tensor]) -> torch.Tensor:
        a = self.aggregate_adapter
        m0 = a[3](a[2](_shuffle(a[1](a[0](xs[0])))))
        m1 = a[7](a[6](_shuffle(a[5](_shuffle(a[4](xs[1]))))))
        m2 = a[11](_shuffle(a[10](_shuffle(a[9](_shuffle(a[8](xs[2])))))))
        m3 = a[15](_shuffle(a[14](_shuffle(a[13](_shuffle(a[12](_up_hw(xs[3]))))))))
        return torch.cat([m0, m1, m2, m3], 1)

    def _t(self, x: torch.Tensor) -> torch.Tensor:
        return _up_t(x) if self.multi else x

    def d2(self, xs: list[torch.Tensor]) -> torch.Tensor:
        b = self.aggregate_adapter[16:24]
        x = self._t(_shuffle(b[0](xs[3]))) + xs[2]
        x = self._t(_shuffle(b[1](x))) + b[2](xs[1])
        x = self._t(_shuffle(b[3](x))) + b[5](b[4](xs[0]))
        x = self._t(_up_hw(b[6](x)))
        return b[7](x)

    def d3(self, xs: list[torch.Tensor]) -> torch.Tensor:
        c = self.aggregate_adapter[24:37]
        x1 = [self._t(_up_hw(x)) for x in xs]
        for k in range(1, 4):
            x1[k] = x1[k] + c[k - 1](xs[k - 1])
        x2 = [self._t(_shuffle(c[3 + k](x1[k + 1]))) + c[6 + k](x1[k]) for k in range(3)]
        x3 = [self._t(_shuffle(x2[k + 1])) + c[9 + k](x2[k]) for k in range(2)]
        x4 = self._t(_shuffle(x3[1])) + c[11](x3[0])
        return c[12](x4)

    def forward(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        xs = self.levels(feats)
        return [torch.sigmoid(self.d1(xs)), torch.sigmoid(self.d2(xs)), torch.sigmoid(self.d3(xs))]


class Head(nn.Module):
    def __init__(self, variant: str):
        super().__init__()
        conv = nn.Conv3d(6, 1, 1) if variant == "m" else nn.Conv2d(6, 1, 1)
        self.decoder = nn.Sequential(conv, nn.Sigmoid())

    def forward(self, maps: list[torch.Tensor], t: int) -> torch.Tensor:
        d1, d2, d3 = maps
        if isinstance(self.decoder[0], nn.Conv3d):
            x = torch.cat([d1.expand(-1, -1, t, -1, -1), d2, d3], 1)
        else:
            x = torch.cat([d1, d2, d3], 1)[:, :, 0]
        return self.decoder(x)


class TinyHD(nn.Module):
    """TinyHD-S (``variant="s"``) or TinyHD-M (``variant="m"``), channel reduction 4, WACV 2023.

    ``forward(x)`` returns the final map(s) after the sigmoid; ``decoder_maps(x)`` also returns the
    three decoders' sigmoid maps. ``preprocess(frames)`` turns T consecutive uint8 RGB frames (oldest
    first) into the input clip; ``predict_video(frames)`` gives one map per frame.
    """

    input_size = (192, 256)
    clip_len = 16
    citation = CITATION

    def __init__(self, variant: str = "s", name: str | None = None):
        super().__init__()
        if variant not in ("s", "m"):
            raise ValueError(f"TinyHD variant must be 's' or 'm', got {variant!r}")
        self.variant = variant
        self.name = name or f"tinyhd_{variant}"
        self.encoder = Encoder(variant)
        self.aggregator = Aggregator(variant)
        self.decoder = Head(variant)

    @property
    def multi_output(self) -> bool:
        return self.variant == "m"

    def decoder_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(final map, [d1 [N,4,1,H,W], d2, d3]) — the authors' two return values."""
        self._check(x)
        maps = self.aggregator(self.encoder(x))
        return self.decoder(maps, x.shape[2]), maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder_maps(x)[0]

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != 3 or x.shape[2] != self.clip_len:
            raise ValueError(f"{self.name} expects [N,3,{self.clip_len},H,W] clips, got {tuple(x.shape)}")
        if x.shape[3] % 32 or x.shape[4] % 32:
            raise ValueError(f"{self.name}: H and W must be multiples of 32, got {tuple(x.shape[3:])}")

    def preprocess(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """T consecutive uint8 RGB frames HxWx3, oldest first -> [1,3,T,192,256]."""
        return preprocess_clip(frames, self.input_size)

    @staticmethod
    def postprocess(saliency: torch.Tensor | np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """One map [h,w] -> the uint8 [H,W] saliency PNG the authors' generate.py writes."""
        return postprocess_map(saliency, size)

    @torch.no_grad()
    def predict_video(self, frames: Sequence[np.ndarray], batch_size: int = 1) -> list[np.ndarray]:
        """One float32 [192,256] map per frame, following the authors' evaluation clip schedule
        (:func:`clip_schedule`). ``frames``: uint8 RGB HxWx3, in order (a list or an array)."""
        n = len(frames)
        maps: list[np.ndarray | None] = [None] * n
        device = next(self.parameters()).device
        schedule = clip_schedule(n, self.clip_len, self.multi_output)
        for start in range(0, len(schedule), batch_size):
            chunk = schedule[start:start + batch_size]
            x = torch.cat([self.preprocess([frames[i] for i in idx]) for idx, _ in chunk]).to(device)
            y = self(x).float().cpu().numpy()
            for (idx, targets), out in zip(chunk, y):
                for pos, frame in targets:
                    maps[frame] = out[0, pos] if self.multi_output else out[0]
        return [m for m in maps]  # type: ignore[misc]

    def describe(self) -> str:
        n = sum(p.numel() for p in self.parameters())
        kind = "16 maps per clip (one per frame)" if self.multi_output else "one map per clip (last frame)"
        return (f"{self.name}: TinyHD-{self.variant.upper()} video fixation prediction, {n:,} parameters, "
                f"input {self.clip_len} frames at {self.input_size[0]}x{self.input_size[1]}, {kind}. "
                f"{CITATION}.")


def clip_schedule(n_frames: int, clip_len: int = 16, multi: bool = False) -> list[tuple[list[int], list[tuple[int, int]]]]:
    """The authors' evaluation clips over ``n_frames`` frames (0-based indices).

    Returns ``[(frame indices of the clip, [(position in the output, frame it labels), ...]), ...]``.
    Single output (S, step 1): frame k >= clip_len-1 uses frames k-15..k; an earlier frame k uses
    frame 0 repeated 15-k times followed by frames 0..k. Multi output (M, step 16): clips start at
    0, 16, ...; a last clip covers the final 16 frames (it overwrites the overlap). Videos shorter than
    a clip are padded at the start with the first frame.
    """
    if n_frames <= 0:
        return []
    if not multi:
        out = []
        for k in range(n_frames):
            idx = [0] * max(0, clip_len - 1 - k) + list(range(max(0, k - clip_len + 1), k + 1))
            out.append((idx, [(0, k)]))
        return out
    if n_frames < clip_len:
        pad = clip_len - n_frames
        return [([0] * pad + list(range(n_frames)), [(pad + i, i) for i in range(n_frames)])]
    starts = list(range(0, n_frames - clip_len + 1, clip_len))
    if starts[-1] + clip_len < n_frames:
        starts.append(n_frames - clip_len)
    return [(list(range(s, s + clip_len)), [(i, s + i) for i in range(clip_len)]) for s in starts]


def preprocess_clip(frames: Sequence[np.ndarray], size: tuple[int, int] = (192, 256)) -> torch.Tensor:
    """uint8 RGB frames -> [1,3,T,h,w]: float32 /255, ImageNet normalization, then bilinear resize
    (``align_corners=False``, no antialiasing), the order of the authors' data pipeline."""
    arr = np.stack([np.asarray(f) for f in frames]) if not isinstance(frames, np.ndarray) else frames
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"TinyHD.preprocess expects uint8 RGB frames TxHxWx3, got {arr.dtype} {arr.shape}")
    x = torch.from_numpy(np.ascontiguousarray(arr)).float().div(255.0).permute(3, 0, 1, 2)  # C,T,H,W
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1, 1)
    x = (x - mean) / std
    # resize the C x T x H x W tensor as torchvision does (C as batch, T as channels): bit-exact
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=False)
    return x.unsqueeze(0).contiguous()


def postprocess_map(saliency: torch.Tensor | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[h,w] map -> uint8 [H,W]: min-max normalize, x255 truncated, bicubic resize, 5x5 Gaussian blur."""
    import cv2

    m = saliency.detach().float().cpu().numpy() if isinstance(saliency, torch.Tensor) else np.asarray(saliency)
    m = np.squeeze(m)
    m = (m - m.min()) / (m.max() - m.min())
    u8 = (m * 255).astype(np.uint8)
    u8 = cv2.resize(u8, (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
    return np.clip(cv2.GaussianBlur(u8, (5, 5), 0), 0, 255).astype(np.uint8)
