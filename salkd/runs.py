"""Run folders: ``runs/<profile>/<stage>/<name>/`` with config, environment, history, metrics, weights.

Layout of a run folder (written atomically, file by file):

``config.json``   everything needed to rebuild the model (``{"model": {"name", "kwargs"}, ...}``)
                  plus the stage's settings, the upstream run folders it used (relative to the runs
                  root, :func:`run_ref`) and its data (:func:`data_ref` and :func:`data_fingerprint`),
                  so that a moved runs root or dataset keeps its runs;
``env.json``      versions, git commit, device, thread count;
``history.csv``   one row per epoch, appended as training goes;
``timings.json``  wall-clock seconds and frames/s per epoch (:mod:`salkd.timings`), kept out of the
                  other files so that identical runs give identical bytes;
``metrics.json``  final validation metrics; its presence marks the run as complete;
``checkpoint.pt`` the last state (model, optimizer, step, RNG), for ``resume=True``;
``best.pt``       the weights with the best validation score on the stated metric.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from salkd import paths
from salkd.atomic import write_json

__all__ = ["environment", "read_json", "is_complete", "RunError", "config_matches", "comparable", "run_ref",
           "run_from_ref", "data_ref", "data_fingerprint", "data_sha256", "UPSTREAM_KEYS", "unfinished_step", "require_finished",
           "weights_fingerprint", "upstream_fingerprints", "config_changes", "describe_changes", "PROVENANCE_KEYS"]

#: the config keys that name an upstream run folder
UPSTREAM_KEYS = ("teacher", "spatial", "temporal", "student", "spatial_teacher", "temporal_teacher", "stage1")


#: content fingerprints a config records (weights of its upstream runs, its data); a config written before
#: salkd recorded one of them is compared without it
PROVENANCE_KEYS = ("upstream_sha256", "data_sha256", "unlabeled_sha256")


class RunError(RuntimeError):
    """A run folder is missing, incomplete or belongs to a different configuration."""


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.home(), capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: str | None = None, precision: str | None = None) -> dict[str, Any]:
    """Versions, git commit, device and the arithmetic precision actually used (``"auto"`` resolved:
    fp32 / bf16 / fp16), for ``env.json``."""
    import numpy
    import torch

    import salkd
    from salkd.threads import record as thread_record

    info: dict[str, Any] = {
        "salkd": salkd.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "threads": thread_record(),   # count, OpenMP wait policy and why (salkd.threads)
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "device": device,
        "precision": precision,
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


def unfinished_step(run: str | os.PathLike) -> int | None:
    """The step an unfinished training run reached, or None when ``run`` is not one.

    A run folder written by :class:`salkd.train.Trainer` that has a ``checkpoint.pt`` but no
    ``metrics.json`` stopped before its end (interrupted or still training). Folders made by hand
    (weights without a trainer's step) and complete runs give None.
    """
    r = Path(run)
    ck = r / "checkpoint.pt"
    if is_complete(r) or not ck.is_file() or not (r / "config.json").is_file():
        return None
    import torch

    try:
        state = torch.load(ck, map_location="cpu", weights_only=True)
    except Exception:  # an unreadable checkpoint is reported by whoever loads it
        return None
    if isinstance(state, dict) and "step" in state and "optimizer" in state:
        return int(state["step"])
    return None


def require_finished(run: str | os.PathLike, allow_unfinished: bool = False, option: str = "--allow-unfinished") -> None:
    """Refuse an unfinished training run (:func:`unfinished_step`) unless ``allow_unfinished``, naming
    the step it reached and what to do."""
    step = None if allow_unfinished else unfinished_step(run)
    if step is not None:
        raise RunError(f"run {run} is not finished (it stopped at step {step}, no metrics.json): rerun its "
                       f"`salkd train` command to finish it, or pass {option} to use the weights it holds so far")


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _relative(path: str | os.PathLike, root: str | os.PathLike) -> str | None:
    """``path`` relative to ``root`` (POSIX), or None when it is not under it."""
    for norm in (os.path.abspath, os.path.realpath):
        rel = os.path.relpath(norm(path), norm(root))
        if rel != ".." and not rel.startswith(".." + os.sep):
            return Path(rel).as_posix()
    return None


def run_ref(run: str | os.PathLike | None, root: str | os.PathLike) -> str | None:
    """How a config names an upstream run: its path relative to the runs root ``root``, so that the runs
    folder can be moved or copied; absolute when it lies outside ``root``."""
    if run is None:
        return None
    return _relative(run, root) or os.path.abspath(run)


def run_from_ref(ref: str | os.PathLike, root: str | os.PathLike) -> Path:
    """The run folder a config names (:func:`run_ref`); an absolute path (older configs) is kept."""
    return Path(root) / ref if not os.path.isabs(ref) else Path(ref)


def data_ref(path: str | os.PathLike) -> str:
    """How a config names a dataset folder: ``data:<rel>`` under the generated-data folder, ``shared:<rel>``
    under the shared sample data, else its absolute path."""
    for prefix, root in (("data", paths.data_dir()), ("shared", paths.shared_data())):
        rel = _relative(path, root)
        if rel is not None and rel != ".":
            return f"{prefix}:{rel}"
    return os.path.abspath(path)


def _files(root: Path) -> Iterator[tuple[str, int]]:
    """``(path relative to root, size)`` of every file under ``root`` (hidden ones left out)."""
    from salkd.fingerprints import dataset_files

    for rel, p in dataset_files(root):
        yield rel, p.stat().st_size


def data_fingerprint(roots: Sequence[str | os.PathLike]) -> str:
    """A cheap key of datasets: the names and sizes of their files (a dataset moved or copied elsewhere
    keeps it; adding, removing or resizing a file changes it). :func:`data_sha256` also sees edits."""
    h = hashlib.sha256()
    for root in roots:
        h.update(b"\0")
        for rel, size in sorted(_files(Path(root))):
            h.update(f"{rel}\t{size}\n".encode())
    return h.hexdigest()[:16]


def weights_fingerprint(run: str | os.PathLike) -> str:
    """What identifies the weights a run gives to the stages after it: the SHA256 of the weights file
    :func:`salkd.models.from_run` loads (``best.pt``, else ``checkpoint.pt``), of a published teacher's
    released file, or (a fixed baseline, no weights) of its ``config.json``. Retraining the run changes it."""
    from salkd.fingerprints import file_sha256

    r = Path(run)
    cfg = read_json(r / "config.json")
    if cfg.get("pretrained") and cfg.get("sha256"):
        return f"published:{cfg['sha256']}"
    for name in ("best.pt", "checkpoint.pt"):
        if (r / name).is_file():
            return f"{name}:{file_sha256(r / name)}"
    return "config:" + hashlib.sha256(_canon(cfg).encode()).hexdigest()


def upstream_fingerprints(config: Mapping[str, Any], runs_root: str | os.PathLike) -> dict[str, str]:
    """``{key: weights_fingerprint}`` of every upstream run a config names (:data:`UPSTREAM_KEYS`)."""
    out = {}
    for k in UPSTREAM_KEYS:
        ref = config.get(k)
        if isinstance(ref, str) and ref != "None":
            out[k] = weights_fingerprint(run_from_ref(ref, runs_root))
    return out


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict as ``{dotted key: leaf}``."""
    if not isinstance(obj, Mapping):
        return {prefix: obj}
    out: dict[str, Any] = {}
    for k, v in obj.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def config_changes(run: str | os.PathLike, config: Mapping[str, Any],
                   runs_root: str | os.PathLike | None = None) -> list[str]:
    """The dotted keys in which the run folder's ``config.json`` differs from ``config`` (as compared for
    reuse, :func:`comparable`; ``runs_root`` as in :func:`config_matches`)."""
    root = runs_root if runs_root is not None else _runs_root_of(run)
    a, b = comparable(read_json(Path(run) / "config.json"), json.loads(_canon(config)), root)
    fa, fb = _flat(a), _flat(b)
    return sorted(k for k in set(fa) | set(fb) if fa.get(k, "<unset>") != fb.get(k, "<unset>"))


def describe_changes(keys: list[str]) -> str:
    """A short account of changed config keys: what changed upstream (teacher weights, data) first."""
    notes = []
    ups = [k.split(".", 1)[1] for k in keys if k.startswith("upstream_sha256.")]
    if ups:
        notes.append(f"the weights of its upstream run(s) {', '.join(ups)} changed (retrained)")
    if any(k in ("data_sha256", "data_fingerprint", "unlabeled_sha256") for k in keys):
        notes.append("the contents of its dataset changed")
    rest = [k for k in keys if not k.startswith("upstream_sha256.") and k not in PROVENANCE_KEYS
            and k != "data_fingerprint"]
    if rest:
        notes.append("changed keys: " + ", ".join(rest[:8]) + (" ..." if len(rest) > 8 else ""))
    return "; ".join(notes)


def data_sha256(roots: Sequence[str | os.PathLike]) -> str:
    """The content key of datasets: names and SHA256 of every file (:func:`salkd.fingerprints.tree_sha256`,
    cached per file by size and mtime), so that an edited label of the same size changes it."""
    from salkd.fingerprints import tree_sha256

    return tree_sha256(roots)


def _portable(config: Mapping[str, Any], runs_root: str | os.PathLike | None) -> dict[str, Any]:
    """``config`` with the absolute paths of older configs as :func:`run_ref` / :func:`data_ref` write them."""
    out = dict(config)
    for k in UPSTREAM_KEYS:
        v = out.get(k)
        if v == "None":
            out[k] = None
        elif isinstance(v, str) and os.path.isabs(v) and runs_root is not None:
            out[k] = run_ref(v, runs_root)
    d = out.get("dataset")
    if isinstance(d, str) and os.path.isabs(d):
        out["dataset"] = data_ref(d)
    elif isinstance(d, list):
        out["dataset"] = [data_ref(x) if os.path.isabs(x) else x for x in d]
    return out


def comparable(have: Mapping[str, Any], want: Mapping[str, Any],
               runs_root: str | os.PathLike | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two configs as compared for reuse: paths in today's relative form (older configs held absolute ones),
    and the data identified by its fingerprint when both record one (the dataset may have moved), else by path.
    ``have`` is the stored config: a content fingerprint (:data:`PROVENANCE_KEYS`) it lacks is left out."""
    a, b = _portable(have, runs_root), _portable(want, runs_root)
    drop = ["dataset" if "data_fingerprint" in a and "data_fingerprint" in b else "data_fingerprint"]
    drop += [k for k in PROVENANCE_KEYS if k not in a]     # written before salkd recorded it
    for c in (a, b):
        for k in drop:
            c.pop(k, None)
    return a, b


def _runs_root_of(run: str | os.PathLike) -> Path | None:
    """The runs root of ``<root>/<profile>/<stage>/<name>`` (None for a shallower path)."""
    parents = Path(os.path.abspath(run)).parents
    return parents[2] if len(parents) > 3 else None


def config_matches(run: str | os.PathLike, config: Mapping[str, Any],
                   runs_root: str | os.PathLike | None = None) -> bool:
    """True when the run folder's ``config.json`` equals ``config`` (JSON-canonical, after :func:`comparable`;
    ``runs_root``: default the folder three levels above ``run``)."""
    p = Path(run) / "config.json"
    if not p.is_file():
        return False
    root = runs_root if runs_root is not None else _runs_root_of(run)
    have, want = comparable(read_json(p), json.loads(_canon(config)), root)
    return _canon(have) == _canon(want)


def write_config(run: str | os.PathLike, config: Mapping[str, Any]) -> Path:
    """Write ``config.json`` into the run folder."""
    return write_json(Path(run) / "config.json", dict(config))
