"""``python -m salkd.bench metrics``: speed of salkd's metrics against the reference implementations.

SOD (default): N frames of 480x854 (DAVIS size), max-F + mean-F + adaptive F + MAE + S + E-measure,
evaluated by ``salkd.metrics.SODEvaluator`` (batched) and by PySODMetrics (``Fmeasure``, ``MAE``,
``Smeasure``, ``Emeasure``, frame by frame) in the same process with the same torch thread
count (PySODMetrics is numpy and runs on one core). The values are checked to agree to 1e-6.

Fixations (``--fixation``): N frames of 360x640 (DHF1K size) with ~12 fixations each, the seven MIT
metrics (100 splits) plus skd's ``nss_marat``, ``FixationEvaluator`` against the slow literal MIT reference
``salkd.metrics.reference`` (values must agree to 1e-8). ``--seeds K`` additionally prints how
much AUC-Judd / AUC-Borji / sAUC move with the random seed (their only random parts), on the
real DHF1K sample when it is present.

The last line is ``ratio <salkd fps / reference fps>x``. Exit code 1 if the values disagree.
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from salkd.metrics import FIXATION_KEYS, FixationEvaluator, SODEvaluator

_SOD_KEYS = ("max_f", "mean_f", "adp_f", "mae", "s_measure", "max_e", "mean_e", "adp_e")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m salkd.bench metrics", description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=64, help="number of frames (default 64)")
    ap.add_argument("--batch", type=int, default=16, help="frames per salkd update (default 16)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, = cores)")
    ap.add_argument("--fixation", action="store_true", help="benchmark the fixation metrics instead")
    ap.add_argument("--float", dest="float_pred", action="store_true", help="SOD: float64 predictions instead of uint8")
    ap.add_argument("--seeds", type=int, default=0, help="fixation: also report the spread over this many seeds")
    ap.add_argument("--device", default="cpu", help="torch device for salkd (default cpu)")
    ap.add_argument("--seed", type=int, default=0, help="data seed")
    return ap


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(x, (0, 0), sigma)


def sod_data(n: int, h: int = 480, w: int = 854, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic but map-like SOD frames: ellipse masks (uint8 0/255), noisy blurred predictions (uint8)."""
    import cv2

    rng = np.random.default_rng(seed)
    gts = np.zeros((n, h, w), np.uint8)
    preds = np.zeros((n, h, w), np.uint8)
    for i in range(n):
        c = (int(rng.integers(w // 4, 3 * w // 4)), int(rng.integers(h // 4, 3 * h // 4)))
        ax = (int(rng.integers(20, w // 4)), int(rng.integers(20, h // 4)))
        cv2.ellipse(gts[i], c, ax, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        noisy = gts[i].astype(np.float32) * rng.uniform(0.5, 1) + rng.normal(0, 40, (h, w)).astype(np.float32)
        preds[i] = np.clip(_blur(noisy, 4), 0, 255).astype(np.uint8)
    return preds, gts


def _pysod(preds: np.ndarray, gts: np.ndarray, normalize: bool) -> dict[str, float]:
    import py_sod_metrics as M

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm, mae, sm, em = M.Fmeasure(), M.MAE(), M.Smeasure(), M.Emeasure()
        g_in = gts if normalize else gts > 128
        for p, g in zip(preds, g_in):
            for m in (fm, mae, sm, em):
                m.step(p, g, normalize=normalize)
    f, e = fm.get_results(), em.get_results()
    return dict(max_f=f["fm"]["curve"].max(), mean_f=f["fm"]["curve"].mean(), adp_f=f["fm"]["adp"],
                mae=mae.get_results()["mae"], s_measure=sm.get_results()["sm"], max_e=e["em"]["curve"].max(),
                mean_e=e["em"]["curve"].mean(), adp_e=e["em"]["adp"])


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_sod(args: argparse.Namespace) -> int:
    preds, gts = sod_data(args.frames, seed=args.seed)
    if args.float_pred:
        preds = preds.astype(np.float64) / 255.0
    dev = args.device
    tp, tg = torch.from_numpy(preds).to(dev), torch.from_numpy(gts).to(dev)
    warm = SODEvaluator(weighted_f=False)
    warm.update(tp[:2], tg[:2])
    ev = SODEvaluator(weighted_f=False)
    _sync(dev)
    t0 = time.perf_counter()
    for i in range(0, args.frames, args.batch):
        ev.update(tp[i : i + args.batch], tg[i : i + args.batch])
    ours = ev.compute()
    _sync(dev)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = _pysod(preds, gts, normalize=not args.float_pred)
    t_ref = time.perf_counter() - t0
    diff = max(abs(ours[k] - float(ref[k])) for k in _SOD_KEYS)
    kind = "float64" if args.float_pred else "uint8"
    print(f"SOD metrics (max/mean/adp F, MAE, S, max/mean/adp E), {args.frames} frames 480x854 {kind}, "
          f"torch threads {torch.get_num_threads()}, device {dev}, batch {args.batch}")
    print("values: " + ", ".join(f"{k} {ours[k]:.6f}" for k in _SOD_KEYS))
    print(f"max |salkd - PySODMetrics| = {diff:.2e} ({'agree' if diff <= 1e-6 else 'DISAGREE'} at 1e-6)")
    fps_o, fps_r = args.frames / t_ours, args.frames / t_ref
    print(f"salkd        {fps_o:9.1f} frames/s")
    print(f"PySODMetrics {fps_r:9.1f} frames/s")
    print(f"ratio {fps_o / fps_r:.1f}x")
    return 0 if diff <= 1e-6 else 1


def fixation_data(n: int, h: int = 360, w: int = 640, seed: int = 0):
    """Synthetic DHF1K-like frames: ~12 fixations, blurred density, a prediction near it, other fixations."""
    rng = np.random.default_rng(seed)
    fix = np.zeros((n, h, w), np.uint8)
    dens = np.zeros((n, h, w), np.float64)
    preds = np.zeros((n, h, w), np.float64)
    centre = np.array([h / 2, w / 2])
    for i in range(n):
        pts = np.clip(rng.normal(centre, [h / 6, w / 6], (12, 2)), 0, [h - 1, w - 1]).astype(int)
        fix[i, pts[:, 0], pts[:, 1]] = 1
        dens[i] = _blur(fix[i].astype(np.float64), 15)
        dens[i] /= dens[i].max()
        p = _blur(dens[i] + 0.3 * _blur(rng.random((h, w)), 8), 5)
        preds[i] = (p - p.min()) / (p.max() - p.min())
    other = np.zeros((h, w), np.uint8)
    pts = np.clip(rng.normal(centre, [h / 5, w / 5], (400, 2)), 0, [h - 1, w - 1]).astype(int)
    other[pts[:, 0], pts[:, 1]] = 1
    return preds, fix, dens, other


def _real_fixation_data(n: int):
    """First ``n`` frames of the DHF1K sample: the density map of frame t+5 as the prediction of t."""
    import cv2

    root = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    d = root / "dhf1k_sample" / "0002"
    shuffle = root / "reference" / "shuffle_maps" / "dhf1k_shuffledmap.npy"
    if not d.is_dir() or not shuffle.is_file():
        return None
    read = lambda p: cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
    idx = range(1, n + 1)
    fix = np.stack([read(d / "fixation" / f"{i:04d}.png") for i in idx])
    dens = np.stack([read(d / "maps" / f"{i:04d}.png") for i in idx])
    preds = np.stack([read(d / "maps" / f"{i + 5:04d}.png") for i in idx])
    return preds, fix, dens, np.load(shuffle)


def run_fixation(args: argparse.Namespace) -> int:
    from salkd.metrics.reference import reference_frame_metrics

    preds, fix, dens, other = fixation_data(args.frames, seed=args.seed)
    dev = args.device
    t = lambda x: torch.from_numpy(np.ascontiguousarray(x)).to(dev)
    FixationEvaluator(n_splits=100).update(t(preds[:1]), t(fix[:1]), t(dens[:1]), t(other))
    ev = FixationEvaluator(seed=0, n_splits=100)
    _sync(dev)
    t0 = time.perf_counter()
    for i in range(0, args.frames, args.batch):
        sl = slice(i, i + args.batch)
        ev.update(t(preds[sl]), t(fix[sl]), t(dens[sl]), t(other))
    _sync(dev)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    refs = [reference_frame_metrics(preds[i], fix[i], dens[i], other, seed=0, n_splits=100, frame_index=i)
            for i in range(args.frames)]
    t_ref = time.perf_counter() - t0
    pf = ev.per_frame()
    diff = max(abs(pf[k][i] - refs[i][k]) for k in FIXATION_KEYS for i in range(args.frames))
    got = ev.compute()
    print(f"fixation metrics (AUC-J, AUC-B, sAUC, NSS, CC, SIM, KLD; 100 splits), {args.frames} frames 360x640, "
          f"torch threads {torch.get_num_threads()}, device {dev}, batch {args.batch}")
    print("values: " + ", ".join(f"{k} {got[k]:.4f}" for k in FIXATION_KEYS))
    print(f"max |salkd - MIT reference| = {diff:.2e} ({'agree' if diff <= 1e-8 else 'DISAGREE'} at 1e-8)")
    if args.seeds > 0:
        _seed_spread(args)
    fps_o, fps_r = args.frames / t_ours, args.frames / t_ref
    print(f"salkd          {fps_o:9.1f} frames/s")
    print(f"MIT reference  {fps_r:9.1f} frames/s")
    print(f"ratio {fps_o / fps_r:.1f}x")
    return 0 if diff <= 1e-8 else 1


def _seed_spread(args: argparse.Namespace) -> None:
    data = _real_fixation_data(args.frames)
    src = "DHF1K sample 0002 (uint8 maps, many ties)" if data is not None else "synthetic"
    if data is None:
        data = fixation_data(args.frames, seed=args.seed)
    preds, fix, dens, other = data
    keys = ("auc_judd", "auc_borji", "sauc")
    runs = []
    for s in range(args.seeds):
        ev = FixationEvaluator(seed=s, n_splits=100)
        ev.update(preds, fix, dens, other)
        runs.append({k: ev.per_frame()[k] for k in keys})
    print(f"seed spread over {args.seeds} seeds on {src}, {args.frames} frames:")
    for k in keys:
        arr = np.stack([r[k] for r in runs])  # (seeds, frames)
        means = np.nanmean(arr, 1)
        print(f"  {k:9s} dataset mean {means.mean():.4f}, std over seeds {means.std(ddof=1) if len(means) > 1 else 0:.1e}, "
              f"per-frame std {np.nanmean(arr.std(0, ddof=1)) if len(arr) > 1 else 0:.1e}")


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m salkd.bench metrics [options]``; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.frames < 1 or args.batch < 1:
        print("--frames and --batch must be positive")
        return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    return run_fixation(args) if args.fixation else run_sod(args)


if __name__ == "__main__":
    raise SystemExit(main())
