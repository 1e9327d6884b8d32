"""fastvsod (Tang & Li), Sec. 3 and Fig. 3-4: backbone + ASPP + saliency-guided embedding units,
with the inter-frame feature encoder used for temporal distillation in training.

Architecture (width=1, ResNet-50 as in the paper):

* Side outputs (eq. 1): S1..S4 = ResNet layer1..layer4 (layer4 dilated: output stride 16),
  S5 = ASPP(S4) (rates 6/12/18, 256 ch).
* L = Gamma_l(cat(S1, up(S2))) at stride 4; H = Gamma_h(cat(S3, S4, S5)) at stride 16; Gamma = 1x1
  conv+BN+ReLU then 3x3 conv+BN+ReLU, 256 channels each (the paper: "high-level feature maps are 256").
* Embedding (eq. 2): P0 = conv3x3(H); unit 1: P1 = P0 + Phi_1(cat(P0, L)); unit 2:
  P2 = P1 + Phi_2(cat(P1, up(H))), both at stride 4 (R3Net style). P2 is the output.
* Inter-frame encoder (eq. 5, training only unless ``keep_encoder_at_test``), on (H^t, H^{t+t0}):
  ``fusion="attention"``: mutual attention A = softmax_i(H^t^T H^{t+t0} / sqrt(c)) (softmax over the
  positions i of frame t, so every output position is a convex mix), H~ = H^{t+t0} A,
  O = conv1x1(cat(H~, H^{t+t0})); ``"add"``: O = H^t + H^{t+t0}; ``"multiply"``: O = H^t * H^{t+t0};
  ``"concat"``: O = conv1x1(cat(H^t, H^{t+t0})) (256 out, as the paper, Sec. 4.5).
  A third embedding unit gives P3^{t+t0} = P2^{t+t0} + Phi_3(cat(P2^{t+t0}, up(O))).

Inputs: NCHW float RGB in [0, 1] (ImageNet-normalized inside), any H and W (padded to multiples of 16
inside, outputs cropped back: the paper's input is 473x473).
"""
from __future__ import annotations

import copy
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import ASPP, EmbeddingUnit, ImageNetNorm, SaliencyModel, ch, conv_bn_act, upsample_to
from .resnet import load_torchvision_weights, resnet

__all__ = ["FastVSOD", "InterFrameEncoder", "FUSIONS"]

FUSIONS = ("attention", "add", "concat", "multiply")


def _gamma(cin: int, cout: int) -> nn.Sequential:
    """Gamma of fastvsod eq. 1 (choice: 1x1 conv+BN+ReLU, 3x3 conv+BN+ReLU)."""
    return nn.Sequential(conv_bn_act(cin, cout, 1), conv_bn_act(cout, cout, 3))


class InterFrameEncoder(nn.Module):
    """Inter-frame feature encoding of fastvsod eq. 5 and its Fig. 6 variants; returns O^{t+t0}."""

    def __init__(self, c: int, fusion: str = "attention") -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        self.fusion = fusion
        self.conv = nn.Conv2d(2 * c, c, 1) if fusion in ("attention", "concat") else None

    def forward(self, h_t: torch.Tensor, h_n: torch.Tensor) -> torch.Tensor:
        if self.fusion == "add":
            return h_t + h_n
        if self.fusion == "multiply":
            return h_t * h_n
        if self.fusion == "concat":
            return self.conv(torch.cat([h_t, h_n], 1))
        n, c, hh, ww = h_n.shape
        ht = h_t.flatten(2)  # (N, c, n)
        hn = h_n.flatten(2)
        a = torch.softmax(torch.bmm(ht.transpose(1, 2), hn) / math.sqrt(c), dim=1)  # (N, n_t, n_next)
        tilde = torch.bmm(hn, a).view(n, c, hh, ww)
        return self.conv(torch.cat([tilde, h_n], 1))


