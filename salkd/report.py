"""Every table, figure and ``CLAIMS.md`` of the three papers, regenerated from result CSVs and run folders.

:func:`make_all` (``ctx, out_dir=None``) loops over :data:`salkd.papers.PAPERS`: each paper's tables
(CSV + Markdown + LaTeX, :mod:`salkd.tables`), its figures (PNG + PDF, :mod:`salkd.plots`), the figures
made from predictions (ROC curves, qualitative grids) and its claims (:mod:`salkd.claims`,
:mod:`salkd.verdicts`). A table whose experiment has not been run is skipped with a printed note. A
table, figure or claim that *fails* raises (``strict``, the default; ``SALKD_KEEP_GOING=1`` or
``strict=False`` continues and lists the failures at the end and in ``CLAIMS.md``).

Choices (the papers do not say): fixation claims on NSS (the papers' primary metric), SOD claims on
max F (beta^2 = 0.3) with MAE noted; "AUC" in the papers' tables is our ``auc_judd``. Parameter counts:
reproduced within 20 % of the paper's; memory footprint within a factor 2 (definitions differ); FPS:
reproduced when ours (this CPU, any accurate runtime) is at least the paper's one-core CPU figure; GPU
figures are not measured (no GPU).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from salkd import results
from salkd.claims import write_claims
from salkd.distill import claims as distill_claims
from salkd.papers import PAPERS, teachers
from salkd.reference_rows import with_references

#: the report's sections: the teachers and baselines, then each paper, then the distillation test (same
#: interface: TABLES, figures, prediction_figures, claims)
SECTIONS = [teachers, *PAPERS.values(), distill_claims]
from salkd.tables import write_table

__all__ = ["make_all", "claims", "TABLES", "FIGURES", "predictions", "roc_all_frames", "ReportError"]

#: stem -> (paper reference, builder ``ctx -> DataFrame | None``, caption), every paper's tables in order
TABLES: dict[str, tuple[str, Callable[[Any], pd.DataFrame | None], str]] = {
    stem: spec for section in SECTIONS for stem, spec in section.TABLES.items()}

FIGURES = ["skd_fig6_roc", "skd_fig7_qualitative", "skd_fig8_mu", "skd_fig9_qualitative_res", "skd_table3_plot",
           "skd_table4_bars", "uva_fig5_qualitative", "uva_fig6", "uva_fig7_memory", "uva_table3_plot",
           "fastvsod_fig5_qualitative", "fastvsod_fig6", "fastvsod_fig7_alpha", "fastvsod_table3_bars"]


class ReportError(RuntimeError):
    """A table, figure or claim could not be built (strict mode)."""


def claims(ctx: Any) -> pd.DataFrame:
    """Every quantitative claim of the three papers, checked on our results (one row per claim)."""
    return pd.DataFrame([row for section in SECTIONS for row in section.claims(ctx)])


def predictions(ctx: Any, runs: Mapping[str, Path], task: str, *, n_videos: int = 3, frames_per_video: int = 4,
                seed: int = 0) -> dict[str, Any] | None:
    """Predictions of each run on a few test frames: frames, labels and ``{label: maps}``.

    Maps are upsampled (bilinear) to the label size, as the evaluation protocol does. Returns None
    when the test split has no labeled frame or ``runs`` is empty.
    """
    from salkd.data import DatasetError

    ds = ctx.dataset(task, "test")
    names = list(ds.names)[:n_videos] if hasattr(ds, "names") else [v.name for v in list(ds)[:n_videos]]
    label_kind = "fixation" if task == "fixation" else "mask"
    picks: list[tuple[str, int]] = []
    for v in names:
        vid = ds[v]
        ts = vid.labeled(label_kind)
        if not ts:
            continue
        idx = np.linspace(0, len(ts) - 1, min(frames_per_video, len(ts))).round().astype(int)
        picks += [(v, ts[i]) for i in idx]
    if not picks:
        return None
    frames = [ds[v].read_frame(t) for v, t in picks]
    labels = [ds[v].read_fixation(t) if task == "fixation" else ds[v].read_mask(t) for v, t in picks]
    dens = []
    if task == "fixation":
        for v, t in picks:
            try:
                dens.append(ds[v].read_density(t))
            except DatasetError:  # a frame without a density map: show its fixations
                dens.append(labels[len(dens)])
    maps = {label: _predict_run(ctx, Path(run), task, picks, [lab.shape[:2] for lab in labels])
            for label, run in runs.items()}
    if not maps:
        return None
    return {"picks": picks, "frames": frames, "labels": labels, "density": dens, "maps": maps}


def _predict_run(ctx: Any, run: Path, task: str, picks: Sequence[tuple[str, int]],
                 shapes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """The maps of one run on the picked test frames, upsampled (bilinear) to each label's size."""
    import cv2
    import torch

    from salkd.evaluate import predict_cache
    from salkd.models import load_for_inference

    from salkd.map_sources import run_maps
    from salkd.runs import read_json

    fixed = run_maps(ctx, run, read_json(run / "config.json"), "test")  # a published teacher or a baseline
    if fixed is not None:
        return [cv2.resize(fixed[v][t].astype(np.float32) / 255.0, (w, h), interpolation=cv2.INTER_LINEAR)
                for (v, t), (h, w) in zip(picks, shapes)]
    model, cfg, _ = load_for_inference(run)
    names_out = tuple(getattr(model, "output_names", ()))
    out_name = "spatiotemporal" if "spatiotemporal" in names_out else (names_out[0] if len(names_out) > 1 else None)
    by_video: dict[str, list[int]] = {}
    for v, t in picks:
        by_video.setdefault(v, []).append(t)
    pred_of: dict[tuple[str, int], np.ndarray] = {}
    for v, ts in by_video.items():
        arr = ctx.cache(task, "test", cfg.get("res")).video(v)
        for t, m in zip(ts, predict_cache(model, arr["frames"], device=torch.device("cpu"), indices=ts, output=out_name)):
            pred_of[(v, t)] = m
    return [cv2.resize(pred_of[p], (w, h), interpolation=cv2.INTER_LINEAR) for p, (h, w) in zip(picks, shapes)]


