"""Salient-object-detection metrics: F-measure, MAE, S-measure, E-measure, weighted F.

Conventions (PySODMetrics 1.x ``sod_metrics.py`` and the DAVSOD benchmark toolkit ``main.m``,
Fan et al., CVPR 2019):

* prediction: uint8 maps are divided by 255 and min-max normalized unless constant (MATLAB
  ``mapminmax(im2double(sal))``); float maps must lie in [0, 1] and are used as they are (float32
  is promoted to float64); bool maps are 0/1 floats.
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
  as PySODMetrics does; max-E / mean-E on the frame-averaged curve.
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

import sys
from typing import Any

import numpy as np
import torch

from salkd.metrics._parallel import map_frames, single_threaded_ops
from salkd.metrics._input import MetricInputError, as_batch, check_finite, check_unit_range, resize_batch, rowdot

__all__ = ["SODEvaluator", "sod_frame_stats", "SOD_KEYS", "EPS"]

EPS = float(np.spacing(1))  # MATLAB eps, as PySODMetrics
BETA2 = 0.3
ALPHA = 0.5
SOD_KEYS = ("max_f", "mean_f", "adp_f", "mae", "s_measure", "max_e", "mean_e", "adp_e", "w_f")
_F64 = torch.float64
_LITTLE_ENDIAN = sys.byteorder == "little"


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
# shared pieces (all batched over frames, float64)
def _centroid_split(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """S-measure split point per frame: (cy, cx) = round(centroid of the mask) + 1.

    Rounds half to even like ``np.round``; an empty mask uses round(h/2), round(w/2) as PySODMetrics.
    """
    n, h, w = g.shape
    dev = g.device
    gu = g.view(torch.uint8)
    rows = gu.sum(2, dtype=torch.int32).long()  # (N, H)
    cols = gu.sum(1, dtype=torch.int32).long()  # (N, W)
    total = rows.sum(1)
    ry = (rows * torch.arange(h, device=dev)).sum(1).to(_F64)
    rx = (cols * torch.arange(w, device=dev)).sum(1).to(_F64)
    safe = total.clamp(min=1).to(_F64)
    cy = torch.where(total > 0, torch.round(ry / safe), torch.full_like(ry, float(np.round(h / 2))))
    cx = torch.where(total > 0, torch.round(rx / safe), torch.full_like(rx, float(np.round(w / 2))))
    return cy.long() + 1, cx.long() + 1


def _ssim_from_moments(cnt, x, y, sxx, syy, sxy):
    """SSIM of one region from its size, means and centred sums, as ``Smeasure.ssim``."""
    den = cnt - 1 + EPS
    sigma_x, sigma_y, sigma_xy = sxx / den, syy / den, sxy / den
    alpha = 4 * x * y * sigma_xy
    beta = (x**2 + y**2) * (sigma_x + sigma_y)
    score = torch.where(alpha != 0, alpha / (beta + EPS), torch.where(beta == 0, 1.0, 0.0).to(_F64))
    return torch.where(cnt > 0, score, torch.zeros_like(score))  # empty quadrant: weight 0 anyway


def _s_object(cnt, mean, sq):
    """``Smeasure.s_object``: 2·mean / (mean² + 1 + std + EPS), std with N−1 (0 for one pixel)."""
    std = torch.where(cnt > 1, torch.sqrt(sq / (cnt - 1).clamp(min=1)), torch.zeros_like(sq))
    return 2 * mean / (mean**2 + 1 + std + EPS)


def _s_combine(y, mean_all, obj, reg):
    """S = α·object + (1−α)·region clipped at 0; 1 − mean for an empty mask, mean for a full one."""
    s = torch.clamp(obj * ALPHA + reg * (1 - ALPHA), min=0)
    s = torch.where(y == 0, 1 - mean_all, s)
    return torch.where(y == 1, mean_all, s)


def _quadrant_weights(cy, cx, h, w):
    area = h * w
    cyf, cxf = cy.to(_F64), cx.to(_F64)
    w_lt = cxf * cyf / area
    w_rt = cyf * (w - cxf) / area
    w_lb = (h - cyf) * cxf / area
    w_rb = 1 - w_lt - w_rt - w_lb
    return torch.stack([w_lt, w_rt, w_lb, w_rb], 1)


def _curves_from_hist(fg_hist: torch.Tensor, bg_hist: torch.Tensor, n_fg: torch.Tensor, size: int):
    """Precision, recall, F and E curves for thresholds 0..255 (ascending) from quantized histograms.

    ``fg_hist[n, b]``: mask pixels whose ``floor(255·pred) == b``; same for ``bg_hist``. Follows
    ``Fmeasure.cal_pr`` and ``Emeasure.cal_em_with_cumsumhistogram`` (PySODMetrics).
    """
    tp = fg_hist.flip(1).cumsum(1).flip(1)  # pixels with value >= t
    fp = bg_hist.flip(1).cumsum(1).flip(1)
    ps = tp + fp
    precision = tp / torch.where(ps == 0, torch.ones_like(ps), ps)
    nfg = n_fg.to(_F64)[:, None]
    recall = tp / nfg.clamp(min=1)
    num = (1 + BETA2) * precision * recall
    den = torch.where(num == 0, torch.ones_like(num), BETA2 * precision + recall)
    f = num / den
    e = _emeasure(tp, fp, nfg, size)
    return precision, recall, f, e


def _emeasure(fg_fg: torch.Tensor, fg_bg: torch.Tensor, gt_fg: torch.Tensor, size: int) -> torch.Tensor:
    """E-measure from the confusion counts (``Emeasure.cal_em_with_threshold``); broadcasts."""
    pred_fg = fg_fg + fg_bg
    pred_bg = size - pred_fg
    bg_fg = gt_fg - fg_fg
    bg_bg = pred_bg - bg_fg
    mp = pred_fg / size
    mg = gt_fg / size
    dp = (1 - mp, -mp)
    dg = (1 - mg, -mg)
    total = torch.zeros_like(pred_fg)
    for part, a, b in ((fg_fg, dp[0], dg[0]), (fg_bg, dp[0], dg[1]), (bg_fg, dp[1], dg[0]), (bg_bg, dp[1], dg[1])):
        align = 2 * (a * b) / (a**2 + b**2 + EPS)
        total = total + (align + 1) ** 2 / 4 * part
    total = torch.where(gt_fg == 0, pred_bg, total)
    total = torch.where(gt_fg == size, pred_fg, total)
    return total / (size - 1 + EPS)


def _adaptive_f(inter: torch.Tensor, pred_fg: torch.Tensor, n_fg: torch.Tensor) -> torch.Tensor:
    """``Fmeasure.cal_adaptive_fm``: 0 when the intersection is empty."""
    safe_p = pred_fg.clamp(min=1)
    safe_g = n_fg.to(_F64).clamp(min=1)
    pre, rec = inter / safe_p, inter / safe_g
    fm = (1 + BETA2) * pre * rec / (BETA2 * pre + rec + (inter == 0).to(_F64))
    return torch.where(inter == 0, torch.zeros_like(fm), fm)


# --------------------------------------------------------------------------------------------
# uint8 path: one histogram per frame over (row side, col side, mask, value)
def _frame_hist_uint8(p: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """One frame: S-measure split (cy, cx) and ``hist[q, m, v]`` over quadrant q (lt, rt, lb, rb),
    mask m and raw value v, from one pass: value and mask/column-side bytes are interleaved into
    an int16 index (little-endian view), counted with ``bincount`` over the two row blocks."""
    h, w = p.shape
    cy, cx = _centroid_split(g[None])
    cy, cx = int(cy), int(cx)
    buf = torch.empty(h, w, 2, dtype=torch.uint8, device=p.device)
    buf[..., 0].copy_(p)
    side = torch.zeros(w, dtype=torch.uint8, device=p.device)
    side[min(cx, w):] = 2
    torch.add(g.view(torch.uint8), side, out=buf[..., 1])
    idx = buf.view(torch.int16).view(h, w)
    if not _LITTLE_ENDIAN:  # pragma: no cover
        idx = p.to(torch.int16) + buf[..., 1].to(torch.int16) * 256
    out = torch.zeros(2, 1024, dtype=torch.int64, device=p.device)
    c = min(cy, h)
    if c > 0:
        out[0] = torch.bincount(idx[:c].reshape(-1), minlength=1024)
    if c < h:
        out[1] = torch.bincount(idx[c:].reshape(-1), minlength=1024)
    # (rowside, colside, mask, value) -> (quadrant, mask, value)
    return out.view(4, 2, 256), cy, cx


def _hist_uint8(p: torch.Tensor, g: torch.Tensor, workers: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batched ``_frame_hist_uint8``: ``hist (N, 4, 2, 256)``, ``cy (N,)``, ``cx (N,)``."""
    res = map_frames(lambda i: _frame_hist_uint8(p[i], g[i]), p.shape[0], p.device, workers)
    hist = torch.stack([r[0] for r in res])
    cy = torch.tensor([r[1] for r in res], device=p.device)
    cx = torch.tensor([r[2] for r in res], device=p.device)
    return hist, cy, cx


