"""Accuracy of a reduced-precision runtime on *trained* weights and *real* frames (``--run``).

Quantization and bf16 errors depend on the weights and on the inputs, so random weights on synthetic
frames (:mod:`salkd.bench.fidelity`) cannot decide whether ``bf16_cl`` or ``ort_int8`` may ship. Here:

* :func:`open_run` loads a salkd run folder (``config.json`` names the model; best weights, deployed, fp32)
  and the data it was trained on, split as its profile splits it (:class:`salkd.context.Context`);
* :meth:`TrainedRun.calibration` gives int8 calibration batches: real frames of the run's *train* split;
* :meth:`TrainedRun.score` scores any runner on the *test* split (held apart from training and from the
  calibration; the *val* split serves choices such as int8's calibration method, so the test split decides
  nothing but the verdict) with the project's evaluation protocol (:func:`salkd.evaluate.evaluate`: full-resolution
  labels); :func:`deltas` compares it with eager fp32: |Δ NSS|, |Δ CC| (fixation) or |Δ max-F| (SOD);
* :func:`within_tolerance`: the gate, :data:`TOLERANCE` (0.01 NSS, 0.005 max-F).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["TOLERANCE", "TrainedRun", "RunnerModule", "open_run", "runs_by_model", "delta_key", "deltas", "gated_error", "within_tolerance",
           "REDUCED"]

#: the largest |Δ| against eager fp32 on held-apart real frames at which a runtime ships, per metric
TOLERANCE: dict[str, float] = {"nss": 0.01, "max_f": 0.005}

#: runtimes whose arithmetic differs from fp32: they ship only after the check on a trained run
REDUCED = ("bf16_cl", "ort_int8", "cuda_fp16")


class RunnerModule(nn.Module):
    """A :class:`salkd.bench.runtime.Runner` seen as a model by :func:`salkd.evaluate.evaluate`."""

    def __init__(self, runner: Any, input_kind: str) -> None:
        super().__init__()
        self.runner = runner
        self.input_kind = input_kind

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.runner(*(x.detach().cpu().float().numpy() for x in inputs)))


@dataclass
class TrainedRun:
    """A trained run folder with the splits of its data (see the module docstring)."""

    path: Path
    name: str  # the registry name of its model (config.json "model.name")
    res: int  # the resolution it was trained at
    task: str  # "fixation" | "vsod" | "sod"
    model: nn.Module  # deployed, fp32, eval
    train: Any  # VideoDataset of its train split
    val: Any  # VideoDataset of its validation split (choices such as int8's calibration method)
    test: Any  # VideoDataset of its test split (the verdict)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The compared metrics: NSS and CC for fixation, max-F (and MAE) for SOD."""
        return ("nss", "cc") if self.task == "fixation" else ("max_f", "mae")

    def calibration(self, res: int, frames: int = 128, batch: int = 16) -> list[tuple[np.ndarray, ...]]:
        """``frames`` real frames of the train split at ``res`` x ``res`` (evenly spread over its videos and
        their frames), as input tuples of the model in batches of ``batch``."""
        from salkd import paths
        from salkd.data import cache_lowres
        from salkd.evaluate import model_inputs

        cache = cache_lowres(self.train, (res, res), paths.cache_dir() / "lowres", progress=False)
        per_video = max(1, int(np.ceil(frames / max(1, len(cache.videos)))))
        picked: list[tuple[np.ndarray, list[int]]] = []
        for v in cache.videos:
            arr = cache.video(v)["frames"]
            idx = np.linspace(0, arr.shape[0] - 1, min(per_video, arr.shape[0])).round().astype(int)
            picked.append((arr, sorted(set(int(i) for i in idx))))
        out: list[tuple[np.ndarray, ...]] = []
        for arr, idx in picked:
            for s in range(0, len(idx), batch):
                xs = model_inputs(self.model, arr, idx[s:s + batch], torch.device("cpu"))
                out.append(tuple(x.numpy() for x in xs))
        return out

    def score(self, runner: Any, res: int, split: str = "test") -> dict[str, float]:
        """The metrics of ``runner`` (a Runner, or an ``nn.Module``) at ``res`` on the ``split`` ("test" or
        "val") frames, and their count ``n_frames``."""
        from salkd.evaluate import evaluate

        if split not in ("test", "val"):
            raise ValueError(f"split must be 'test' or 'val', got {split!r}")
        model = runner if isinstance(runner, nn.Module) else RunnerModule(runner, getattr(self.model, "input_kind",
                                                                                         "frame"))
        df = evaluate(model, self.test if split == "test" else self.val, res, device="cpu", batch_size=64,
                      progress=False, task=self.task)
        row = df.loc["overall"]
        scores = {m: float(row[m]) for m in self.metrics if m in row}
        scores["n_frames"] = float(row["n_frames"])
        return scores

    def describe(self) -> str:
        return f"{self.path.name} ({self.name}, trained at {self.res}x{self.res}; {self.task} test split)"


