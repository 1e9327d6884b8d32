"""Salient-object-detection metrics: F-measure, MAE, S-measure, E-measure, weighted F.

Conventions (PySODMetrics 1.x ``sod_metrics.py`` and the DAVSOD benchmark toolkit ``main.m``,
Fan et al., CVPR 2019):

* prediction: uint8 maps are divided by 255 and min-max normalized unless constant (MATLAB
  ``mapminmax(im2double(sal))``); float maps must lie in [0, 1] and are used as they are (float32
  is promoted to float64); bool maps are 0/1 floats. To score a model as the toolkits score its saved
  maps, pass the 8-bit map a user would save (``salkd.evaluate`` does: ``saved_map``).
* mask: ``gt > 128`` for uint8, ``gt > 0.5`` for float, bool as is.
* a prediction of another size is resized to the mask's size first (see ``resize_batch``).
* F-measure, β² = 0.3, over the 256 thresholds t = 0..255 applied to ``floor(255 · pred)``
  (``pred ≥ t``); precision and recall are averaged over frames per threshold, and max-F / mean-F
  are the max / mean of the frame-averaged F curve (not the mean of per-frame maxima).
* adaptive F and adaptive E: threshold ``min(2 · mean(pred), 1)`` on the continuous map.
* MAE: mean |pred − mask|.
* S-measure (Fan et al., ICCV 2017), α = 0.5, centroid rounded half-to-even then +1 (MATLAB's
  1-based split), SSIM with the N−1 normalisation and ``EPS = 2.2204e-16``.
* E-measure (Fan et al., IJCAI 2018): per threshold, computed from the confusion counts exactly
  as PySODMetrics does; max-E / mean-E on the frame-averaged curve. It is *not* clipped to 1: the
  score divides by ``H·W − 1 + EPS`` (PySODMetrics ``Emeasure.cal_em_with_threshold`` and Fan's MATLAB
  ``Emeasure.m``), so an all-zero mask predicted all-zero scores ``H·W / (H·W − 1)`` (1.0000024 at
  480×854), as PySODMetrics 1.x reports it.
* weighted F (Margolin et al., CVPR 2014), β² = 1, with PySODMetrics' Gaussian 7×7 σ = 5 and
  scipy's Euclidean distance transform; 0 for an empty mask.

Differences from PySODMetrics (each covered by a test):

* S-measure when the mask's centroid falls in the last row or column (e.g. a one-pixel object
  there): a quadrant is empty, PySODMetrics (and the MATLAB code) return NaN; we give that
  quadrant weight 0 as its area is 0, so the score is finite.
* A region whose prediction is exactly constant has exactly zero variance here; PySODMetrics
  computes ``np.mean`` by summation, which for some constants (e.g. 128/255) differs from the
  constant in the last bit and then gives a variance of ~1e-33. That flips the SSIM of a
  quadrant whose mask is constant between 1 (ours, exact) and 0, so on a constant prediction the
  S-measure can differ. Predictions of 0 or 1 agree exactly.
* float32 input is promoted to float64 before ``floor(255 · pred)``; PySODMetrics keeps float32,
  so a value within one float32 ulp of k/255 can land one bin lower there.
Otherwise the values agree with PySODMetrics to ~1e-12 (sums are taken in another order).

How it is computed: for uint8 predictions everything (curves, MAE, S, adaptive F/E) comes from
one per-frame histogram over (S-measure quadrant, mask, raw value) and a 256-entry normalisation
table, i.e. one counting pass over the pixels; float predictions take an exact path with a few
more passes (sums per quadrant/mask; only the curves use ``floor(255 · pred)``). On CPU, frames
of a batch are processed concurrently on ``torch.get_num_threads()`` Python threads (torch
releases the GIL); on CUDA, frame by frame on the device. Results do not depend on either.
Note the uint8 mask convention: a uint8 mask holding {0, 1} is all background (``gt > 128``);
pass it as bool.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from salkd.metrics._input import MetricInputError, as_batch, check_finite, check_unit_range, resize_batch
from salkd.metrics._parallel import map_frames, single_threaded_ops
from salkd.metrics.sod_measures import ALPHA, BETA2, EPS  # noqa: F401  (ALPHA, BETA2: importable from here)
from salkd.metrics.sod_stats import _stats_float, _stats_uint8
from salkd.metrics.sod_weighted_f import weighted_f_frame

__all__ = ["SODEvaluator", "sod_frame_stats", "SOD_KEYS", "EPS"]

SOD_KEYS = ("max_f", "mean_f", "adp_f", "mae", "s_measure", "max_e", "mean_e", "adp_e", "w_f")
_F64 = torch.float64


# --------------------------------------------------------------------------------------------
# input
def _prepare(pred: Any, gt: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Check and convert to ``(N, H, W)``: pred uint8 or float64 in [0, 1], mask bool."""
    p = as_batch(pred, "pred")
    g = as_batch(gt, "gt")
    if p.shape[0] != g.shape[0]:
        raise MetricInputError(f"pred and gt: batch sizes differ ({p.shape[0]} vs {g.shape[0]})")
    if p.device != g.device:
        g = g.to(p.device)
    if g.dtype == torch.uint8:
        g = g > 128
    elif g.dtype == torch.bool:
        pass
    elif g.is_floating_point():
        check_finite(g, "gt")
        g = g > 0.5
    else:
        raise MetricInputError(f"gt: unsupported dtype {g.dtype}; expected uint8, bool or float")
    if p.dtype == torch.bool:
        p = p.to(_F64)
    elif p.is_floating_point():
        check_unit_range(p, "pred")
        p = p.to(_F64)
    elif p.dtype != torch.uint8:
        raise MetricInputError(f"pred: unsupported dtype {p.dtype}; expected uint8, bool or float")
    p = resize_batch(p, (int(g.shape[1]), int(g.shape[2])))
    return p, g


