"""Building blocks shared by the salkd models.

* ``ImageNetNorm``: ImageNet mean/std normalization applied *inside* every model, so every
  model takes NCHW float RGB in [0, 1].
* ``SaliencyModel``: base class holding the input contract (kind, channels, stride) and the
  input checks (clear ``ValueError`` naming the model).
* ``conv_bn_act``, ``InvertedResidual`` (MobileNetV2), ``ChannelAttention`` (uvanet eq. 2),
  ``SqueezeExcite`` and ``CAResBlock`` (uvanet eq. 1, with the ``mb``/``mbse`` ablation variants
  of uvanet Fig. 6), ``ASPP`` (fastvsod Sec. 3.2, DeepLab rates 6/12/18) and
  ``EmbeddingUnit`` (fastvsod eq. 2).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageNetNorm",
    "SaliencyModel",
    "ch",
    "conv_bn_act",
    "InvertedResidual",
    "ChannelAttention",
    "SqueezeExcite",
    "CAResBlock",
    "ASPP",
    "EmbeddingUnit",
    "upsample_to",
    "trunc_normal_init",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def ch(base: int, width: float, minimum: int = 4) -> int:
    """Scale a channel count by the width multiplier (rounded, at least ``minimum``)."""
    return max(minimum, int(round(base * width)))


def _exporting() -> bool:
    """True while tracing / exporting / compiling: data-dependent checks are skipped then."""
    if torch.jit.is_tracing() or torch.jit.is_scripting():
        return True
    try:
        if torch.onnx.is_in_onnx_export():
            return True
    except AttributeError:  # pragma: no cover
        pass
    try:
        return bool(torch.compiler.is_compiling())
    except AttributeError:  # pragma: no cover
        return False


class ImageNetNorm(nn.Module):
    """(x - mean) / std with ImageNet statistics, per group of 3 channels.

    ``groups`` RGB images may be stacked on the channel axis (e.g. the 6-channel frame pair of the
    skd temporal student); each group is normalized with the same statistics. The buffers are
    non-persistent, so they never appear in a state_dict.
    """

    def __init__(self, groups: int = 1) -> None:
        super().__init__()
        mean = torch.tensor(IMAGENET_MEAN * groups).view(1, 3 * groups, 1, 1)
        std = torch.tensor(IMAGENET_STD * groups).view(1, 3 * groups, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)


class SaliencyModel(nn.Module):
    """Base class: the input contract of every salkd model.

    Attributes: ``input_kind`` in {"frame", "pair", "flow"}, ``in_channels`` per input tensor,
    ``stride`` (H and W must be multiples of it), ``check_inputs`` (set False to skip the NaN check,
    which forces a device sync; shape checks are always done except while tracing/exporting).
    """

    input_kind: str = "frame"
    model_name: str = "model"
    stride: int = 1
    #: True when the model pads any input size to a multiple of ``stride`` itself (and crops its output)
    pads_to_stride: bool = False
    output_names: tuple[str, ...] = ("saliency",)

    def __init__(self) -> None:
        super().__init__()
        self.check_inputs = True

    def deploy(self) -> nn.Module:
        """The test-time network. The default is the model itself; a model that drops training-only
        parts at test time (fastvsod's FE_o encoder) returns a copy without them."""
        return self

    def _check(self, x: torch.Tensor, channels: int, what: str = "input") -> None:
        """Raise ValueError naming the model if ``x`` is not (N, channels, H, W) with H, W % stride == 0."""
        if _exporting():
            return
        name = getattr(self, "salkd_spec", {}).get("name", self.model_name)
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name}: expected {what} of shape (N, {channels}, H, W), got {shape}")
        if x.shape[1] != channels:
            raise ValueError(
                f"{name}: expected {what} with {channels} channels (N, {channels}, H, W), got shape {tuple(x.shape)}"
            )
        h, w = x.shape[-2:]
        if h == 0 or w == 0 or (not self.pads_to_stride and (h % self.stride or w % self.stride)):
            raise ValueError(
                f"{name}: {what} height and width must be positive multiples of {self.stride}, got {h}x{w}"
            )
        if self.check_inputs and not x.is_floating_point():
            raise ValueError(f"{name}: expected a float {what} in [0, 1], got dtype {x.dtype}")
        if self.check_inputs and bool(torch.isnan(x).any()):
            raise ValueError(f"{name}: {what} contains NaN values")


