"""The notebooks' entry: the :class:`~salkd.context.Context` they work in, and the two experiments that
belong to no paper (the data overview and the deployment benchmark).

The papers' experiments are in :mod:`salkd.papers` (``salkd.papers.skd.run(ctx)``, ...); their
results are read with :func:`salkd.results.load`.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

import pandas as pd

from salkd import results
from salkd.atomic import write_text
from salkd.config import default_profile
from salkd.context import Context

__all__ = ["context", "run_data", "run_speed", "OVERRIDES_ENV", "env_overrides"]

#: environment variable holding a JSON object of dotted profile overrides for the notebooks' Context
#: (``salkd reproduce --dry-run`` sets it for the kernels papermill starts; see :mod:`salkd.dryrun`)
OVERRIDES_ENV = "SALKD_OVERRIDES"


def env_overrides() -> dict[str, Any]:
    """The dotted profile overrides in ``$SALKD_OVERRIDES`` (a JSON object; {} when unset)."""
    text = os.environ.get(OVERRIDES_ENV, "").strip()
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"${OVERRIDES_ENV} must be a JSON object of dotted keys, got {type(value).__name__}")
    return value


def context(profile: str | None = None, *, data_fixation: str | os.PathLike | None = None,
            data_vsod: str | os.PathLike | None = None, out: str | os.PathLike | None = None, seed: int = 0,
            device: str = "auto", force: bool = False, overrides: Mapping[str, Any] | None = None,
            progress: bool = True) -> Context:
    """The :class:`Context` a notebook works in (``profile=None``: ``$SALKD_PROFILE`` or quick); the
    overrides of ``$SALKD_OVERRIDES`` (:func:`env_overrides`) apply first, then ``overrides``."""
    data = {k: v for k, v in (("fixation", data_fixation), ("vsod", data_vsod)) if v}
    overrides = {**env_overrides(), **(overrides or {})} or None
    return Context(profile=profile or default_profile(), data=data or None, runs=out, overrides=overrides,
                   seed=seed, device=device, force=force, progress=progress)


def run_data(ctx: Context) -> pd.DataFrame:
    """Make (or find) the datasets; one row per task and split with videos, frames and frame size."""
    rows = []
    for task in ("fixation", "vsod"):
        for split in ("train", "val", "test"):
            ds = ctx.dataset(task, split)
            h, w = ds.videos[0].read_frame(0).shape[:2] if ds.videos else (0, 0)
            rows.append({"task": task, "split": split, "root": str(ds.root), "layout": ds.layout,
                         "videos": len(ds.videos), "frames": sum(len(v.frames) for v in ds.videos),
                         "height": h, "width": w})
    return results.save(ctx, "data", pd.DataFrame(rows))


def run_speed(ctx: Context) -> pd.DataFrame:
    """The deployment benchmark (params, MACs, memory, frames/s per model, resolution and runtime), measured
    once per machine and bench settings and reused by every profile (:mod:`salkd.bench.cache`, under
    ``<runs root>/bench-cache/``; ``RETRAIN`` / ``force`` measures anew)."""
    import torch

    from salkd.bench import cache
    from salkd.bench import models as bench

    bc = ctx.cfg.get("bench", {})
    settings = {"models": bc.get("models"), "res": bc.get("res"), "batch": list(bc.get("batch", (1, 64))),
                "quick": bool(bc.get("quick", False)), "per_core": bool(bc.get("per_core", True)),
                "runtimes": bc.get("runtimes"), "seed": int(ctx.seed)}
    threads = torch.get_num_threads()
    result, _ = cache.cached_run(
        ctx.runs_root, settings, threads, refresh=bool(ctx.force),
        measure=lambda: bench.run(settings["models"], res=settings["res"], batch=settings["batch"],
                                  quick=settings["quick"], progress=ctx.progress, seed=settings["seed"],
                                  threads=threads, per_core=settings["per_core"], runtimes=settings["runtimes"]))
    df = pd.DataFrame(result["rows"])
    df.attrs["speedup"] = result.get("speedup")
    write_text(results.results_dir(ctx) / "speed_machine.json",
               json.dumps({k: result.get(k) for k in ("peak", "machine", "speedup")}, indent=2, default=str))
    return results.save(ctx, "speed", df)
