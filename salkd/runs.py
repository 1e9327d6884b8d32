"""Run folders: ``runs/<profile>/<stage>/<name>/`` with config, environment, history, metrics, weights.

Layout of a run folder (written atomically, file by file):

``config.json``   everything needed to rebuild the model (``{"model": {"name", "kwargs"}, ...}``)
                  plus the stage's settings and the upstream run folders it used;
``env.json``      versions, git commit, device, thread count;
``history.csv``   one row per epoch, appended as training goes;
``metrics.json``  final validation metrics; its presence marks the run as complete;
``checkpoint.pt`` the last state (model, optimizer, step, RNG), for ``resume=True``;
``best.pt``       the weights with the best validation score on the stated metric.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Mapping

from salkd import paths
from salkd.atomic import write_json

__all__ = ["environment", "read_json", "is_complete", "RunError", "config_matches"]


class RunError(RuntimeError):
    """A run folder is missing, incomplete or belongs to a different configuration."""


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.home(), capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: str | None = None) -> dict[str, Any]:
    """Versions, git commit and device, for ``env.json``."""
    import numpy
    import torch

    import salkd

    info: dict[str, Any] = {
        "salkd": salkd.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "device": device,
        "git_commit": _git_commit(),
    }
    if torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file with an error that names it."""
    p = Path(path)
    if not p.is_file():
        raise RunError(f"{p} does not exist")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunError(f"{p} is not valid JSON ({exc}); delete the run folder and rerun the stage") from exc


def is_complete(run: str | os.PathLike) -> bool:
    """A run is complete when its ``metrics.json`` and weights exist. The run of a published teacher or
    of a fixed baseline (nothing trained here: ``"trained_here": false`` in its metrics) has no weights."""
    r = Path(run)
    if not (r / "metrics.json").is_file():
        return False
    if (r / "checkpoint.pt").is_file():
        return True
    try:
        return read_json(r / "metrics.json").get("trained_here") is False
    except (OSError, RunError):
        return False


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def config_matches(run: str | os.PathLike, config: Mapping[str, Any]) -> bool:
    """True when the run folder's ``config.json`` equals ``config`` (JSON-canonical comparison)."""
    p = Path(run) / "config.json"
    if not p.is_file():
        return False
    return _canon(read_json(p)) == _canon(json.loads(_canon(config)))


def write_config(run: str | os.PathLike, config: Mapping[str, Any]) -> Path:
    """Write ``config.json`` into the run folder."""
    return write_json(Path(run) / "config.json", dict(config))