def _weighted_moments(hist: torch.Tensor, values: torch.Tensor):
    """Count, mean and centred sum of squares of ``values`` weighted by ``hist`` (last dim).

    The mean is taken relative to the first occupied value, so a constant region has exactly
    its value as mean and exactly zero spread.
    """
    cnt = hist.sum(-1)
    first = (hist > 0).to(torch.int8).argmax(-1, keepdim=True)
    vals = values.expand_as(hist)
    ref = torch.gather(vals, -1, first)
    d = vals - ref
    mean = ref[..., 0] + (hist * d).sum(-1) / cnt.clamp(min=1)
    dev = vals - mean[..., None]
    sq = (hist * dev * dev).sum(-1)
    return cnt, mean, sq, dev


def _stats_uint8(p: torch.Tensor, g: torch.Tensor, workers: int) -> dict[str, torch.Tensor]:
    n, h, w = p.shape
    size = h * w
    dev = p.device
    hist, cy, cx = _hist_uint8(p, g, workers)
    hist = hist.to(_F64)  # (N, 4, 2, 256)
    fg = hist[:, :, 1].sum(1)  # (N, 256)
    bg = hist[:, :, 0].sum(1)
    allv = fg + bg
    n_fg = fg.sum(1)
    # normalisation LUT, exactly ``prepare_data``: pred / 255, then min-max unless constant
    v = torch.arange(256, device=dev, dtype=_F64)[None, :]
    occupied = allv > 0
    mn = occupied.to(torch.int8).argmax(1).to(_F64)[:, None]
    mx = (255 - occupied.flip(1).to(torch.int8).argmax(1)).to(_F64)[:, None]
    base = v / 255
    lo, hi = mn / 255, mx / 255
    rng = hi - lo
    lut = torch.where(rng > 0, (base - lo) / torch.where(rng > 0, rng, torch.ones_like(rng)), base.expand(n, 256))
    # quantized histograms for the curves
    q = (lut * 255).to(torch.int64).clamp_(0, 255)  # floor; unoccupied bins may fall outside
    fg_hist = torch.zeros_like(fg).scatter_add_(1, q, fg)
    bg_hist = torch.zeros_like(bg).scatter_add_(1, q, bg)
    precision, recall, f, e = _curves_from_hist(fg_hist, bg_hist, n_fg, size)
    # MAE and mean
    mae = ((fg * (1 - lut)).sum(1) + (bg * lut).sum(1)) / size
    _, mean_all, _, _ = _weighted_moments(allv, lut)
    # adaptive thresholds
    thr = torch.clamp(2 * mean_all, max=1.0)[:, None]
    above = (lut >= thr).to(_F64)
    inter = (fg * above).sum(1)
    pred_fg = (allv * above).sum(1)
    adp_f = _adaptive_f(inter, pred_fg, n_fg)
    adp_e = _emeasure(inter, pred_fg - inter, n_fg, size)
    # S-measure: object part
    y = n_fg / size
    cf, mf, sqf, _ = _weighted_moments(fg, lut)
    cb, mb, sqb, _ = _weighted_moments(bg, 1 - lut)
    obj = _s_object(cf, mf, sqf) * y + _s_object(cb, mb, sqb) * (1 - y)
    # S-measure: region part, SSIM per quadrant
    hq = hist.sum(2)  # (N, 4, 256)
    cq, xq, sxx, devq = _weighted_moments(hq, lut[:, None, :])
    fgq = hist[:, :, 1].sum(-1)
    yq = fgq / cq.clamp(min=1)
    syy = fgq * (1 - yq) ** 2 + (cq - fgq) * yq**2
    sxy = (hist[:, :, 1] * devq).sum(-1) * (1 - yq) + (hist[:, :, 0] * devq).sum(-1) * (-yq)
    ssim = _ssim_from_moments(cq, xq, yq, sxx, syy, sxy)
    reg = (ssim * _quadrant_weights(cy, cx, h, w)).sum(1)
    s = _s_combine(y, mean_all, obj, reg)
    return dict(precision=precision, recall=recall, f=f, e=e, mae=mae, adp_f=adp_f, adp_e=adp_e,
                s_measure=s, lut=lut)


