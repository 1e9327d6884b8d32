"""Wall-clock figures of a training run, kept apart from its deterministic files.

``timings.json`` beside ``history.csv`` holds what depends on the machine's speed: per epoch
``{"epoch", "step", "seconds", "frames_per_s"}``, the open epoch's ``{"step", "seconds"}`` at its last
mid-epoch checkpoint, and the totals ``train_seconds`` / ``train_frames_per_s``. ``checkpoint.pt``,
``history.csv`` and ``metrics.json`` then carry no time, so identical runs give identical bytes.
Runs written before kept these in ``history.csv`` (``seconds``, ``frames_per_s``), ``metrics.json`` and
the checkpoint's ``epoch_stats``; :func:`read_timings` reads either layout.
"""
from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from salkd.atomic import write_json

__all__ = ["TIMING_COLUMNS", "TIMING_METRICS", "EpochClock", "split_timing", "epoch_timing", "totals",
           "write_timings", "read_timings", "open_epoch_seconds", "resume_timings", "trained_since"]

#: the timing columns of a history row (in ``history.csv`` of runs written before ``timings.json``)
TIMING_COLUMNS = ("seconds", "frames_per_s")
#: the timing entries of ``metrics.json`` of runs written before ``timings.json``
TIMING_METRICS = ("train_seconds", "train_frames_per_s")
FILE = "timings.json"


class EpochClock:
    """Seconds spent in the current epoch; a resumed epoch starts from the seconds it had."""

    def __init__(self, already: float = 0.0) -> None:
        self.start = time.perf_counter() - float(already)

    def seconds(self) -> float:
        return time.perf_counter() - self.start


def split_timing(row: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the row without its timing columns, those columns) of a history row of either layout."""
    rest = {k: v for k, v in row.items() if k not in TIMING_COLUMNS}
    timing = {k: row[k] for k in TIMING_COLUMNS if k in row and row[k] not in (None, "")}
    return rest, timing


def epoch_timing(epoch: int, step: int, seconds: float, frames: int) -> dict[str, Any]:
    """The timing entry of one closed epoch (1-based ``epoch``)."""
    return {"epoch": epoch, "step": step, "seconds": round(seconds, 3),
            "frames_per_s": round(frames / max(seconds, 1e-9), 1)}


def totals(epochs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``train_seconds`` (sum over epochs) and ``train_frames_per_s`` (of the last epoch)."""
    secs = [float(e["seconds"]) for e in epochs if e.get("seconds") not in (None, "")]
    last = epochs[-1].get("frames_per_s") if epochs else None
    return {"train_seconds": float(sum(secs)) if secs else None,
            "train_frames_per_s": float(last) if last not in (None, "") else None}


def write_timings(run: str | os.PathLike, epochs: Sequence[Mapping[str, Any]],
                  open_epoch: Mapping[str, Any] | None = None) -> Path:
    """Write ``run/timings.json`` (atomically): the closed epochs, the open one and the totals."""
    return write_json(Path(run) / FILE, {"epochs": list(epochs), "open_epoch": dict(open_epoch) if open_epoch else None,
                                         **totals(epochs)})


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_timings(run: str | os.PathLike) -> dict[str, Any]:
    """A run's timings ``{"epochs", "open_epoch", "train_seconds", "train_frames_per_s"}`` from its
    ``timings.json``, or from the columns of an older run's ``history.csv`` and ``metrics.json``;
    empty lists and None where a run has none (or a file is unreadable)."""
    run = Path(run)
    data = _read_json(run / FILE)
    if isinstance(data, dict) and isinstance(data.get("epochs"), list):
        return {"epochs": data["epochs"], "open_epoch": data.get("open_epoch"), **totals(data["epochs"])}
    epochs: list[dict[str, Any]] = []
    hist = run / "history.csv"
    if hist.is_file():
        with open(hist, newline="", encoding="utf-8") as fh:
            for i, row in enumerate(csv.DictReader(fh)):
                rest, timing = split_timing(row)
                if timing:
                    epochs.append({"epoch": int(rest.get("epoch") or i + 1), "step": int(rest.get("step") or 0),
                                   **{k: float(v) for k, v in timing.items()}})
    out = {"epochs": epochs, "open_epoch": None, **totals(epochs)}
    metrics = _read_json(run / "metrics.json")
    if isinstance(metrics, dict):
        out.update({k: metrics[k] for k in TIMING_METRICS if metrics.get(k) is not None})
    return out


def open_epoch_seconds(run: str | os.PathLike, step: int, epoch_stats: Mapping[str, Any] | None) -> float:
    """The seconds the open epoch had at the checkpoint of ``step``: from ``timings.json`` when it was
    written at that step, else an older checkpoint's ``epoch_stats["seconds"]``, else 0."""
    open_epoch = read_timings(run).get("open_epoch")
    if isinstance(open_epoch, dict) and open_epoch.get("step") == step:
        return float(open_epoch.get("seconds") or 0.0)
    return float((epoch_stats or {}).get("seconds") or 0.0)


def resume_timings(run: str | os.PathLike, history: Sequence[Mapping[str, Any]]
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(history rows without timing, per-epoch timings) of a resumed run: an older checkpoint's rows carry
    their timing, a newer one's are in ``timings.json`` (its epochs past the checkpoint are dropped)."""
    rows = [split_timing(r) for r in history]
    kept = [r for r, _ in rows]
    old = [{"epoch": i + 1, "step": int(r.get("step") or 0), **t} for i, (r, t) in enumerate(rows) if t]
    if old:
        return kept, old
    stored = read_timings(run)["epochs"] if (Path(run) / FILE).is_file() else []
    return kept, [dict(e) for e in stored if int(e.get("epoch") or 0) <= len(kept)]


def trained_since(root: str | os.PathLike, since: float) -> dict[str, float]:
    """What was trained under ``root`` since the wall-clock time ``since``: the runs whose ``timings.json`` was
    written then (``runs``), their training seconds summed (``seconds``) and frames over seconds
    (``frames_per_s``, each epoch's frames = its frames/s x its seconds); zeros when nothing was trained."""
    runs, secs, frames = 0, 0.0, 0.0
    for f in Path(root).rglob(FILE):
        try:
            if f.stat().st_mtime < since:
                continue
        except OSError:
            continue
        data = _read_json(f)
        if not isinstance(data, dict) or not isinstance(data.get("epochs"), list):
            continue
        runs += 1
        for e in data["epochs"]:
            try:
                s_, fps = float(e["seconds"]), float(e["frames_per_s"])
            except (KeyError, TypeError, ValueError):
                continue
            secs += s_
            frames += s_ * fps
    return {"runs": runs, "seconds": secs, "frames_per_s": frames / secs if secs > 0 else 0.0}