def conv_bn_act(cin: int, cout: int, k: int = 3, stride: int = 1, act: str = "relu", dilation: int = 1,
                groups: int = 1) -> nn.Sequential:
    """Conv2d (no bias) + BatchNorm2d + activation ("relu", "relu6", "prelu" or "none")."""
    pad = dilation * (k - 1) // 2
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act == "relu":
        layers.append(nn.ReLU(inplace=True))
    elif act == "relu6":
        layers.append(nn.ReLU6(inplace=True))
    elif act == "prelu":
        layers.append(nn.PReLU(cout))
    elif act != "none":
        raise ValueError(f"unknown activation {act!r}")
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """f_inv of uvanet eq. 1: the MobileNetV2 inverted residual *body* (Sandler et al. 2018).

    1x1 expansion (x ``expand``) + BN + ReLU6, 3x3 depth-wise (stride) + BN + ReLU6, 1x1 linear
    projection + BN. The skip connection is added by the enclosing block (``CAResBlock``).
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, expand: int = 6) -> None:
        super().__init__()
        hid = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn_act(cin, hid, 1, act="relu6"))
        layers += [conv_bn_act(hid, hid, 3, stride, act="relu6", groups=hid), conv_bn_act(hid, cout, 1, act="none")]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ChannelAttention(nn.Module):
    """f_ca of uvanet eq. 2: sigma(MLP(avgpool F) + MLP(maxpool F)), a shared 2-layer MLP.

    The MLP is two 1x1 convs c -> max(c // reduction, 4) -> c with ReLU between (CBAM-style,
    Woo et al. 2018; the paper does not give the reduction: we use 4). Returns (N, C, 1, 1) weights.
    """

    def __init__(self, c: int, reduction: int = 4) -> None:
        super().__init__()
        hid = max(c // reduction, 4)
        self.mlp = nn.Sequential(nn.Conv2d(c, hid, 1), nn.ReLU(inplace=True), nn.Conv2d(hid, c, 1))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        avg = F.adaptive_avg_pool2d(f, 1)
        mx = F.adaptive_max_pool2d(f, 1)
        return torch.sigmoid(self.mlp(avg) + self.mlp(mx))


class SqueezeExcite(nn.Module):
    """SE attention (Hu et al.) for the uvanet Fig. 6 "MB+SE" ablation: sigma(MLP(avgpool F)) only."""

    def __init__(self, c: int, reduction: int = 4) -> None:
        super().__init__()
        hid = max(c // reduction, 4)
        self.mlp = nn.Sequential(nn.Conv2d(c, hid, 1), nn.ReLU(inplace=True), nn.Conv2d(hid, c, 1))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(f, 1)))


class CAResBlock(nn.Module):
    """CA-Res block, uvanet eq. 1: R_out = R_in + f_inv(R_in) * f_ca(f_inv(R_in)).

    ``kind``: "cares" (eq. 1-2), "mb" (plain MobileNetV2 block: R_in + f_inv(R_in)) or "mbse"
    (MobileNetV2 + SE attention in place of f_ca), the uvanet Fig. 6 ablation blocks.
    Choice (paper silent): when the block changes stride or channels, the identity term R_in is
    dropped, as in MobileNetV2.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, expand: int = 6, kind: str = "cares") -> None:
        super().__init__()
        if kind not in ("cares", "mb", "mbse"):
            raise ValueError(f"block must be one of 'cares', 'mb', 'mbse', got {kind!r}")
        self.kind = kind
        self.inv = InvertedResidual(cin, cout, stride, expand)
        self.att: nn.Module | None
        if kind == "cares":
            self.att = ChannelAttention(cout)
        elif kind == "mbse":
            self.att = SqueezeExcite(cout)
        else:
            self.att = None
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.inv(x)
        if self.att is not None:
            f = f * self.att(f)
        return x + f if self.residual else f


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling, the 5th block of fastvsod Sec. 3.2 (DeepLabv3 configuration).

    Branches: 1x1 conv, three 3x3 convs with dilation ``rates`` (6, 12, 18 at output stride 16),
    image pooling (global average + 1x1 conv + ReLU, no BN so batch size 1 trains), concatenated and
    projected by 1x1 conv + BN + ReLU to ``cout`` channels.
    """

    def __init__(self, cin: int, cout: int, rates: tuple[int, ...] = (6, 12, 18)) -> None:
        super().__init__()
        self.branches = nn.ModuleList([conv_bn_act(cin, cout, 1)] + [conv_bn_act(cin, cout, 3, dilation=r) for r in rates])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True))
        self.project = conv_bn_act(cout * (len(rates) + 2), cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        outs.append(self.pool(x).expand(-1, -1, x.shape[-2], x.shape[-1]))
        return self.project(torch.cat(outs, 1))


class EmbeddingUnit(nn.Module):
    """Saliency-guided feature embedding unit, fastvsod eq. 2 (from R3Net).

    R_j = Phi_j(cat(P_{j-1}, M)); P_j = P_{j-1} + R_j, with Phi_j = three 3x3 convs. Choice (paper:
    "three convolution layers with BN and PReLU"): the first two are conv+BN+PReLU, the third is a
    plain conv to the 1-channel residual (a BN/PReLU on the 1-channel residual would limit its range).
    ``P_{j-1}`` is a logit map, bilinearly resized to M's resolution first.
    """

    def __init__(self, cin: int, hidden: int) -> None:
        super().__init__()
        self.phi = nn.Sequential(
            conv_bn_act(cin + 1, hidden, 3, act="prelu"),
            conv_bn_act(hidden, hidden, 3, act="prelu"),
            nn.Conv2d(hidden, 1, 3, padding=1),
        )

    def forward(self, prev: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        prev = upsample_to(prev, m)
        return prev + self.phi(torch.cat([prev, m], 1))


def upsample_to(x: torch.Tensor, ref: torch.Tensor | tuple[int, int]) -> torch.Tensor:
    """Bilinear resize (align_corners=False) of ``x`` to ``ref``'s spatial size (no-op if equal)."""
    size = tuple(ref.shape[-2:]) if isinstance(ref, torch.Tensor) else tuple(ref)
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def trunc_normal_init(module: nn.Module) -> None:
    """Truncated-normal init (skd Sec. III-C: the fusion subnet is initialized this way).

    Choice (paper gives no std): He-scaled std = sqrt(2 / fan), truncated at +-2 std; zero biases.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            fan = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight.shape[0] * m.weight[0, 0].numel()
            s = math.sqrt(2.0 / max(fan, 1))
            nn.init.trunc_normal_(m.weight, std=s, a=-2 * s, b=2 * s)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


#: Prior of the output layer's bias: sigmoid(bias) = OUTPUT_PRIOR at initialization.
OUTPUT_PRIOR = 0.01


def init_output_prior(layer: nn.Module, prior: float = OUTPUT_PRIOR) -> None:
    """Set the bias of a saliency head's last layer to logit(``prior``) (prior initialization).

    Saliency targets are mostly background (fixation densities average ~0.01-0.1). A head starting at
    sigmoid(0) = 0.5 is first pushed down on every pixel at once; with the L2 losses of skd / uvanet
    and Adam this drove the logits of the normalization-free skd students to -700 within 20 steps,
    where sigmoid has no gradient, and the students stayed constant. Starting at the prior avoids
    that collapse (the same reasoning as the prior bias of Lin et al., "Focal Loss", ICCV 2017).
    """
    bias = getattr(layer, "bias", None)
    if bias is None:
        raise ValueError(f"{type(layer).__name__} has no bias to initialize")
    if not 0.0 < prior < 1.0:
        raise ValueError(f"prior must be in (0, 1), got {prior}")
    with torch.no_grad():
        bias.fill_(math.log(prior / (1.0 - prior)))
