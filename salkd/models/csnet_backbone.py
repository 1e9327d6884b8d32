"""CSNet as a pretrained backbone for fastvsod (``FastVSOD(backbone="csnet")``).

CSNet (S.-H. Gao et al., *Highly Efficient Salient Object Detection with 100K Parameters*, ECCV 2020) is
a salient-object network trained on DUTS-TR; its five stages end at strides 1, 1, 2, 4 and 8 of the
input (channels 13, 18, 51, 38, 64 for CSNet-L-x2). fastvsod's eq. 1 takes four side outputs S1..S4 and
ASPP(S4); from CSNet we take S1 = stage 3 (stride 4), S2 = stage 4 (stride 8), S3 = stage 2 average-pooled
to stride 8, S4 = stage 4 (stride 8), so L is at stride 4 and H at stride 8 (ResNet's H is at 16).

Frozen prefix and partial fine-tuning: with ``freeze=True`` the first ``5 - train_stages`` stages are
frozen and the last ``train_stages`` train (their convolutions and PReLUs; every BatchNorm keeps its
released statistics and affine parameters). The forward pass is split in two, ``prefix(x)`` (the frozen
stages, no gradient: what :mod:`salkd.data.features` caches once per frame) and ``from_prefix(cached)``
(the trainable stages, then S1..S4); ``forward(x) == from_prefix(prefix(x))``.

CSNet's own map as a prior (``prior=True``, all stages frozen): :meth:`prefix` also returns ``"prior"``, CSNet's
saliency logits (its fusion head on stages 2-4, at stride 2), so that a head on top can refine CSNet's map
instead of replacing it (``FastVSOD(csnet_prior=True)`` starts exactly where CSNet is).
"""
from __future__ import annotations

import hashlib

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["CSNetBackbone", "N_STAGES"]

#: CSNet-L's stages (stage0..stage4)
N_STAGES = 5


class CSNetBackbone(nn.Module):
    """CSNet's stages as S1..S4 (``channels``), with CSNet's released weights (``salkd weights``).

    ``freeze``: no gradient into CSNet's frozen stages and all of its BatchNorm statistics kept (eval mode)
    while the rest of the network trains; ``freeze=False`` trains all of CSNet, BatchNorm included.
    ``train_stages`` (with ``freeze``): the number of CSNet's last stages that train anyway (0: all frozen;
    1: stage 4; 2: stages 3 and 4; ...), BatchNorm frozen in them too. ``name``: ``csnet_x2`` (default) or
    ``csnet_x1``. ``pretrained=False`` builds the architecture with random weights (its channel
    configuration still comes from the ``.bin`` file).
    """

    def __init__(self, name: str = "csnet_x2", freeze: bool = True, pretrained: bool = True,
                 train_stages: int = 0, prior: bool = False) -> None:
        super().__init__()
        from salkd.models import pretrained as published

        if isinstance(train_stages, bool) or not isinstance(train_stages, int) or not 0 <= train_stages <= N_STAGES:
            raise ValueError(f"train_stages must be an int in [0, {N_STAGES}] (CSNet's last stages to fine-tune), "
                             f"got {train_stages!r}")
        if train_stages and not freeze:
            raise ValueError("train_stages applies to a frozen backbone (freeze=True); freeze=False trains all of it")
        if prior and (not freeze or train_stages):
            raise ValueError("prior=True (CSNet's own map as the starting point) needs all of CSNet frozen "
                             "(freeze=True, train_stages=0)")
        self.prior = bool(prior)
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
        self.name = name
        self.freeze = freeze
        self.train_stages = train_stages
        #: stages 0 .. n_frozen - 1 are frozen (computed by :meth:`prefix`)
        self.n_frozen = N_STAGES - train_stages if freeze else 0
        if freeze:
            for p in self.net.parameters():
                p.requires_grad_(False)
            for s in range(self.n_frozen, N_STAGES):
                for m in self._stage(s).modules():
                    if not isinstance(m, nn.modules.batchnorm._BatchNorm):
                        for p in m.parameters(recurse=False):
                            p.requires_grad_(True)
            self.net.eval()

    def _stage(self, s: int) -> nn.Module:
        return getattr(self.net, f"stage{s}")

    def train(self, mode: bool = True) -> "CSNetBackbone":
        super().train(mode)
        if self.freeze:
            self.net.eval()  # BatchNorm statistics stay the released ones, in trainable stages too
        return self

    def prefix(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The frozen stages on ImageNet-normalized RGB ``x``, without gradient: ``"in.<j>"`` the scales of
        the last frozen stage's output (``x`` itself when nothing is frozen), ``"s3"`` stage 3's output
        when stage 4 is frozen too, ``"p2"`` stage 2's output average-pooled to stride 8 when stage 3 is
        frozen. All that :meth:`from_prefix` needs; what the feature cache stores per frame."""
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-2] % 16 or x.shape[-1] % 16:
            raise ValueError(f"{self.name} expects [N,3,H,W] with H, W multiples of 16, got {tuple(x.shape)}")
        xs = [x]
        finest: dict[int, torch.Tensor] = {}
        with torch.no_grad():
            for s in range(self.n_frozen):
                xs = self._stage(s)(xs)
                finest[s] = xs[0]
        out = {f"in.{j}": t for j, t in enumerate(xs)}
        if self.n_frozen == N_STAGES:
            out["s3"] = finest[3]
        if self.prior:
            with torch.no_grad():
                out["prior"] = self.net.cls_layer(self.net.oct_fuse([finest[2], finest[3], finest[4]]))
        if self.n_frozen >= 4:
            out["p2"] = F.avg_pool2d(finest[2], 4)
        return out

    def from_prefix(self, cached: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                     torch.Tensor]:
        """S1 (stride 4), S2, S3, S4 (stride 8) from :meth:`prefix`'s output (fresh or cached)."""
        n_in = sum(1 for k in cached if k.startswith("in."))
        xs = [cached[f"in.{j}"] for j in range(n_in)]
        finest: dict[int, torch.Tensor] = {}
        if self.n_frozen:
            finest[self.n_frozen - 1] = xs[0]
        if "s3" in cached:
            finest[3] = cached["s3"]
        for s in range(self.n_frozen, N_STAGES):
            xs = self._stage(s)(xs)
            finest[s] = xs[0]
        p2 = cached["p2"] if "p2" in cached else F.avg_pool2d(finest[2], 4)
        return finest[3], finest[4], p2, finest[4]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """S1 (stride 4), S2, S3, S4 (stride 8) of ImageNet-normalized RGB ``x``."""
        return self.from_prefix(self.prefix(x))

    def prefix_digest(self) -> str:
        """SHA256 of what :meth:`prefix` computes with: the model name, the number of frozen stages and the
        frozen stages' weights and buffers (the feature cache's key: other weights, other features)."""
        h = hashlib.sha256(f"{self.name}|{self.n_frozen}{'|prior' if self.prior else ''}".encode())
        heads = [self.net.oct_fuse, self.net.cls_layer] if self.prior else []
        for s, mod in [(s, self._stage(s)) for s in range(self.n_frozen)] + [(-1, m) for m in heads]:
            for k, t in sorted(mod.state_dict().items()):
                h.update(f"{s}.{k}|{tuple(t.shape)}|{t.dtype}".encode())
                h.update(t.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    def trainable_stages(self) -> list[int]:
        """The indices of CSNet's stages with trainable parameters."""
        return [s for s in range(N_STAGES) if any(p.requires_grad for p in self._stage(s).parameters())]