# --------------------------------------------------------------------------------------------
def sod_frame_stats(pred: Any, gt: Any, *, weighted_f: bool = True) -> dict[str, torch.Tensor]:
    """Per-frame SOD statistics of a frame ``(H, W)`` or batch ``(N, H, W)``.

    Returns float64 tensors on the input's device: curves ``precision``, ``recall``, ``f``, ``e``
    of shape ``(N, 256)`` indexed by threshold 0..255 (ascending; PySODMetrics stores them in
    descending-threshold order), and ``mae``, ``adp_f``, ``adp_e``, ``s_measure``, ``w_f`` of shape
    ``(N,)`` (``w_f`` is NaN when ``weighted_f`` is False). Conventions: module docstring.
    """
    with single_threaded_ops() as workers:
        p, g = _prepare(pred, gt)
        if p.dtype == torch.uint8:
            st = _stats_uint8(p, g, workers)
            lut = st.pop("lut")
        else:
            st = _stats_float(p, g, workers)
            lut = None
        n = p.shape[0]
        wf = torch.full((n,), float("nan"), dtype=_F64)
        if weighted_f:
            g_np = g.cpu().numpy()
            if lut is not None:
                pf = torch.gather(lut, 1, p.reshape(n, -1).long()).reshape(p.shape).cpu().numpy()
            else:
                pf = p.cpu().numpy()
            vals = map_frames(lambda i: weighted_f_frame(pf[i], g_np[i]), n, torch.device("cpu"), workers)
            wf = torch.tensor(vals, dtype=_F64)
    st["w_f"] = wf.to(p.device)
    return st


class SODEvaluator:
    """Streaming SOD evaluator: max/mean/adaptive F (β² = 0.3), MAE, S-measure (α = 0.5),
    max/mean/adaptive E-measure and weighted F, as PySODMetrics and the DAVSOD toolkit.

    ``update(pred, gt)`` takes a frame ``(H, W)`` or a batch ``(N, H, W)`` (numpy or torch, CPU or
    CUDA; see the module docstring for dtypes). ``compute()`` averages per-frame scalars over all
    frames and takes max/mean F and E on the frame-averaged curves. ``merge`` pools frames of
    another evaluator, so per-video evaluators merge into a dataset-level one.
    ``weighted_f=False`` skips the (CPU, scipy) weighted F, which then reports NaN.
    """

    _SCALARS = ("mae", "s_measure", "adp_f", "adp_e", "w_f")
    _CURVES = ("precision", "recall", "f", "e")

    def __init__(self, *, weighted_f: bool = True) -> None:
        self.weighted_f = bool(weighted_f)
        self.reset()

    def reset(self) -> None:
        """Forget all frames."""
        self._scalars: dict[str, list[np.ndarray]] = {k: [] for k in self._SCALARS}
        self._curve_sums = {k: np.zeros(256, dtype=np.float64) for k in self._CURVES}
        self._n = 0

    @property
    def n_frames(self) -> int:
        """Number of frames updated so far."""
        return self._n

    def update(self, pred: Any, gt: Any) -> None:
        """Add one frame or a batch of frames."""
        st = sod_frame_stats(pred, gt, weighted_f=self.weighted_f)
        for k in self._SCALARS:
            self._scalars[k].append(st[k].cpu().numpy())
        for k in self._CURVES:
            for row in st[k].cpu().numpy():  # frame by frame: a batch sums exactly as single frames do
                self._curve_sums[k] += row
        self._n += int(st["mae"].shape[0])

    def merge(self, other: "SODEvaluator") -> "SODEvaluator":
        """Add ``other``'s frames to this evaluator (in place) and return ``self``."""
        if not isinstance(other, SODEvaluator):
            raise TypeError(f"other: expected SODEvaluator, got {type(other).__name__}")
        for k in self._SCALARS:
            self._scalars[k].extend(a.copy() for a in other._scalars[k])
        for k in self._CURVES:
            self._curve_sums[k] += other._curve_sums[k]
        self._n += other._n
        return self

    def per_frame(self) -> dict[str, np.ndarray]:
        """Per-frame scalars (``mae``, ``s_measure``, ``adp_f``, ``adp_e``, ``w_f``) in update order."""
        return {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in self._scalars.items()}

    def curves(self) -> dict[str, np.ndarray]:
        """Frame-averaged curves over thresholds 0..255 (ascending): ``thresholds``, ``f``, ``e``,
        ``precision``, ``recall`` (the PR curve is ``recall`` vs ``precision``)."""
        if self._n == 0:
            raise MetricInputError("curves(): no frames were updated")
        out = {k: v / self._n for k, v in self._curve_sums.items()}
        out["thresholds"] = np.arange(256)
        return out

    def compute(self) -> dict[str, float]:
        """Dataset-level numbers over all frames updated so far (keys: ``SOD_KEYS``)."""
        if self._n == 0:
            raise MetricInputError("compute(): no frames were updated")
        c = self.curves()
        pf = self.per_frame()
        return {
            "max_f": float(c["f"].max()),
            "mean_f": float(c["f"].mean()),
            "adp_f": float(pf["adp_f"].mean()),
            "mae": float(pf["mae"].mean()),
            "s_measure": float(pf["s_measure"].mean()),
            "max_e": float(c["e"].max()),
            "mean_e": float(c["e"].mean()),
            "adp_e": float(pf["adp_e"].mean()),
            "w_f": float(pf["w_f"].mean()) if self.weighted_f else float("nan"),
        }