def roc_all_frames(ctx: Any, runs: Mapping[str, Path], task: str = "fixation", *, batch: int = 16) -> dict[str, Any]:
    """skd Fig. 6: ``{label: plots.RocCounts}`` of each run pooled over *every* labelled frame of the test
    split (maps upsampled bilinear to the labels' size, as :func:`salkd.evaluate.evaluate` scores them),
    streamed a batch at a time."""
    import torch

    from salkd import plots
    from salkd.evaluate import predict_cache, unit_map, video_batches
    from salkd.map_sources import run_maps
    from salkd.models import load_for_inference
    from salkd.runs import read_json

    ds = ctx.dataset(task, "test")
    label = "fixation" if task == "fixation" else "mask"
    out: dict[str, Any] = {}
    for name, run in runs.items():
        run = Path(run)
        cfg = read_json(run / "config.json")
        fixed = run_maps(ctx, run, cfg, "test")  # a published teacher or a baseline
        model, out_name = None, None
        if fixed is None:
            model, cfg, _ = load_for_inference(run)
            names_out = tuple(getattr(model, "output_names", ()))
            out_name = "spatiotemporal" if "spatiotemporal" in names_out else (names_out[0] if len(names_out) > 1 else None)
        cache = ctx.cache(task, "test", cfg.get("res"))
        counts = plots.RocCounts()
        for v in cache.videos:
            arr = cache.video(v)
            ts = [int(t) for t in np.flatnonzero(arr[f"has_{label}"])] if f"has_{label}" in arr else []
            if not ts:
                continue
            pred = (np.stack([unit_map(fixed[v][t]) for t in ts]) if fixed is not None else
                    predict_cache(model, arr["frames"], device=torch.device("cpu"), indices=ts, output=out_name))
            for b in video_batches(ds, arr, v, ts, pred, task, "full", batch):
                counts.update(b["pred"], b[label])
        if counts.n_frames:
            out[name] = counts
    return out


