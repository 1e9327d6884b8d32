"""uvanet (Fu et al., AAAI 2020), Sec. "Knowledge Distillation" / "Spatiotemporal Joint
Optimization" and Fig. 4: the two-branch student S and the spatiotemporal net S_sp.

Block counting (the paper says S_sp shares "the first six blocks" with S and its fusion subnet is
"the last five blocks" with the first one's channels doubled; S has 1 conv + 3 CA-Res in f_s, 5
blocks per path and 2 deconvs = 11 stages). Our reading: stages 1-6 = conv, 3 shared CA-Res
blocks, first 2 blocks of each path; stages 7-11 = last 3 path blocks + 2 deconvolutions.

Channel plan (width=1; not in the paper, chosen so that S_sp has ~0.16 M parameters as reported),
expansion 6, output stride 4 (H, W must be multiples of 4):

* f_s (shared, uvanet eq. 3-4): conv 3x3/2 + BN + ReLU6 (3 -> 16), 3 x CA-Res (16 -> 16).
* spatial path: CA-Res 16 -> 32 (stride 2), 32 -> 32, | 32 -> 36, 36 -> 36, 36 -> 36; then
  deconv 4x4/2 36 -> 16 + ReLU, deconv 4x4/2 16 -> 1 (logits).
* temporal path: the same, first block takes cat(f_s(I_t), f_s(I_t) - f_s(I_{t+1})) = 32 ch.
* S_sp fusion (eq. 7): first block takes cat(F_spa'', F_tem'') = 64 ch (doubled), then as the paths.
  Measured: S_sp 158,532 parameters (cares and mbse), 153,801 (mb); S 194,748 (cares).

``block`` selects the block type for the uvanet Fig. 6 ablations: "cares" (eq. 1-2), "mb"
(MobileNetV2), "mbse" (MobileNetV2 + SE). The first conv of f_s is a plain conv in all variants.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

from .blocks import CAResBlock, ImageNetNorm, SaliencyModel, ch, conv_bn_act, init_output_prior

__all__ = ["UVAStudent", "UVASpatiotemporal", "from_student"]


def _shared(width: float, block: str) -> nn.Sequential:
    """f_s of uvanet eq. 3-4: one standard conv + three CA-Res blocks (stages 1-4)."""
    c = ch(16, width)
    return nn.Sequential(
        conv_bn_act(3, c, 3, 2, act="relu6"),
        CAResBlock(c, c, kind=block), CAResBlock(c, c, kind=block), CAResBlock(c, c, kind=block),
    )


def _path_head(cin: int, width: float, block: str) -> nn.Sequential:
    """First 2 blocks of a path (stages 5-6, transferred to S_sp)."""
    c = ch(32, width)
    return nn.Sequential(CAResBlock(cin, c, stride=2, kind=block), CAResBlock(c, c, kind=block))


def _path_tail(cin: int, width: float, block: str) -> nn.Sequential:
    """Last 3 blocks of a path + 2 deconvolutions (stages 7-11); also the S_sp fusion subnet."""
    c, cd = ch(36, width), ch(16, width)
    return nn.Sequential(
        CAResBlock(cin, c, kind=block), CAResBlock(c, c, kind=block), CAResBlock(c, c, kind=block),
        nn.ConvTranspose2d(c, cd, 4, 2, 1), nn.ReLU(inplace=True),
        nn.ConvTranspose2d(cd, 1, 4, 2, 1),
    )


def _check_pair(m: SaliencyModel, x: torch.Tensor, x_next: torch.Tensor) -> None:
    m._check(x, 3, "x_t")
    m._check(x_next, 3, "x_next")
    if x.shape != x_next.shape:
        raise ValueError(f"{m.model_name}: x_t {tuple(x.shape)} and x_next {tuple(x_next.shape)} differ")


class UVAStudent(SaliencyModel):
    """Two-branch student S of uvanet (eq. 3-6, Fig. 4a), trained with the coupled KD losses.

    ``model(x_t, x_next)`` -> ``(spatial_logits, temporal_logits)``, each (N, 1, H, W);
    F_spa = f_s(I_t), F_tem = cat(f_s(I_t), f_s(I_t) - f_s(I_{t+1})) (f_s weights shared).
    """

    stride = 4
    input_kind = "pair"
    model_name = "uva_student"
    output_names = ("spatial", "temporal")

    def __init__(self, block: str = "cares", width: float = 1.0) -> None:
        super().__init__()
        self.block, self.width = block, width
        c = ch(16, width)
        self.norm = ImageNetNorm(1)
        self.shared = _shared(width, block)
        self.spa_head = _path_head(c, width, block)
        self.tem_head = _path_head(2 * c, width, block)
        self.spa_tail = _path_tail(ch(32, width), width, block)
        self.tem_tail = _path_tail(ch(32, width), width, block)
        init_output_prior(self.spa_tail[-1])
        init_output_prior(self.tem_tail[-1])

    def features(self, x: torch.Tensor, x_next: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stage-6 features (F_spa'', F_tem'' of uvanet eq. 7), the part transferred to S_sp."""
        _check_pair(self, x, x_next)
        n = x.shape[0]
        f = self.shared(self.norm(torch.cat([x, x_next], 0)))  # one pass through the shared f_s
        f_t, f_n = f[:n], f[n:]
        return self.spa_head(f_t), self.tem_head(torch.cat([f_t, f_t - f_n], 1))

    def forward(self, x: torch.Tensor, x_next: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fs, ft = self.features(x, x_next)
        return self.spa_tail(fs), self.tem_tail(ft)


class UVASpatiotemporal(SaliencyModel):
    """Spatiotemporal net S_sp of uvanet eq. 7-8 (Fig. 4b): ``model(x_t, x_next)`` -> logits (N,1,H,W).

    Stages 1-6 as in S (copied by ``from_student``); fusion subnet f_fuse = stages 7-11 with the first
    block's input channels doubled, applied to cat(F_spa'', F_tem'').
    """

    stride = 4
    input_kind = "pair"
    model_name = "uva_st"

    def __init__(self, block: str = "cares", width: float = 1.0) -> None:
        super().__init__()
        self.block, self.width = block, width
        c = ch(16, width)
        self.norm = ImageNetNorm(1)
        self.shared = _shared(width, block)
        self.spa_head = _path_head(c, width, block)
        self.tem_head = _path_head(2 * c, width, block)
        self.fusion = _path_tail(2 * ch(32, width), width, block)
        init_output_prior(self.fusion[-1])

    def forward(self, x: torch.Tensor, x_next: torch.Tensor) -> torch.Tensor:
        _check_pair(self, x, x_next)
        n = x.shape[0]
        f = self.shared(self.norm(torch.cat([x, x_next], 0)))
        f_t, f_n = f[:n], f[n:]
        fs = self.spa_head(f_t)
        ft = self.tem_head(torch.cat([f_t, f_t - f_n], 1))
        return self.fusion(torch.cat([fs, ft], 1))


def from_student(student: UVAStudent) -> UVASpatiotemporal:
    """S_sp with stages 1-6 (f_s and both path heads) copied from a trained student (uvanet Sec.
    "Spatiotemporal Joint Optimization"); the fusion subnet keeps its fresh initialization."""
    sp = UVASpatiotemporal(block=student.block, width=student.width)
    for name in ("shared", "spa_head", "tem_head"):
        getattr(sp, name).load_state_dict(copy.deepcopy(getattr(student, name).state_dict()))
    p = next(student.parameters())
    return sp.to(device=p.device, dtype=p.dtype)
