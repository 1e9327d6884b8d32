"""Input checking and conversion shared by the SOD and fixation evaluators.

Everything is converted to a ``torch.Tensor`` of shape ``(N, H, W)`` on the input's device, so
numpy arrays, CPU tensors and CUDA tensors go through one code path.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from salkd.tensors import from_array

__all__ = ["MetricInputError", "as_tensor", "as_batch", "resize_batch", "check_finite", "check_unit_range", "rowdot"]


class MetricInputError(ValueError):
    """Bad input to a metric: wrong shape, dtype, range, NaN/inf or an empty batch."""


def as_tensor(x: Any, name: str) -> torch.Tensor:
    """Return ``x`` (numpy array or torch tensor) as a tensor without copying when possible."""
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, np.ndarray):
        if x.dtype == np.uint16 or x.dtype.kind not in "buif":
            raise MetricInputError(f"{name}: unsupported dtype {x.dtype}; expected uint8, bool or float")
        return from_array(x)
    raise MetricInputError(f"{name}: expected a numpy array or torch tensor, got {type(x).__name__}")


def as_batch(x: Any, name: str) -> torch.Tensor:
    """``(H, W)`` → ``(1, H, W)``; ``(N, H, W)`` kept; a trailing/leading channel of 1 is squeezed."""
    t = as_tensor(x, name)
    if t.ndim == 4 and t.shape[1] == 1:  # (N, 1, H, W), as models output
        t = t[:, 0]
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3:
        raise MetricInputError(f"{name}: expected shape (H, W) or (N, H, W), got {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise MetricInputError(f"{name}: empty batch (N = 0)")
    if t.shape[1] == 0 or t.shape[2] == 0:
        raise MetricInputError(f"{name}: empty frame of shape {tuple(t.shape[1:])}")
    return t


def check_finite(t: torch.Tensor, name: str) -> None:
    """Raise if a float tensor holds NaN or inf (one min/max pass: NaN and inf propagate)."""
    if t.is_floating_point() and t.numel():
        lo, hi = torch.aminmax(t)
        if not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
            raise MetricInputError(f"{name}: contains NaN or inf")


def check_unit_range(t: torch.Tensor, name: str) -> None:
    """Raise if a float tensor holds NaN/inf or values outside [0, 1] (uint8 and bool always pass).

    One min/max pass: NaN and inf propagate into the extremes.
    """
    if t.is_floating_point() and t.numel():
        lo, hi = (float(v) for v in torch.aminmax(t))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise MetricInputError(f"{name}: contains NaN or inf")
        if lo < 0.0 or hi > 1.0:
            raise MetricInputError(
                f"{name}: float values must lie in [0, 1], got range [{lo:.6g}, {hi:.6g}] "
                "(pass uint8 0..255 maps, or rescale the floats first)"
            )


def resize_batch(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``(N, H, W)`` to ``size`` (antialiased when shrinking); dtype is kept.

    MATLAB's ``imresize`` (used by the MIT saliency code and the DAVSOD toolkit) is bicubic with an
    antialiasing kernel when shrinking; we use bilinear (``align_corners=False``, ``antialias=True``),
    which stays inside the input's value range, so no clipping is needed. uint8 input is resized in
    float and rounded back to uint8, as ``imresize`` does on uint8 images.
    """
    if tuple(t.shape[-2:]) == tuple(size):
        return t
    x = t.unsqueeze(1).to(torch.float64 if t.dtype == torch.float64 else torch.float32)
    y = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)[:, 0]
    if t.dtype == torch.uint8:
        return y.round_().clamp_(0, 255).to(torch.uint8)
    if t.dtype == torch.bool:
        return y >= 0.5
    return y.to(t.dtype)


def rowdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise dot products of ``(N, P)`` tensors via batched BLAS (no temporary)."""
    return torch.bmm(a.unsqueeze(1), b.unsqueeze(2)).reshape(-1)
