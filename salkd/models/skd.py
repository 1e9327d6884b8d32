"""skd (Li et al., TIP 2019), Sec. III-B/C and Fig. 4: spatial / temporal students and S_st.

Layer plan of a student (13 layers, SalNet-style; paper: mostly 3x3 convs, pooling in layers 3
and 5, a 1x1 conv in layer 9, ReLU after every conv, two 3x3 convs for high-level cues, two
deconvolutions back to the input size). Channel counts are not given in the paper; ours (width=1)
are chosen so that S_st has ~0.30 M parameters as reported:

====  =================================  ==========
 #    layer                              channels
====  =================================  ==========
 1    conv 3x3 + ReLU                    in -> 16
 2    conv 3x3 + ReLU                    16 -> 16
 3    max-pool 2x2                       -
 4    conv 3x3 + ReLU                    16 -> 32
 5    max-pool 2x2                       -
 6-8  3 x (conv 3x3 + ReLU)              -> 64
 9    conv 1x1 + ReLU                    64 -> 64
10-11 2 x (conv 3x3 + ReLU)              64 -> 64
12    deconv 4x4/2 + ReLU                64 -> 16
13    deconv 4x4/2 (logits, no ReLU)     16 -> 1
====  =================================  ==========

S_st: two streams = layers 1-8 of S_s (3-channel input) and of S_t (6-channel input: frames n and
n+1 concatenated), concatenated (128 ch), then a fusion subnet shaped like layers 9-13 whose 1x1
conv takes the doubled channel count (the paper says "similar structure as the last four layers";
we read that as the layers after the 8 transferred ones, i.e. 9-13). The fusion subnet is
truncated-normal initialized (paper); the streams are copied by ``from_students``.
Inputs must have H, W multiples of 4 (two 2x2 poolings).

Initialization (not given in the paper): He-scaled truncated normal for every layer and the output
bias at logit(0.01) (``init_output_prior``), since this normalization-free stack with PyTorch's
default init collapsed to constant maps under the L2 losses.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

from .blocks import ImageNetNorm, SaliencyModel, ch, init_output_prior, trunc_normal_init

__all__ = ["SKDStudent", "SKDSpatiotemporal", "from_students"]


def _conv(cin: int, cout: int, k: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU(inplace=True))


def _front(in_ch: int, width: float) -> nn.Sequential:
    """Layers 1-8 of an skd student (the part transferred to S_st)."""
    c1, c2, c3 = ch(16, width), ch(32, width), ch(64, width)
    return nn.Sequential(
        _conv(in_ch, c1), _conv(c1, c1), nn.MaxPool2d(2),
        _conv(c1, c2), nn.MaxPool2d(2),
        _conv(c2, c3), _conv(c3, c3), _conv(c3, c3),
    )


def _back(cin: int, width: float) -> nn.Sequential:
    """Layers 9-13 of an skd student: 1x1 conv, two 3x3 convs, two 4x4/2 deconvolutions -> logits."""
    c4, c5 = ch(64, width), ch(16, width)
    return nn.Sequential(
        _conv(cin, c4, 1), _conv(c4, c4), _conv(c4, c4),
        nn.ConvTranspose2d(c4, c5, 4, 2, 1), nn.ReLU(inplace=True),
        nn.ConvTranspose2d(c5, 1, 4, 2, 1),
    )


class SKDStudent(SaliencyModel):
    """Spatial student S_s (``temporal=False``, input_kind "frame", skd eq. 1) or temporal student S_t
    (``temporal=True``, input_kind "pair": frames n and n+1 concatenated to 6 channels, skd eq. 2).

    Input: NCHW float RGB in [0, 1] (ImageNet-normalized inside), H, W multiples of 4.
    Output: saliency logits (N, 1, H, W).
    """

    stride = 4

    def __init__(self, temporal: bool = False, width: float = 1.0) -> None:
        super().__init__()
        self.temporal = temporal
        self.width = width
        self.input_kind = "pair" if temporal else "frame"
        self.model_name = "skd_temporal" if temporal else "skd_spatial"
        self.norm = ImageNetNorm(2 if temporal else 1)
        self.front = _front(6 if temporal else 3, width)
        self.back = _back(ch(64, width), width)
        # He-scaled init for every layer: with PyTorch's default init this 12-conv stack without
        # normalization shrinks the signal layer by layer and collapsed to a constant map in training.
        trunc_normal_init(self)
        init_output_prior(self.back[-1])

    def features(self, x: torch.Tensor, x_next: torch.Tensor | None = None) -> torch.Tensor:
        """Output of layer 8 (F_s or F_t of skd Sec. III-C)."""
        if self.temporal:
            if x_next is None:
                raise ValueError(f"{self.model_name}: expects a frame pair model(x_t, x_next)")
            self._check(x, 3, "x_t")
            self._check(x_next, 3, "x_next")
            if x.shape != x_next.shape:
                raise ValueError(f"{self.model_name}: x_t {tuple(x.shape)} and x_next {tuple(x_next.shape)} differ")
            x = torch.cat([x, x_next], 1)
        else:
            self._check(x, 3)
        return self.front(self.norm(x))

    def forward(self, x: torch.Tensor, x_next: torch.Tensor | None = None) -> torch.Tensor:
        return self.back(self.features(x, x_next))


class SKDSpatiotemporal(SaliencyModel):
    """S_st of skd Sec. III-C / Fig. 4(c), trained with the hard loss of eq. 5.

    ``model(x_t, x_next)`` -> logits (N, 1, H, W) for frame t. Spatial stream = layers 1-8 of S_s on
    x_t; temporal stream = layers 1-8 of S_t on cat(x_t, x_next); fusion = layers 9-13 on the
    concatenation (1x1 conv with doubled input channels).
    """

    stride = 4
    input_kind = "pair"
    model_name = "skd_st"

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.width = width
        self.norm_s = ImageNetNorm(1)
        self.norm_t = ImageNetNorm(2)
        self.spatial = _front(3, width)
        self.temporal = _front(6, width)
        self.fusion = _back(2 * ch(64, width), width)
        trunc_normal_init(self.fusion)
        init_output_prior(self.fusion[-1])
        # the streams start as the students do (from_students overwrites them; Ablation-O keeps them)
        trunc_normal_init(self.spatial)
        trunc_normal_init(self.temporal)

    def forward(self, x: torch.Tensor, x_next: torch.Tensor) -> torch.Tensor:
        self._check(x, 3, "x_t")
        self._check(x_next, 3, "x_next")
        if x.shape != x_next.shape:
            raise ValueError(f"{self.model_name}: x_t {tuple(x.shape)} and x_next {tuple(x_next.shape)} differ")
        fs = self.spatial(self.norm_s(x))
        ft = self.temporal(self.norm_t(torch.cat([x, x_next], 1)))
        return self.fusion(torch.cat([fs, ft], 1))


def from_students(spatial: SKDStudent, temporal: SKDStudent) -> SKDSpatiotemporal:
    """Build S_st with layers 1-8 copied from the two trained students (skd Sec. III-C).

    The copies are independent (deep-copied) so S_st training does not change the students.
    """
    if spatial.temporal or not temporal.temporal:
        raise ValueError("from_students(s, t): s must be the spatial student, t the temporal student")
    if spatial.width != temporal.width:
        raise ValueError(f"from_students: students have different widths ({spatial.width} vs {temporal.width})")
    st = SKDSpatiotemporal(width=spatial.width)
    st.spatial.load_state_dict(copy.deepcopy(spatial.front.state_dict()))
    st.temporal.load_state_dict(copy.deepcopy(temporal.front.state_dict()))
    p = next(spatial.parameters())
    return st.to(device=p.device, dtype=p.dtype)