class FastVSOD(SaliencyModel):
    """The fastvsod network (Sec. 3.2-3.4).

    Args: ``backbone`` in {"resnet50", "resnet34", "resnet18", "csnet"} (CSNet's released weights, H at
    stride 8: :mod:`salkd.models.csnet_backbone`); ``freeze_backbone``: no training of the backbone;
    ``width`` channel multiplier;
    ``fusion`` in {"attention", "add", "concat", "multiply"}; ``encoder`` builds the inter-frame
    encoder + third unit (False for the BS / +SD ablations, and in ``deploy()``'s output);
    ``keep_encoder_at_test`` (FE_t of Table 3): ``model(x_t, x_ref)`` runs the encoder at test time;
    ``pretrained_path``: a torchvision-layout ImageNet state_dict file for the backbone (never downloads);
    ``backbone_train_stages`` (csnet, frozen): CSNet's last stages that train anyway, BatchNorm frozen.
    ``csnet_prior`` (csnet, all frozen): every output is CSNet's own logits (upsampled) plus the head's
    residual, whose last layers (P0's conv and each embedding unit's last conv) start at zero, so the
    untrained network's maps equal CSNet's and training can only add what SD, TD and FE bring.
    ``cache_inputs(x)`` / ``forward_train(x, cached=...)``: the frozen part of a CSNet backbone computed
    once per frame (:mod:`salkd.data.features`), then only the rest of the network per step.

    ``model(x)`` (input_kind "frame") -> P2 logits (N,1,H,W). With ``keep_encoder_at_test``,
    input_kind is "pair" and ``model(x_t, x_ref)`` -> P3 logits *for x_t*, computed with x_t in the role
    of frame t+t0 and x_ref (an adjacent frame, e.g. t+1, i.e. t0 = -1) in the role of frame t.
    """

    stride = 16
    pads_to_stride = True  # any input size (473x473 in the paper): padded to 16, output cropped back
    model_name = "fastvsod"

    def __init__(self, backbone: str = "resnet50", width: float = 1.0, fusion: str = "attention",
                 encoder: bool = True, keep_encoder_at_test: bool = False,
                 pretrained_path: str | os.PathLike | None = None, freeze_backbone: bool = False,
                 backbone_train_stages: int = 0, csnet_prior: bool = False) -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if keep_encoder_at_test and not encoder:
            raise ValueError("keep_encoder_at_test=True needs encoder=True")
        self.fusion_kind = fusion
        self.keep_encoder_at_test = keep_encoder_at_test
        self.input_kind = "pair" if keep_encoder_at_test else "frame"
        self.norm = ImageNetNorm(1)
        if backbone == "csnet":  # CSNet's released weights (salkd.models.csnet_backbone)
            from .csnet_backbone import CSNetBackbone

            self.backbone = CSNetBackbone(freeze=freeze_backbone, train_stages=backbone_train_stages,
                                          prior=csnet_prior)
        else:
            if csnet_prior:
                raise ValueError("csnet_prior applies to backbone='csnet'")
            if backbone_train_stages:
                raise ValueError("backbone_train_stages (partial fine-tuning) applies to backbone='csnet'")
            self.backbone = resnet(backbone, width, dilate_last=True)
            if freeze_backbone:
                for p in self.backbone.parameters():
                    p.requires_grad_(False)
        if pretrained_path is not None:
            load_torchvision_weights(self.backbone, pretrained_path, arch=f"fastvsod {backbone} (width={width})")
        c1, c2, c3, c4 = self.backbone.channels
        c = ch(256, width)
        hid = ch(128, width)
        self.aspp = ASPP(c4, c)
        self.low = _gamma(c1 + c2, c)
        self.high = _gamma(c3 + c4 + c, c)
        self.p0 = nn.Conv2d(c, 1, 3, padding=1)
        self.unit1 = EmbeddingUnit(c, hid)
        self.unit2 = EmbeddingUnit(c, hid)
        self.encoder = InterFrameEncoder(c, fusion) if encoder else None
        self.unit3 = EmbeddingUnit(c, hid) if encoder else None
        self.csnet_prior = bool(csnet_prior)
        if self.csnet_prior:  # the head starts as a zero residual on CSNet's logits
            last = [self.p0] + [u.phi[-1] for u in (self.unit1, self.unit2, self.unit3) if u is not None]
            for conv in last:
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)

    # --- pieces -----------------------------------------------------------------------------
    def _features(self, x: torch.Tensor, cached: dict[str, torch.Tensor] | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """L (stride 4) and H (stride 16) of eq. 1 (from the backbone's cached frozen part when given); with
        ``csnet_prior`` CSNet's logits are kept in ``self._prior`` for :meth:`_out`."""
        if self.csnet_prior:
            pre = cached if cached is not None else self.backbone.prefix(self.norm(x))
            self._prior = pre["prior"].to(x.dtype)
            s1, s2, s3, s4 = self.backbone.from_prefix(pre)
        elif cached is not None:
            s1, s2, s3, s4 = self.backbone.from_prefix(cached)
        else:
            s1, s2, s3, s4 = self.backbone(self.norm(x))
        s5 = self.aspp(s4)
        low = self.low(torch.cat([s1, upsample_to(s2, s1)], 1))
        high = self.high(torch.cat([s3, s4, s5], 1))
        return low, high

    def _embed(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """P0, P1, P2 of eq. 2 (logits at their own resolution)."""
        p0 = self.p0(high)
        p1 = self.unit1(p0, low)
        p2 = self.unit2(p1, upsample_to(high, low))
        return p0, p1, p2

    def _p3(self, p2_n: torch.Tensor, h_t: torch.Tensor, h_n: torch.Tensor) -> torch.Tensor:
        o = self.encoder(h_t, h_n)
        return self.unit3(p2_n, upsample_to(o, p2_n))

    # --- public -----------------------------------------------------------------------------
    def _pad(self, *xs: torch.Tensor) -> tuple[list[torch.Tensor], tuple[int, int]]:
        """Inputs padded (edge pixels repeated, bottom and right) to a multiple of the stride, and the
        original (h, w): the paper's 473x473 is not a multiple of 16."""
        h, w = xs[0].shape[-2:]
        ph, pw = (-h) % self.stride, (-w) % self.stride
        if not (ph or pw):
            return list(xs), (h, w)
        return [F.pad(x, (0, pw, 0, ph), mode="replicate") for x in xs], (h, w)

    def _out(self, p: torch.Tensor, padded: torch.Tensor, hw: tuple[int, int], part: slice = slice(None)
             ) -> torch.Tensor:
        """A map upsampled to the padded input and cropped back to the original size; with ``csnet_prior``
        plus CSNet's logits (of the frames ``part`` of the batch the features were computed on)."""
        out = upsample_to(p, padded)
        if self.csnet_prior:
            out = out + upsample_to(self._prior[part], padded)
        return out[..., :hw[0], :hw[1]]

    def forward(self, x: torch.Tensor, x_ref: torch.Tensor | None = None) -> torch.Tensor:
        self._check(x, 3, "x")
        if not self.keep_encoder_at_test:
            if x_ref is not None:
                raise ValueError("fastvsod: input_kind 'frame' takes one frame (keep_encoder_at_test=False)")
            (x,), hw = self._pad(x)
            low, high = self._features(x)
            return self._out(self._embed(low, high)[2], x, hw)
        if x_ref is None:
            raise ValueError("fastvsod (FE_t): expects model(x_t, x_ref)")
        self._check(x_ref, 3, "x_ref")
        (x, x_ref), hw = self._pad(x, x_ref)
        n = x.shape[0]
        low, high = self._features(torch.cat([x, x_ref], 0))
        p2_x = self._embed(low[:n], high[:n])[2]
        return self._out(self._p3(p2_x, high[n:], high[:n]), x, hw, slice(0, n))

    def feature_cache_key(self) -> str | None:
        """The key of the backbone's frozen part (:meth:`cache_inputs`), None when nothing can be cached."""
        digest = getattr(self.backbone, "prefix_digest", None)
        if digest is None or not getattr(self.backbone, "n_frozen", 0):
            return None
        return digest()

    def cache_inputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The frozen part of a CSNet backbone on frames ``x`` (N,3,H,W in [0, 1]), what
        ``forward_train(x, cached=...)`` takes instead of running it again."""
        if self.feature_cache_key() is None:
            raise ValueError("fastvsod: only a frozen CSNet backbone has a cacheable part (backbone='csnet', "
                             "freeze_backbone=True)")
        self._check(x, 3, "x")
        (x,), _ = self._pad(x)
        return self.backbone.prefix(self.norm(x))

    def forward_train(self, x_t: torch.Tensor, x_next: torch.Tensor | None = None, *,
                      cached: dict[str, torch.Tensor] | None = None,
                      cached_next: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Training outputs, all logits (N,1,H,W) at input resolution.

        Single frame: {"P0", "P1", "P2"} = P_0^t, P_1^t, P_2^t (eq. 2-3). With ``x_next`` (frame t+t0):
        also {"P0_next", "P1_next", "P2_next"} = P_i^{t+t0} from the shared units (eq. 4) and, when the
        encoder exists, "P3" = P_3^{t+t0}, the third unit on O^{t+t0} = encoder(H^t, H^{t+t0}) (eq. 5-6).
        Both frames go through the backbone as one batch. ``cached`` / ``cached_next``: :meth:`cache_inputs`
        of ``x_t`` / ``x_next``, so that the frozen part of the backbone is not run again (a pair needs both).
        """
        self._check(x_t, 3, "x_t")
        if x_next is not None and (cached is None) != (cached_next is None):
            raise ValueError("fastvsod: a frame pair takes the cached backbone features of both frames "
                             "(cached and cached_next) or of neither")
        if cached_next is not None and x_next is None:
            raise ValueError("fastvsod: cached_next given without x_next")
        if x_next is None:
            (x_t,), hw = self._pad(x_t)
            low, high = self._features(x_t, cached)
            return {f"P{i}": self._out(p, x_t, hw) for i, p in enumerate(self._embed(low, high))}
        self._check(x_next, 3, "x_next")
        if x_next.shape != x_t.shape:
            raise ValueError(f"fastvsod: x_t {tuple(x_t.shape)} and x_next {tuple(x_next.shape)} differ")
        (x_t, x_next), hw = self._pad(x_t, x_next)
        n = x_t.shape[0]
        both = None if cached is None or cached_next is None else {
            k: torch.cat([cached[k], cached_next[k]], 0) for k in cached}
        low, high = self._features(torch.cat([x_t, x_next], 0), both)
        ps_t = self._embed(low[:n], high[:n])
        ps_n = self._embed(low[n:], high[n:])
        first, second = slice(0, n), slice(n, None)
        out = {f"P{i}": self._out(p, x_t, hw, first) for i, p in enumerate(ps_t)}
        out.update({f"P{i}_next": self._out(p, x_t, hw, second) for i, p in enumerate(ps_n)})
        if self.encoder is not None:
            out["P3"] = self._out(self._p3(ps_n[2], high[:n], high[n:]), x_t, hw, second)
        return out

    def deploy(self) -> "FastVSOD":
        """The test-time network (a copy): without the encoder (FE_o, the paper's final model), or the
        whole network when ``keep_encoder_at_test`` (FE_t). Its ``salkd_spec`` rebuilds it exactly."""
        m = copy.deepcopy(self)
        spec = copy.deepcopy(getattr(self, "salkd_spec", {"name": "fastvsod", "kwargs": {}}))
        if not self.keep_encoder_at_test:
            m.encoder = None
            m.unit3 = None
            spec["kwargs"]["encoder"] = False
        spec["kwargs"].pop("pretrained_path", None)
        m.salkd_spec = spec
        m.deployable = True
        return m.eval()