# --------------------------------------------------------------------------------------------
# float path: exact continuous statistics, frame by frame
def _frame_float(p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """One float frame: ``[hist(512), sum p, sum_fg p, n_fg, inter, pred_fg, obj, region]``.

    Continuous statistics are exact sums over the frame (no quantisation); only the curves use
    ``floor(255 · p)``. Quadrant means are taken relative to the quadrant's first pixel so that a
    constant quadrant has exactly zero variance (see the module docstring).
    """
    h, w = p.shape
    dev = p.device
    cy, cx = _centroid_split(g[None])
    cy, cx = min(int(cy), h), min(int(cx), w)
    gf = g.to(_F64)
    # quantized histogram split by mask (interleaved int16 index, as the uint8 path)
    buf = torch.empty(h, w, 2, dtype=torch.uint8, device=dev)
    buf[..., 0].copy_((p * 255).to(torch.uint8))
    buf[..., 1].copy_(g.view(torch.uint8))
    hist = torch.bincount(buf.view(torch.int16).reshape(-1), minlength=512)[:512].to(_F64)
    pv, gv = p.reshape(-1), gf.reshape(-1)
    n_fg = gv.sum()
    s_all = pv.sum()
    s_fg = torch.dot(pv, gv)
    mean = s_all / pv.numel()
    thr = torch.clamp(2 * mean, max=1.0)
    above = p >= thr
    inter = (above & g).sum().to(_F64)
    pred_fg = above.sum().to(_F64)
    # object score: spread of p around the fg mean on fg, around the bg mean on bg
    n_bg = pv.numel() - n_fg
    m_f = s_fg / n_fg.clamp(min=1)
    m_b = (s_all - s_fg) / n_bg.clamp(min=1)
    dev2 = (p - torch.where(g, m_f, m_b)).square_().reshape(-1)
    sq_f = torch.dot(dev2, gv)
    sq_b = dev2.sum() - sq_f
    y = n_fg / pv.numel()
    obj = _s_object(n_fg, m_f, sq_f) * y + _s_object(n_bg, 1 - m_b, sq_b) * (1 - y)
    # region score: SSIM per quadrant
    wq = _quadrant_weights(torch.tensor([cy]), torch.tensor([cx]), h, w)[0].to(dev)
    reg = torch.zeros((), dtype=_F64, device=dev)
    quads = ((slice(0, cy), slice(0, cx)), (slice(0, cy), slice(cx, w)), (slice(cy, h), slice(0, cx)), (slice(cy, h), slice(cx, w)))
    for k, (rs, cs) in enumerate(quads):
        pq, gq = p[rs, cs], gf[rs, cs]
        c = pq.numel()
        if c == 0:
            continue
        ref = pq[0, 0]
        d = pq - ref
        x = ref + d.mean()
        d.sub_(x - ref)
        sxx = (d * d).sum()
        fq = gq.sum()
        yq = fq / c
        syy = fq * (1 - yq) ** 2 + (c - fq) * yq**2
        sxy = (d * gq).sum() - yq * d.sum()
        cq = torch.tensor(float(c), dtype=_F64, device=dev)
        reg = reg + _ssim_from_moments(cq, x, yq, sxx, syy, sxy) * wq[k]
    tail = torch.stack([s_all, s_fg, n_fg, inter, pred_fg, obj, reg])
    return torch.cat([hist, tail])


def _stats_float(p: torch.Tensor, g: torch.Tensor, workers: int) -> dict[str, torch.Tensor]:
    n, h, w = p.shape
    size = h * w
    rows = torch.stack(map_frames(lambda i: _frame_float(p[i], g[i]), n, p.device, workers))
    bg_hist, fg_hist = rows[:, :256], rows[:, 256:512]
    s_all, s_fg, n_fg, inter, pred_fg, obj, reg = rows[:, 512:].unbind(1)
    precision, recall, f, e = _curves_from_hist(fg_hist, bg_hist, n_fg, size)
    mae = ((s_all - s_fg) + (n_fg - s_fg)) / size  # sum_bg p + sum_fg (1 - p)
    mean_all = s_all / size
    adp_f = _adaptive_f(inter, pred_fg, n_fg)
    adp_e = _emeasure(inter, pred_fg - inter, n_fg, size)
    s = _s_combine(n_fg / size, mean_all, obj, reg)
    return dict(precision=precision, recall=recall, f=f, e=e, mae=mae, adp_f=adp_f, adp_e=adp_e, s_measure=s)


# --------------------------------------------------------------------------------------------
# weighted F (CPU, scipy), Margolin et al. 2014 as PySODMetrics.WeightedFmeasure
_GAUSS = None


def _gauss7() -> np.ndarray:
    global _GAUSS
    if _GAUSS is None:
        y, x = np.ogrid[-3:4, -3:4]
        k = np.exp(-(x * x + y * y) / (2 * 5.0 * 5.0))
        k[k < np.finfo(k.dtype).eps * k.max()] = 0
        _GAUSS = k / k.sum()
    return _GAUSS


def weighted_f_frame(pred: np.ndarray, gt: np.ndarray) -> float:
    """Weighted F-measure of one frame (float64 pred in [0, 1], bool gt); β² = 1; 0 on an empty mask.

    Margolin, Zelnik-Manor, Tal, "How to evaluate foreground maps?", CVPR 2014, as implemented by
    PySODMetrics ``WeightedFmeasure.cal_wfm`` (scipy EDT with its tie-breaking, 7×7 Gaussian σ = 5
    with zero padding, applied with ``cv2.filter2D``).
    """
    import cv2
    from scipy.ndimage import distance_transform_edt

    if not gt.any():
        return 0.0
    dst, idxt = distance_transform_edt(~gt, return_indices=True)
    err = np.abs(pred - gt)
    et = err.copy()
    nb = ~gt
    et[nb] = et[idxt[0][nb], idxt[1][nb]]
    # = scipy.ndimage.convolve(mode="constant", cval=0) for this symmetric kernel (checked equal), 4x faster
    ea = cv2.filter2D(et, -1, _gauss7(), borderType=cv2.BORDER_CONSTANT)
    min_e_ea = np.where(gt & (ea < err), ea, err)
    b = np.where(nb, 2 - np.exp(np.log(0.5) / 5 * dst), 1.0)
    ew = min_e_ea * b
    tpw = gt.sum() - ew[gt].sum()
    fpw = ew[nb].sum()
    r = 1 - ew[gt].mean()
    pr = tpw / (tpw + fpw + EPS)
    return float(2 * r * pr / (r + pr + EPS))


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
            self._curve_sums[k] += st[k].sum(0).cpu().numpy()
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