def _prediction_figures(ctx: Any, out_dir: Path, attempt: Callable[[str, Callable[[], Any]], Any]) -> list[Path]:
    from salkd import plots

    written: list[Path] = []
    for section in SECTIONS:
        for stem, task, runs, title in section.prediction_figures(ctx):
            if not runs:
                print(f"[salkd.report] skipped {stem}: no run folders in the results")
                continue
            pred = attempt(stem, lambda: predictions(ctx, runs, task))
            if pred is None:
                continue
            gts = pred["density"] if task == "fixation" and pred["density"] else pred["labels"]
            fig = plots.qualitative_grid(pred["frames"], gts, pred["maps"],
                                         title=title + f" ({results.data_desc(ctx, task)})",
                                         gt_label="density" if task == "fixation" else "mask")
            name = stem.replace("_roc_fig7", "").replace("skd_fig6", "skd_fig7") if "roc" in stem else stem
            written += plots.save(fig, out_dir, name)
            if "roc" in stem:  # every test frame, not the qualitative picks
                counts = attempt("skd_fig6_roc", lambda: roc_all_frames(ctx, runs, task))
                if counts:
                    n = max(c.n_frames for c in counts.values())
                    curves = {k: c.curve() for k, c in counts.items()}
                    written += plots.save(plots.roc_curves(curves, title=f"skd Fig. 6: ROC (fixations, {n} test frames "
                                                                          f"pooled)"), out_dir, "skd_fig6_roc")
    return written


def _strict_default() -> bool:
    return os.environ.get("SALKD_KEEP_GOING", "").strip().lower() not in ("1", "true", "yes")


def make_all(ctx: Any, out_dir: str | Path | None = None, *, predictions_figures: bool = True,
             strict: bool | None = None) -> list[Path]:
    """Write every table, figure and ``CLAIMS.md`` whose inputs exist; returns the written paths.

    ``out_dir`` defaults to :func:`salkd.paths.figures_dir` of the profile. ``predictions_figures``:
    also make the ROC curves and qualitative grids (they rebuild models and predict a few frames).
    ``strict`` (default: on unless ``SALKD_KEEP_GOING=1``): a builder that raises stops the report with
    :class:`ReportError`; otherwise the failure is printed, listed in ``CLAIMS.md`` and the rest is built.
    """
    from salkd import paths, plots

    strict = _strict_default() if strict is None else strict
    out = Path(out_dir) if out_dir is not None else paths.figures_dir(ctx.profile)
    out.mkdir(parents=True, exist_ok=True)
    results._NOTED.clear()
    failures: dict[str, str] = {}

    def attempt(stem: str, make: Callable[[], Any]) -> Any:
        try:
            return make()
        except Exception as e:
            if strict:
                raise ReportError(f"{stem} could not be built: {type(e).__name__}: {e} (pass strict=False or set "
                                  f"SALKD_KEEP_GOING=1 to build the rest)") from e
            failures[stem] = f"{type(e).__name__}: {e}"
            print(f"[salkd.report] {stem} failed: {type(e).__name__}: {e}")
            return None

    written: list[Path] = []
    tables: dict[str, pd.DataFrame | None] = {}
    for stem, (ref, build, caption) in TABLES.items():
        t = tables[stem] = attempt(stem, lambda: build(ctx))
        if t is not None:
            # every fixation table shows the rows that expose what its scores mean (teacher, centred Gaussian,
            # train-mean map, human ceiling); figures and claims read the table without them
            shown = attempt(f"{stem} reference rows", lambda: with_references(ctx, t)) if stem != "teachers" else t
            written += write_table(t if shown is None else shown, out, stem, caption, t.attrs.get("note", ""))
    for section in SECTIONS:
        for stem, make in section.figures(ctx, tables).items():
            fig = attempt(stem, make)
            if fig is not None:
                written += plots.save(fig, out, stem)
    if predictions_figures:
        written += _prediction_figures(ctx, out, attempt)
    rows = [r for section in SECTIONS
            for r in (attempt(f"claims of {section.__name__}", lambda: section.claims(ctx)) or [])]
    written += write_claims(pd.DataFrame(rows), out, ctx, failures)
    if failures:
        print(f"[salkd.report] {len(failures)} item(s) not built: {', '.join(failures)}")
    return written
