"""Per-video and per-dataset metric tables (pandas) from streaming evaluators.

How the DAVSOD benchmark toolkit aggregates (``main.m`` of github:DengPingFan/DAVSOD, checked):
per sequence it averages the per-frame F curves (256 thresholds) and takes max/mean of that curve,
and averages S, adaptive F and MAE over the sequence's frames; the dataset row then averages the
*per-sequence* curves and scalars, so every sequence weighs the same whatever its length (it also
skips each sequence's first and last frame, which is the caller's choice of frames here).
PySODMetrics, by contrast, averages over all frames it was given.

``metrics_table(..., overall="frames")`` (the default) computes the "overall" row over all frames
pooled (curves averaged over frames, then max/mean), i.e. PySODMetrics run on the whole dataset;
``overall="videos"`` reproduces the DAVSOD toolkit's video-weighted dataset row. For fixation
metrics "frames" is the mean over all frames where the metric is defined (the DHF1K convention of
averaging over frames) and "videos" the mean of the per-video means.

SOD tables report both max-F conventions side by side whatever ``overall`` is: ``max_f`` as chosen by
``overall`` and ``max_f_seq``, the DAVSOD toolkit's per-sequence-mean max-F (max over thresholds of
the mean of the per-sequence F curves; on a video's own row it equals that video's ``max_f``).
"""
from __future__ import annotations

from typing import Mapping, Union

import numpy as np
import pandas as pd

from salkd.metrics.fixation import FIXATION_KEYS, FixationEvaluator
from salkd.metrics.sod import SOD_KEYS, SODEvaluator

__all__ = ["metrics_table", "dataset_table", "merge_all", "sequence_max_f", "Evaluator"]

Evaluator = Union[SODEvaluator, FixationEvaluator]
_OVERALL = ("frames", "videos")


def _empty_like(ev: Evaluator) -> Evaluator:
    if isinstance(ev, SODEvaluator):
        return SODEvaluator(weighted_f=ev.weighted_f)
    return FixationEvaluator(seed=ev.seed, n_splits=ev.n_splits, step=ev.step)


def merge_all(evaluators: list[Evaluator]) -> Evaluator:
    """A new evaluator holding the frames of all ``evaluators`` (which must be of one type)."""
    if not evaluators:
        raise ValueError("evaluators: expected at least one evaluator")
    kinds = {type(e) for e in evaluators}
    if len(kinds) != 1:
        raise TypeError(f"evaluators: expected one evaluator type, got {sorted(k.__name__ for k in kinds)}")
    out = _empty_like(evaluators[0])
    for e in evaluators:
        out.merge(e)
    return out


def _row(ev: Evaluator) -> dict[str, float]:
    row: dict[str, float] = dict(ev.compute())
    row["n_frames"] = ev.n_frames
    if isinstance(ev, FixationEvaluator):
        for k, v in ev.n_undefined.items():
            row[f"n_undefined_{k}"] = v
    return row


def sequence_max_f(evs: list[SODEvaluator]) -> float:
    """Max-F as the DAVSOD toolkit's dataset row (``main.m``): the max over the 256 thresholds of the
    mean of the per-sequence F curves (each sequence's curve averaged over its own frames)."""
    if not evs:
        raise ValueError("evs: expected at least one evaluator")
    return float(np.mean([e.curves()["f"] for e in evs], axis=0).max())


def _video_weighted(evs: list[Evaluator]) -> dict[str, float]:
    """Dataset row as the DAVSOD toolkit: every video weighs the same."""
    if isinstance(evs[0], SODEvaluator):
        curves = [e.curves() for e in evs]
        f = np.mean([c["f"] for c in curves], axis=0)
        e_ = np.mean([c["e"] for c in curves], axis=0)
        rows = [e.compute() for e in evs]
        row = {k: float(np.mean([r[k] for r in rows])) for k in SOD_KEYS}
        row.update(max_f=float(f.max()), mean_f=float(f.mean()), max_e=float(e_.max()), mean_e=float(e_.mean()))
    else:
        rows = [e.compute() for e in evs]
        row = {}
        for k in FIXATION_KEYS:
            v = np.array([r[k] for r in rows], dtype=float)
            row[k] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    row["n_frames"] = sum(e.n_frames for e in evs)
    if isinstance(evs[0], FixationEvaluator):
        for k in FIXATION_KEYS:
            row[f"n_undefined_{k}"] = sum(e.n_undefined[k] for e in evs)
    return row


def metrics_table(per_video: Mapping[str, Evaluator], *, overall: str = "frames") -> pd.DataFrame:
    """One row per video (index = video name, in the mapping's order) plus a last row "overall".

    Columns: the metric keys (``SOD_KEYS`` or ``FIXATION_KEYS``), ``n_frames`` and, for fixation
    evaluators, ``n_undefined_<metric>`` (frames where the metric was NaN and skipped); for SOD also
    ``max_f_seq`` (per-sequence-mean max-F, :func:`sequence_max_f`).
    ``overall="frames"``: over all frames pooled (PySODMetrics on the whole set; for SOD max-F on
    the curve averaged over all frames). ``overall="videos"``: each video weighs the same, as the
    DAVSOD toolkit's dataset row (see the module docstring).
    """
    if overall not in _OVERALL:
        raise ValueError(f"overall: expected one of {_OVERALL}, got {overall!r}")
    if not per_video:
        raise ValueError("per_video: expected at least one video")
    if "overall" in per_video:
        raise ValueError("per_video: 'overall' is reserved for the summary row")
    evs = list(per_video.values())
    kinds = {type(e).__name__ for e in evs}
    if len(kinds) > 1:
        raise TypeError(f"per_video: expected one evaluator type, got {sorted(kinds)}")
    for name, ev in per_video.items():
        if not isinstance(ev, (SODEvaluator, FixationEvaluator)):
            raise TypeError(f"per_video[{name!r}]: expected SODEvaluator or FixationEvaluator, got {type(ev).__name__}")
        if ev.n_frames == 0:
            raise ValueError(f"per_video[{name!r}]: no frames were updated")
    rows = {name: _row(ev) for name, ev in per_video.items()}
    rows["overall"] = _row(merge_all(evs)) if overall == "frames" else _video_weighted(evs)
    if isinstance(evs[0], SODEvaluator):
        for name, ev in per_video.items():
            rows[name]["max_f_seq"] = rows[name]["max_f"]
        rows["overall"]["max_f_seq"] = sequence_max_f(evs)  # type: ignore[arg-type]
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "video"
    int_cols = [c for c in df.columns if c == "n_frames" or c.startswith("n_undefined_")]
    df[int_cols] = df[int_cols].astype(int)
    return df


def dataset_table(per_dataset: Mapping[str, Mapping[str, Evaluator]], *, overall: str = "frames") -> pd.DataFrame:
    """One row per dataset (index = dataset name): the "overall" row of its ``metrics_table``."""
    if not per_dataset:
        raise ValueError("per_dataset: expected at least one dataset")
    rows = {name: metrics_table(videos, overall=overall).loc["overall"] for name, videos in per_dataset.items()}
    df = pd.DataFrame(rows).T
    df.index.name = "dataset"
    int_cols = [c for c in df.columns if c == "n_frames" or c.startswith("n_undefined_")]
    df[int_cols] = df[int_cols].astype(int)
    return df
