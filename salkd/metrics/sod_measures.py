"""S-measure, F-measure and E-measure formulas of the SOD metrics, batched over frames in float64."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["EPS", "BETA2", "ALPHA"]

EPS = float(np.spacing(1))  # MATLAB eps, as PySODMetrics
BETA2 = 0.3
ALPHA = 0.5
_F64 = torch.float64


# --------------------------------------------------------------------------------------------
# S-measure (Fan et al., ICCV 2017): split point, SSIM per quadrant, object score, combination
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



# --------------------------------------------------------------------------------------------
# F-measure and E-measure (Fan et al., IJCAI 2018): curves over thresholds, adaptive F
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