def _task_of(cfg: dict[str, Any], dataset: Any) -> str:
    return str(getattr(dataset, "task", None) or ("vsod" if "fastvsod" in cfg["model"]["name"] else "fixation"))


def _dataset_path(ref: Any) -> Path:
    """The dataset folder a run's config names: an absolute path, or ``shared:<rel>`` / ``data:<rel>``
    (:func:`salkd.runs.data_ref`); of a list, the first (the training data)."""
    from salkd import paths

    if isinstance(ref, (list, tuple)):
        ref = ref[0] if ref else ""
    ref = str(ref or "")
    for prefix, root in (("shared:", paths.shared_data), ("data:", paths.data_dir)):
        if ref.startswith(prefix):
            return root() / ref[len(prefix):]
    return Path(ref).expanduser()


def open_run(path: str | os.PathLike) -> TrainedRun:
    """Load the run folder ``path`` (best weights) and the train / test splits of its data.

    The data is the run's ``config.json`` ``dataset`` split as its ``profile`` splits it (the same
    frames the run trained and was tested on)."""
    from salkd.context import Context
    from salkd.data import open_dataset
    from salkd.models import load_for_inference

    run = Path(path)
    if not (run / "config.json").is_file():
        raise FileNotFoundError(f"--run {run}: no config.json (not a salkd run folder)")
    cfg = json.loads((run / "config.json").read_text())
    model, cfg, (h, w) = load_for_inference(run)
    if h != w:
        raise ValueError(f"--run {run}: trained at {h}x{w}; the benchmark measures square inputs")
    root = _dataset_path(cfg.get("dataset"))
    if not str(root) or not root.exists():
        raise FileNotFoundError(f"--run {run}: its dataset {root} is not here")
    task = _task_of(cfg, open_dataset(root))
    task = "vsod" if task == "sod" else task
    ctx = Context(profile=str(cfg.get("profile", "quick")), progress=False)
    try:
        same = ctx.dataset_root(task).resolve() == root.resolve()
    except (FileNotFoundError, ValueError):
        same = False
    if not same:
        ctx = Context(profile=str(cfg.get("profile", "quick")), data={task: str(root)}, progress=False)
    return TrainedRun(path=run, name=str(cfg["model"]["name"]), res=int(h), task=task,
                      model=model.float().eval(), train=ctx.dataset(task, "train"), val=ctx.dataset(task, "val"),
                      test=ctx.dataset(task, "test"))


def delta_key(metric: str) -> str:
    """The row column of a metric's |Δ| on real frames: ``nss`` -> ``d_nss_real``, ``max_f`` -> ``d_maxf_real``."""
    return f"d_{metric.replace('_', '')}_real"


def deltas(ref: dict[str, float], got: dict[str, float]) -> dict[str, float]:
    """``{delta_key(metric): |got - ref|}`` for every metric both have (n_frames excluded)."""
    return {delta_key(k): abs(got[k] - ref[k]) for k in ref if k != "n_frames" and k in got}


def within_tolerance(d: dict[str, float], tolerance: dict[str, float] | None = None) -> bool:
    """Every gated metric present in ``d`` (:func:`delta_key` columns) is within its :data:`TOLERANCE`
    (NSS for fixation models, max-F for SOD models); False when none is present."""
    tol = TOLERANCE if tolerance is None else tolerance
    gated = [(delta_key(m), t) for m, t in tol.items() if delta_key(m) in d]
    return bool(gated) and all(np.isfinite(d[k]) and d[k] <= t for k, t in gated)


def gated_error(d: dict[str, float], tolerance: dict[str, float] | None = None) -> float:
    """The largest |Δ| / tolerance over the gated metrics in ``d`` (<= 1 ships); inf when none is present."""
    tol = TOLERANCE if tolerance is None else tolerance
    vals = [d[delta_key(m)] / t for m, t in tol.items() if delta_key(m) in d]
    return max(vals) if vals else float("inf")


def runs_by_model(paths_: Sequence[str | os.PathLike]) -> dict[str, TrainedRun]:
    """``{model name: TrainedRun}`` of the given run folders (one run per model)."""
    out: dict[str, TrainedRun] = {}
    for p in paths_:
        r = open_run(p)
        if r.name in out:
            raise ValueError(f"--run: two runs of model {r.name!r}: {out[r.name].path} and {r.path}")
        out[r.name] = r
    return out
