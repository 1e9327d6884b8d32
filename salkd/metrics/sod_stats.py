"""Per-frame SOD statistics: the uint8 path (one histogram per frame) and the exact float path."""
from __future__ import annotations

import sys

import torch

from salkd.metrics._parallel import map_frames
from salkd.metrics.sod_measures import (
    _adaptive_f,
    _centroid_split,
    _curves_from_hist,
    _emeasure,
    _quadrant_weights,
    _s_combine,
    _s_object,
    _ssim_from_moments,
)

_F64 = torch.float64
_LITTLE_ENDIAN = sys.byteorder == "little"


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
