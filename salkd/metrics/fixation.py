"""Fixation-prediction metrics: AUC-Judd, AUC-Borji, shuffled AUC, NSS, CC, SIM, KLD, and skd's NSS.

Conventions follow the MIT saliency benchmark code (Bylinskii, Judd, Oliva, Torralba, Durand,
"What do different evaluation metrics tell us about saliency models?", TPAMI 2018; the MATLAB
files ``AUC_Judd.m``, ``AUC_Borji.m``, ``AUC_shuffled.m``, ``NSS.m``, ``CC.m``, ``similarity.m``,
``KLdiv.m``, also shipped with DHF1K):

* ``pred`` (uint8, divided by 255, or float in [0, 1]) is first resized to the fixation map's
  size, bilinear (MATLAB ``imresize`` is bicubic; see ``salkd.metrics._input.resize_batch``).
* fixated pixels are ``fixations > 0`` (a count map counts each pixel once, as MIT).
* AUC-Judd: the map plus uniform noise ``U(0,1)/1e7`` (MIT's jitter, which breaks ties at
  random) is min-max normalized; thresholds are the fixated values; tp = i/Nf and
  fp = (#{S ≥ t} − i)/(Npix − Nf); trapezoidal area with (0,0) and (1,1) added.
* AUC-Borji: ``n_splits`` sets of Nf negatives drawn uniformly *with* replacement from all pixels;
  thresholds 0:0.1:max as ``k · 0.1``; mean area over splits. Undefined (NaN) when the frame has at
  most one fixated pixel: MIT's ``AUC_Borji.m`` draws ``r = randi([1 Npixels], [Nfixations, Nsplits])``
  and indexes the column vector ``S(r)``; with one fixation ``r`` is a row vector, ``S(r)`` comes back as
  a column and the split loop cannot score it, so MIT's code gives no value for such a frame.
* shuffled AUC: as AUC-Borji, with negatives drawn *without* replacement from the pixels where
  ``other_fixations > 0`` (``min(Nf, #other)`` of them per split).
* NSS (``nss``, MIT ``NSS.m``; the benchmark's and our primary number): map standardized with the
  N−1 std, averaged over fixated pixels.
* ``nss_marat``: the NSS that skd (Li et al., TIP 2019, sec. IV-A) uses, "computed via element-wise
  multiplication of the estimated and ground-truth saliency maps" after Marat et al., IJCV 82(3) 2009:
  ``NSS = (mean(M_h ⊙ M_s) − mean(M_s)) / σ(M_s)`` with ``M_s`` the prediction and ``M_h`` the
  eye-position *density* map normalized to unit mean. Since mean(M_h) = 1 this is the density-weighted
  mean of the standardized prediction, ``Σ d·z / Σ d`` with ``z = (M_s − mean) / σ``; σ is the N−1 std
  as in ``nss`` (Marat et al. do not say which). It needs ``density``; it differs from ``nss`` because
  the density spreads each fixation over a Gaussian blob, so it is typically lower on sharp maps.
* CC: Pearson correlation of the map and the ``density`` map.
* SIM: each map min-max normalized then divided by its sum (an all-zero map is left at zero, as
  MIT's ``if any(map(:))``), sum of the pixelwise minimum.
* KLD: each map divided by its sum (if nonzero), ``sum(Q · log(eps + Q / (P + eps)))``,
  eps = 2.2204e-16, Q the density.

Undefined values are NaN and are skipped by the evaluator's means (and counted): no fixated pixel
(AUCs, NSS), at most one fixated pixel (AUC-Borji, see above), no ``other_fixations`` pixel or none
given (sAUC), no ``density`` given (CC, SIM, KLD, ``nss_marat``), an all-zero density (CC, SIM, KLD,
``nss_marat``), a constant prediction (AUCs, NSS, CC, ``nss_marat``; SIM when constant nonzero, as
MIT), a constant density (CC). Where this differs from MIT: MIT's AUC-Judd jitters a constant map into
noise and returns a random value near 0.5; we return NaN. MIT detects "constant" through a 0/0; we test
``max == min`` exactly, so a constant map never yields rounding noise. An all-zero density map means "no
ground truth" (e.g. an unlabeled frame stored as zeros): MIT's ``similarity.m`` leaves it at zero and
returns SIM 0, and ``KLdiv.m`` returns KLD 0 (a perfect score); we return NaN for both.

Randomness (AUC-Judd jitter, AUC-Borji and sAUC negatives) comes from
``numpy.random.default_rng([seed, frame_index])`` where ``frame_index`` counts frames in update
order, so results are deterministic given the seed, identical on CPU and CUDA, and the same for
per-frame, batched and streaming updates. Draw order per frame: jitter ``rng.random(H*W)``;
Borji ``rng.integers(0, H*W, (n_splits, Nf))`` (drawn for Nf = 1 too, then discarded, so the sAUC
stream does not depend on the Borji rule); sAUC ``rng.choice(M, k, replace=False)`` per split.
AUC-Judd counts ``S >= t`` on the jittered map before min-max normalisation (monotone, so the
counts are MIT's unless the normalisation rounds two distinct values together).
MIT's MATLAB RNG cannot be reproduced, so AUC-Judd (on maps with ties), AUC-Borji and sAUC agree
with MIT in distribution, not digit for digit; ``python -m salkd.bench metrics --fixation
--seeds 5`` prints the spread of these metrics over seeds on real data. Measured on the DHF1K
sample (40 frames; a later frame's uint8 density map as the prediction, so many pixels tie at 0):
std over 5 seeds of the dataset mean 1.4e-3 for AUC-Judd (per frame 9e-3: the jitter decides
the order of tied pixels, exactly as in MIT's code), 6e-4 for AUC-Borji, 3e-4 for sAUC. On maps
without ties AUC-Judd does not depend on the seed beyond ~1e-7.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from salkd.metrics._parallel import map_frames, single_threaded_ops
from salkd.metrics._input import MetricInputError, as_batch, check_finite, check_unit_range, resize_batch, rowdot

__all__ = ["FixationEvaluator", "fixation_frame_metrics", "frame_rng", "FIXATION_KEYS", "KLD_EPS"]

FIXATION_KEYS = ("auc_judd", "auc_borji", "sauc", "nss", "cc", "sim", "kld", "nss_marat")
KLD_EPS = 2.2204e-16
JITTER_SCALE = 1e-7
_F64 = torch.float64


def frame_rng(seed: int, frame_index: int) -> np.random.Generator:
    """The random stream of one frame: ``numpy.random.default_rng([seed, frame_index])``."""
    return np.random.default_rng([int(seed), int(frame_index)])


def _to_float(t: torch.Tensor, name: str, check: bool = True) -> torch.Tensor:
    if t.dtype == torch.uint8:
        return t.to(_F64) / 255.0  # im2double
    if t.dtype == torch.bool:
        return t.to(_F64)
    if t.is_floating_point():
        if check:
            check_finite(t, name)
        return t.to(_F64)
    raise MetricInputError(f"{name}: unsupported dtype {t.dtype}; expected uint8, bool or float")


def _prepare(pred, fixations, density, other):
    fx = as_batch(fixations, "fixations")
    dev = fx.device
    n, h, w = fx.shape
    if not (fx.dtype in (torch.uint8, torch.bool) or fx.is_floating_point() or fx.dtype in (torch.int32, torch.int64, torch.int16)):
        raise MetricInputError(f"fixations: unsupported dtype {fx.dtype}")
    if fx.is_floating_point():
        check_finite(fx, "fixations")
    fix = fx > 0
    p = as_batch(pred, "pred").to(dev)
    if p.shape[0] != n:
        raise MetricInputError(f"pred and fixations: batch sizes differ ({p.shape[0]} vs {n})")
    check_unit_range(p, "pred")  # NaN/inf and [0, 1], one pass
    p = _to_float(p, "pred", check=False)
    p = resize_batch(p, (h, w))
    d = None
    if density is not None:
        d = as_batch(density, "density").to(dev)
        if tuple(d.shape) != (n, h, w):
            raise MetricInputError(f"density: expected shape {(n, h, w)} (as fixations), got {tuple(d.shape)}")
        d = _to_float(d, "density")
        if bool((d < 0).any()):
            raise MetricInputError("density: negative values")
    o = None
    if other is not None:
        o = as_tensor_2or3(other, n, h, w).to(dev)
        if o.is_floating_point():
            check_finite(o, "other_fixations")
        o = o > 0
    return p, fix, d, o


def as_tensor_2or3(other: Any, n: int, h: int, w: int) -> torch.Tensor:
    """``other_fixations`` as ``(N, H, W)``: one ``(H, W)`` map shared by the batch, or one per frame."""
    t = as_batch(other, "other_fixations")
    if tuple(t.shape[1:]) != (h, w):
        raise MetricInputError(f"other_fixations: expected spatial size {(h, w)} (as fixations), got {tuple(t.shape[1:])}")
    if t.shape[0] == 1 and n > 1:
        t = t.expand(n, h, w)
    if t.shape[0] != n:
        raise MetricInputError(f"other_fixations: batch size {t.shape[0]} does not match {n}")
    return t


def _flat_nonzero(mask: torch.Tensor) -> torch.Tensor:
    """Flat indices of the true entries, row-major (numpy's ``flatnonzero`` on CPU: much faster
    than ``torch.nonzero`` there)."""
    if mask.device.type == "cpu":
        return torch.from_numpy(np.flatnonzero(mask.reshape(-1).numpy()))
    return torch.nonzero(mask.reshape(-1)).reshape(-1)


def _trapz(fp: torch.Tensor, tp: torch.Tensor) -> torch.Tensor:
    """MATLAB ``trapz(fp, tp)`` along the last dim."""
    return ((fp[..., 1:] - fp[..., :-1]) * (tp[..., 1:] + tp[..., :-1]) / 2).sum(-1)


def _auc_thresholded(pos: torch.Tensor, neg: torch.Tensor, thr: torch.Tensor) -> torch.Tensor:
    """AUC-Borji / sAUC area for one frame: ``pos`` (Nf,), ``neg`` (S, K), thresholds ascending."""
    # count of values >= thr[k] == count of values whose #(thresholds <= value) > k
    kk = torch.arange(thr.numel(), device=pos.device)
    bp = torch.searchsorted(thr, pos.contiguous(), right=True)
    bn = torch.searchsorted(thr, neg.contiguous(), right=True)
    tp = (bp[None, :] > kk[:, None]).sum(1).to(_F64) / pos.numel()  # (T,)
    fp = (bn[:, None, :] > kk[None, :, None]).sum(2).to(_F64) / neg.shape[1]  # (S, T)
    s = neg.shape[0]
    tp = tp.flip(0)[None, :].expand(s, -1)
    fp = fp.flip(1)
    z = torch.zeros(s, 1, dtype=_F64, device=pos.device)
    o = torch.ones(s, 1, dtype=_F64, device=pos.device)
    return _trapz(torch.cat([z, fp, o], 1), torch.cat([z, tp, o], 1)).mean()


def fixation_frame_metrics(
    pred: Any,
    fixations: Any,
    density: Any = None,
    other_fixations: Any = None,
    *,
    seed: int = 0,
    n_splits: int = 100,
    step: float = 0.1,
    first_frame_index: int = 0,
) -> dict[str, torch.Tensor]:
    """Per-frame fixation metrics (float64 ``(N,)`` tensors on the input's device, NaN = undefined).

    ``pred``, ``fixations``, ``density``: ``(H, W)`` or ``(N, H, W)``; ``other_fixations``: one
    ``(H, W)`` map for the batch or ``(N, H, W)``. Frame i uses ``frame_rng(seed,
    first_frame_index + i)``. Conventions and sources: module docstring.
    """
    if int(n_splits) < 1:
        raise MetricInputError(f"n_splits: expected a positive integer, got {n_splits}")
    if not 0 < float(step) <= 1:
        raise MetricInputError(f"step: expected a value in (0, 1], got {step}")
    with single_threaded_ops() as workers:
        p, fix, d, o = _prepare(pred, fixations, density, other_fixations)
        n = fix.shape[0]
        # frame by frame (on CPU spread over threads): a frame's values do not depend on the batch it came
        # in, bit for bit (vectorized row reductions over a batch round differently from single rows)
        parts = map_frames(
            lambda i: _metrics_batch(p[i : i + 1], fix[i : i + 1], None if d is None else d[i : i + 1],
                                     None if o is None else o[i : i + 1], seed, n_splits, step, first_frame_index + i),
            n, p.device, workers,
        )
        return {k: torch.cat([r[k] for r in parts]) for k in FIXATION_KEYS}


def _metrics_batch(p, fix, d, o, seed: int, n_splits: int, step: float, first_frame_index: int) -> dict[str, torch.Tensor]:
    """``fixation_frame_metrics`` on checked ``(N, H, W)`` tensors (frames vectorized where cheap)."""
    n = fix.shape[0]
    dev = p.device
    nan = float("nan")
    pf = p.reshape(n, -1)
    ff = fix.reshape(n, -1)
    nfix = ff.sum(1)
    nfix_l = nfix.tolist()
    out = {k: torch.full((n,), nan, dtype=_F64, device=dev) for k in FIXATION_KEYS}
    rngs = [frame_rng(seed, first_frame_index + i) for i in range(n)]
    lo, hi = torch.aminmax(pf, dim=1)
    const = hi == lo
    const_l = const.tolist()
    span = torch.where(const, torch.ones_like(hi), hi - lo)
    fix_idx = [_flat_nonzero(ff[i]) for i in range(n)]
    # per frame, the random stream is drawn in this order: AUC-Judd jitter, AUC-Borji, sAUC
    _auc_judd(pf, fix_idx, nfix_l, const_l, rngs, out["auc_judd"])
    _auc_borji_sauc(pf, o, fix_idx, nfix_l, const_l, lo, span, rngs, n_splits, step, out)
    a, saa = _nss(pf, fix_idx, nfix, const, out)
    if d is not None:
        _density_metrics(pf, d, a, saa, lo, const, out)
    return out


def _auc_judd(pf, fix_idx, nfix_l, const_l, rngs, res: torch.Tensor) -> None:
    """AUC-Judd of each frame of ``pf`` ``(N, P)`` into ``res`` (in place; undefined frames untouched).

    Min-max normalisation is monotone, so counting S >= t on the jittered map before normalising
    gives MIT's counts (up to values the normalisation would round together).
    """
    n, npix = pf.shape
    dev = pf.device
    jit = torch.from_numpy(np.stack([r.random(npix) for r in rngs])).to(dev)
    sj = jit.mul_(JITTER_SCALE).add_(pf)  # in place: large temporaries cost page faults
    kmax = max(max(nfix_l), 1)
    thr = torch.full((n, kmax), float("inf"), dtype=_F64, device=dev)
    for i in range(n):
        if nfix_l[i]:
            thr[i, : nfix_l[i]] = torch.sort(sj[i][fix_idx[i]]).values
    for i in range(n):
        nf = nfix_l[i]
        if nf == 0 or const_l[i] or nf == npix:
            continue
        t_asc = thr[i, :nf]
        if nf <= 64:  # few fixations (the usual case): one comparison pass per threshold
            above = torch.stack([(sj[i] >= t).sum() for t in t_asc]).to(_F64)
        else:
            srt = torch.sort(sj[i]).values
            above = (npix - torch.searchsorted(srt, t_asc, right=False)).to(_F64)
        ii = torch.arange(1, nf + 1, device=dev, dtype=_F64)
        zero = torch.zeros(1, dtype=_F64, device=dev)
        one = torch.ones(1, dtype=_F64, device=dev)
        tp = torch.cat([zero, ii / nf, one])
        fp = torch.cat([zero, (above.flip(0) - ii) / (npix - nf), one])
        res[i] = _trapz(fp, tp)


def _auc_borji_sauc(pf, o, fix_idx, nfix_l, const_l, lo, span, rngs, n_splits: int, step: float,
                    out: dict[str, torch.Tensor]) -> None:
    """AUC-Borji and shuffled AUC into ``out`` (in place): normalized values only where sampled."""
    n, npix = pf.shape
    dev = pf.device
    kthr = int(np.floor(1.0 / float(step) + 1e-9))
    thr_b = torch.arange(kthr + 1, dtype=_F64, device=dev) * float(step)
    shared_ind = None
    for i in range(n):
        nf = nfix_l[i]
        if nf == 0 or const_l[i]:
            continue
        norm = lambda v: (v - lo[i]) / span[i]
        pos = norm(pf[i][fix_idx[i]])
        idx = torch.from_numpy(rngs[i].integers(0, npix, size=(n_splits, nf))).to(dev)
        if nf > 1:  # one fixated pixel: undefined, as MIT's AUC_Borji.m (module docstring)
            out["auc_borji"][i] = _auc_thresholded(pos, norm(pf[i][idx]), thr_b)
        if o is None:
            continue
        if o.stride(0) == 0:  # one map shared by the batch
            if shared_ind is None:
                shared_ind = _flat_nonzero(o[0].reshape(-1))
            ind = shared_ind
        else:
            ind = _flat_nonzero(o[i].reshape(-1))
        m = int(ind.numel())
        if m == 0:
            continue
        k = min(nf, m)
        sel = np.stack([rngs[i].choice(m, size=k, replace=False, shuffle=False) for _ in range(n_splits)])
        out["sauc"][i] = _auc_thresholded(pos, norm(pf[i][ind[torch.from_numpy(sel).to(dev)]]), thr_b)


def _nss(pf, fix_idx, nfix, const, out: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """NSS into ``out``: mean of the standardized map at fixated pixels = (mean at fixations - mean) / std.

    Returns the centred map ``a`` (``(N, P)``, reused as a buffer by ``_density_metrics``) and its
    row sums of squares ``saa``.
    """
    n, npix = pf.shape
    mean = pf.mean(1)
    a = pf - mean[:, None]
    saa = rowdot(a, a)
    std = torch.sqrt(saa / (npix - 1)) if npix > 1 else torch.zeros_like(mean)
    fix_sum = torch.stack([pf[i][fix_idx[i]].sum() for i in range(n)])
    nss = (fix_sum / nfix.clamp(min=1) - mean) / torch.where(std > 0, std, torch.ones_like(std))
    out["nss"] = torch.where((nfix > 0) & ~const, nss, out["nss"])
    return a, saa


def _sim_map(x, xlo, xconst, buf):
    """SIM's (x - lo) / (hi - lo), then / sum, as one shift and scale: (x - lo) / sum(x - lo), into ``buf``.

    Returns the map and the frames where SIM is undefined (a constant nonzero map).
    """
    anyv = (xlo != 0) | ~xconst  # some nonzero value
    tot = x.sum(1) - x.shape[1] * xlo
    use = anyv & ~xconst
    scale = torch.where(use, 1.0 / torch.where(tot > 0, tot, torch.ones_like(tot)), torch.ones_like(tot))
    shift = torch.where(use, xlo, torch.zeros_like(xlo))
    torch.sub(x, shift[:, None], out=buf)
    return buf.mul_(scale[:, None]), anyv & xconst


def _density_metrics(pf, d, a, saa, lo, const, out: dict[str, torch.Tensor]) -> None:
    """CC, SIM, KLD and ``nss_marat`` against the density ``d`` into ``out``; overwrites the buffer ``a``
    (from ``_nss``). An all-zero density leaves SIM, KLD and ``nss_marat`` undefined (module docstring)."""
    n, npix = pf.shape
    df = d.reshape(n, -1)
    dlo, dhi = torch.aminmax(df, dim=1)
    dconst = dhi == dlo
    dsum = df.sum(1)
    dzero = dsum <= 0  # densities are checked non-negative: all zero
    # --- skd's NSS (Marat et al. 2009): sum(d * (p - mean) / std) / sum(d), before ``a`` is reused
    std = torch.sqrt(saa / (npix - 1)) if npix > 1 else torch.zeros_like(saa)
    marat = rowdot(a, df) / (torch.where(std > 0, std, torch.ones_like(std)) * torch.where(dzero, torch.ones_like(dsum), dsum))
    out["nss_marat"] = torch.where(~const & ~dzero, marat, out["nss_marat"])
    # --- CC (centred sums; buffers reused below to avoid large temporaries)
    bq = df - df.mean(1, keepdim=True)
    num = rowdot(a, bq)
    den = torch.sqrt(saa * rowdot(bq, bq))
    out["cc"] = torch.where(~const & ~dconst, num / den.clamp(min=1e-300), out["cc"])
    # --- SIM
    m1, bad1 = _sim_map(pf, lo, const, a)
    m2, bad2 = _sim_map(df, dlo, dconst, bq)
    sim = torch.minimum(m1, m2, out=m1).sum(1)
    out["sim"] = torch.where(bad1 | bad2 | dzero, out["sim"], sim)
    # --- KLD
    s1 = pf.sum(1, keepdim=True)
    s2 = df.sum(1, keepdim=True)
    q1 = torch.div(pf, torch.where(s1 > 0, s1, torch.ones_like(s1)), out=a).add_(KLD_EPS)
    q2 = torch.div(df, torch.where(s2 > 0, s2, torch.ones_like(s2)), out=bq)
    ratio = torch.div(q2, q1, out=q1).add_(KLD_EPS).log_()
    out["kld"] = torch.where(dzero, out["kld"], rowdot(q2, ratio))


class FixationEvaluator:
    """Streaming fixation evaluator: AUC-Judd, AUC-Borji, sAUC, NSS, CC, SIM, KLD (MIT benchmark) and
    skd's density-weighted NSS (``nss_marat``, Marat et al. 2009).

    ``update(pred, fixations, density=None, other_fixations=None)`` takes a frame or a batch (numpy
    or torch, CPU or CUDA). ``compute()`` returns the mean of each metric over the frames where it
    is defined (NaN if it is defined on none); ``n_undefined`` counts the skipped frames.
    Conventions, sources and randomness: ``salkd.metrics.fixation`` module docstring.
    """

    def __init__(self, seed: int = 0, n_splits: int = 100, *, step: float = 0.1) -> None:
        if int(n_splits) < 1:
            raise MetricInputError(f"n_splits: expected a positive integer, got {n_splits}")
        self.seed = int(seed)
        self.n_splits = int(n_splits)
        self.step = float(step)
        self.reset()

    def reset(self) -> None:
        """Forget all frames (the random streams restart at frame 0)."""
        self._values: dict[str, list[np.ndarray]] = {k: [] for k in FIXATION_KEYS}
        self._n = 0
        self._seen = 0  # frames drawn from the random stream (merged frames do not advance it)

    @property
    def n_frames(self) -> int:
        """Number of frames updated (or merged) so far."""
        return self._n

    def update(self, pred: Any, fixations: Any, density: Any = None, other_fixations: Any = None) -> None:
        """Add one frame or a batch of frames."""
        vals = fixation_frame_metrics(
            pred, fixations, density, other_fixations, seed=self.seed, n_splits=self.n_splits,
            step=self.step, first_frame_index=self._seen,
        )
        n = int(vals["nss"].shape[0])
        for k in FIXATION_KEYS:
            self._values[k].append(vals[k].cpu().numpy())
        self._n += n
        self._seen += n

    def merge(self, other: "FixationEvaluator") -> "FixationEvaluator":
        """Add ``other``'s per-frame values to this evaluator (in place) and return ``self``."""
        if not isinstance(other, FixationEvaluator):
            raise TypeError(f"other: expected FixationEvaluator, got {type(other).__name__}")
        for k in FIXATION_KEYS:
            self._values[k].extend(a.copy() for a in other._values[k])
        self._n += other._n
        return self

    def per_frame(self) -> dict[str, np.ndarray]:
        """Per-frame values (NaN where undefined) in update order."""
        return {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in self._values.items()}

    @property
    def n_undefined(self) -> dict[str, int]:
        """Frames where each metric was undefined (NaN) and skipped by ``compute``."""
        return {k: int(np.isnan(v).sum()) for k, v in self.per_frame().items()}

    def compute(self) -> dict[str, float]:
        """Mean of each metric over the frames where it is defined (keys: ``FIXATION_KEYS``)."""
        if self._n == 0:
            raise MetricInputError("compute(): no frames were updated")
        out = {}
        for k, v in self.per_frame().items():
            good = v[~np.isnan(v)]
            out[k] = float(good.mean()) if good.size else float("nan")
        return out
