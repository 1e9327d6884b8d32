"""Per-unit scores of every row of the distillation test (students, teacher, baselines, human ceiling) on the
test frames, and the fidelity of each student to its teacher on held-out video.

Every score is a ``(seeds, units)`` table (:mod:`salkd.noise`): a unit is a block of ``distill.block``
consecutive test clips. Evaluations of trained runs are cached beside the run (``eval_distill_<set>.csv``)
and recomputed when the checkpoint is newer.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from salkd.atomic import write_text
from salkd.context import Context
from salkd.data import VideoDataset
from salkd.distill import data as dd
from salkd.distill.maps import center_gaussian, human_ceiling, mean_map, teacher_maps, teacher_run
from salkd.noise import block_means

__all__ = ["METRICS", "run_scores", "map_scores", "units", "teacher_test_maps", "fidelity"]

#: the metrics of the transfer and scarcity tables
METRICS = ("nss", "cc")


def _clip_table(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(index="overall", errors="ignore")


def run_scores(ctx: Context, run: Path, ds: VideoDataset, tag: str) -> pd.DataFrame:
    """Per-clip metrics of a trained run on ``ds`` (cached as ``<run>/eval_distill_<tag>.csv``)."""
    from salkd.evaluate import evaluate
    from salkd.runs import read_json

    out = run / f"eval_distill_{tag}.csv"
    ck = run / "best.pt" if (run / "best.pt").is_file() else run / "checkpoint.pt"
    key = f"{ds.root.name}|{len(ds.videos)}|{ck.stat().st_mtime_ns}"
    key_file = out.with_suffix(".key")
    if out.is_file() and key_file.is_file() and key_file.read_text() == key and not ctx.force:
        return pd.read_csv(out, index_col=0)
    res = read_json(run / "config.json")["res"]
    df = _clip_table(evaluate(run, ds, res, device=str(ctx.device), progress=False, seed=int(ctx.data_seed)))
    write_text(out, df.to_csv())
    write_text(key_file, key)
    return df


def map_scores(ctx: Context, ds: VideoDataset, maps: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per-clip metrics of fixed maps (``{clip: (T, h, w)}``) on ``ds``."""
    from salkd.evaluate import evaluate

    return _clip_table(evaluate(None, ds, 64, device="cpu", progress=False, seed=int(ctx.data_seed), maps=maps))


def units(ctx: Context, per_clip: Sequence[pd.DataFrame], metric: str) -> np.ndarray:
    """A ``(seeds, units)`` table of ``metric`` from one per-clip table per seed (blocks of ``distill.block``
    clips, in the clips' order)."""
    block = int(ctx.cfg["distill"]["block"])
    return np.stack([block_means(df[metric].to_numpy(np.float64), block) for df in per_clip])


def teacher_test_maps(ctx: Context, ds: VideoDataset) -> dict[str, np.ndarray]:
    """The teacher's maps of every clip of ``ds``, cut from its maps of the whole source videos."""
    whole = {v.name: v for v in dd.gaze_videos(ctx)}
    full = teacher_maps(ctx, teacher_run(ctx), list(whole.values()))
    out = {}
    for v in ds.videos:
        src = v.name.split("@", 1)[0]
        index = {str(f): i for i, f in enumerate(whole[src].frames)}
        out[v.name] = full[src][[index[str(f)] for f in v.frames]]
    return out


def constant(ds: VideoDataset, m: np.ndarray) -> dict[str, np.ndarray]:
    """The same map for every frame of ``ds``."""
    return {v.name: np.broadcast_to(m, (len(v),) + m.shape) for v in ds.videos}


def baselines(ctx: Context, ds: VideoDataset, k: int | None) -> dict[str, pd.DataFrame]:
    """Per-clip scores of the baseline rows on ``ds``: ``teacher``, ``centre`` (the centred Gaussian),
    ``train-mean`` (k None: the mean teacher map of the corpus; k >= 1: the mean gaze density of the k
    labelled frames) and, where per-observer gaze exists, ``human`` (split-half, :func:`human_ceiling`)."""
    from salkd.distill.rows import labelled_frames

    out = {"teacher": map_scores(ctx, ds, teacher_test_maps(ctx, ds)),
           "centre": map_scores(ctx, ds, constant(ds, center_gaussian()))}
    if k is None:
        cor = dd.corpus(ctx)
        maps = teacher_maps(ctx, teacher_run(ctx), list(cor.videos), progress=False)
        out["train-mean"] = map_scores(ctx, ds, constant(ds, mean_map([m.mean(axis=0) for m in maps.values()])))
    elif k > 0:
        picks = labelled_frames(ctx, k)
        dens = [v.read_density(t) for v in dd.scarcity_pool(ctx) for t in picks[dd.pool_name(v)]]
        out["train-mean"] = map_scores(ctx, ds, constant(ds, mean_map(dens)))
    ceiling = human_ceiling(ds.videos, splits=int(ctx.cfg["distill"]["ceiling_splits"]), seed=int(ctx.data_seed))
    if ceiling and len(ceiling) == len(ds.videos):
        out["human"] = pd.DataFrame({"nss": [ceiling[v.name]["nss"] for v in ds.videos],
                                     "cc": [ceiling[v.name]["cc_sb"] for v in ds.videos],
                                     "cc_split_half": [ceiling[v.name]["cc"] for v in ds.videos]},
                                    index=[v.name for v in ds.videos])
    return out


def fidelity(ctx: Context, runs: Sequence[Path], ds: VideoDataset) -> pd.DataFrame:
    """Per-video CC, KLD and SIM of each run's map against its teacher's map on ``ds`` (video neither
    trained on); one row per (run, video). Runs may also be ``("centre" | "corpus-mean", map)`` pairs."""
    from salkd.data import cache_lowres
    from salkd import paths
    from salkd.device import resolve_device
    from salkd.evaluate import predict_cache
    from salkd.metrics.reference import cc, kldiv, similarity
    from salkd.models import from_run
    from salkd.runs import read_json
    from salkd.sizes import as_size
    import cv2

    teach = teacher_maps(ctx, teacher_run(ctx), list(ds.videos))
    dev = resolve_device(str(ctx.device))
    rows = []
    for run in runs:
        fixed = isinstance(run, tuple)
        if not fixed:
            res = read_json(Path(run) / "config.json")["res"]
            model = from_run(run).to(dev).eval()
            cache = cache_lowres(ds, as_size(res), paths.cache_dir() / "lowres", progress=False)
        for v in ds.videos:
            tm = teach[v.name].astype(np.float64) / 255.0
            h, w = tm.shape[1:]
            if fixed:
                m = cv2.resize(run[1].astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
                pred = np.broadcast_to(m, tm.shape)
            else:
                small = predict_cache(model, cache.video(v.name)["frames"], device=dev)
                pred = np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) for p in small])
            vals = np.array([[cc(p, t), kldiv(p, t), similarity(p, t)] for p, t in zip(pred.astype(np.float64), tm)])
            rows.append({"run": run[0] if fixed else Path(run).name, "video": v.name,
                         "cc": float(np.nanmean(vals[:, 0])), "kld": float(np.nanmean(vals[:, 1])),
                         "sim": float(np.nanmean(vals[:, 2]))})
    return pd.DataFrame(rows)


def params(run: Path) -> int:
    """Parameters of a run's model."""
    from salkd.models import from_run

    return int(sum(p.numel() for p in from_run(run).parameters()))

