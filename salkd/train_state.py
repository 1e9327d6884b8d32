"""The pieces of a training run's state: optimizer, learning-rate schedule, precision, RNG state,
checkpoint and history files (used by :class:`salkd.train.Trainer`)."""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import errno
import io
import os
import pickle
import random
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from salkd.atomic import atomic_path, write_text

__all__ = ["TrainSettings", "lr_at", "make_optimizer", "rng_state", "set_rng_state", "save_torch", "write_history", "read_history",
           "precision_context", "progress", "json_roundtrip", "DiskFullError", "writing", "is_disk_full", "load_checkpoint"]


@dataclass
class TrainSettings:
    """Optimization settings of one run (all plain values; saved in ``config.json``)."""

    epochs: int = 1
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"            # "adam" | "sgd"
    momentum: float = 0.9              # SGD only
    weight_decay: float = 0.0
    lr_policy: str = "constant"        # "constant" | "poly"
    poly_power: float = 0.9            # fastvsod: (1 - iter/max_iter)^0.9
    max_steps: int | None = None       # caps epochs * steps_per_epoch
    # the run's length in optimizer steps (iterations), replacing epochs (fastvsod Sec. 4.1: 40,000
    # iterations, poly schedule over them); None: epochs * steps_per_epoch
    max_iters: int | None = None
    seed: int = 0
    ckpt_every: int = 200              # steps between checkpoints (plus one at every epoch end)
    select_metric: str | None = None   # validation metric for best.pt, e.g. "nss" or "max_f"
    select_mode: str = "max"           # "max" | "min"
    precision: str = "fp32"            # "fp32" | "bf16" | "fp16" | "auto"
    channels_last: bool = False
    device: str = "auto"
    grad_clip: float | None = None
    progress: bool = True
    # learning-rate multipliers per parameter-name prefix, e.g. {"backbone.": 0.1} (fine-tuned pretrained
    # layers at a tenth of ``lr``): one optimizer group per prefix (first match wins), the rest at 1
    param_lr: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.max_iters is not None and (isinstance(self.max_iters, bool) or not isinstance(self.max_iters, int)
                                           or self.max_iters < 1):
            raise ValueError(f"max_iters must be a positive int (optimizer steps) or None, got {self.max_iters!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``config.json``; ``max_iters`` only when set, so runs sized in epochs keep the
        config (and reuse) they had before iteration budgets existed."""
        out = dataclasses.asdict(self)
        if out.get("max_iters") is None:
            out.pop("max_iters", None)
        if not out.get("param_lr"):
            out.pop("param_lr", None)
        return out



def lr_at(settings: TrainSettings, step: int, total: int) -> float:
    """The learning rate of optimizer step ``step`` (0-based) of ``total``: constant, or the poly policy
    ``lr·(1 - step/total)^power`` over the run's steps (fastvsod Sec. 4.1, ``total`` = its 40,000 iterations)."""
    if settings.lr_policy == "constant":
        return settings.lr
    if settings.lr_policy == "poly":
        return settings.lr * max(0.0, 1.0 - step / max(1, total)) ** settings.poly_power
    raise ValueError(f"unknown lr_policy {settings.lr_policy!r}; use 'constant' or 'poly'")


def param_groups(model: nn.Module, s: TrainSettings) -> list[dict[str, Any]]:
    """The trainable parameters in optimizer groups: one per ``s.param_lr`` prefix that matches any
    (``lr_scale`` = its multiplier; a parameter goes to the first prefix its name starts with), then the
    rest (``lr_scale`` 1). The learning rate of a group is ``lr_scale`` x :func:`lr_at`."""
    scales = dict(s.param_lr or {})
    for prefix, v in scales.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise ValueError(f"param_lr[{prefix!r}] = {v!r}: a learning-rate multiplier must be > 0")
    named: dict[str, list[nn.Parameter]] = {k: [] for k in scales}
    rest: list[nn.Parameter] = []
    for name, p in model.named_parameters():
        if p.requires_grad:
            prefix = next((k for k in scales if name.startswith(k)), None)
            (named[prefix] if prefix is not None else rest).append(p)
    groups = [{"params": ps, "lr": s.lr * float(scales[k]), "lr_scale": float(scales[k]), "prefix": k}
              for k, ps in named.items() if ps]
    if rest:
        groups.append({"params": rest, "lr": s.lr, "lr_scale": 1.0, "prefix": ""})
    return groups


def make_optimizer(model: nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    params: Any = param_groups(model, s) if s.param_lr else [p for p in model.parameters() if p.requires_grad]
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.lr, weight_decay=s.weight_decay)
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    raise ValueError(f"unknown optimizer {s.optimizer!r}; use 'adam' or 'sgd'")


def rng_state() -> dict[str, Any]:
    # plain Python values and tensors only, so checkpoints load with torch.load(weights_only=True)
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                                                    int(has_gauss), float(cached)],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class DiskFullError(OSError):
    """A run file could not be written because the disk (or quota) is full; names the file."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(errno.ENOSPC, f"no space left on device while writing {path}; free space and rerun to resume",
                         str(path))

    def __str__(self) -> str:
        return str(self.strerror)


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC / EDQUOT, or torch's short-write errors from ``torch.save`` on a full disk."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("unexpected pos" in text or "file write failed" in text)


@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turn a full disk while writing ``path`` into :class:`DiskFullError` (other errors pass)."""
    try:
        yield
    except DiskFullError:
        raise
    except (OSError, RuntimeError) as exc:
        if is_disk_full(exc):
            raise DiskFullError(path) from exc
        raise


class _ValuePickler(pickle.Pickler):
    """A pickler without memo: its bytes follow the values alone, not which objects happen to be shared
    (a resumed run's history rows hold other string objects than an uninterrupted run's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast = True


_BY_VALUE = types.ModuleType("salkd_pickle_by_value")
_BY_VALUE.Pickler = _ValuePickler  # type: ignore[attr-defined]


def save_torch(path: Path, obj: Mapping[str, Any]) -> None:
    """``torch.save`` atomically; a full disk raises :class:`DiskFullError` naming ``path``.

    Identical contents give byte-identical files: the file is written through an open handle (torch then
    names the archive ``archive``, not after the temporary file) and pickled by value (:class:`_ValuePickler`)."""
    with writing(path), atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            torch.save(dict(obj), fh, pickle_module=_BY_VALUE)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """``torch.load`` of a run's checkpoint (weights only); a truncated or corrupt file raises
    :class:`salkd.runs.RunError` naming it and what to do."""
    from salkd.runs import RunError

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise RunError(f"{path} is truncated or corrupt ({type(exc).__name__}); delete it to restart that run "
                       f"from its start (or rerun with --force)") from exc
    if not isinstance(state, dict) or "model" not in state:
        raise RunError(f"{path} is not a salkd checkpoint (no 'model' entry); delete it to restart that run")
    return state


def write_history(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    w.writerows(rows)
    with writing(path):
        write_text(path, buf.getvalue())


def precision_context(precision: str, device: torch.device) -> tuple[Callable[[], Any], bool]:
    """Return (autocast context factory, use GradScaler). ``"auto"`` is resolved by
    :func:`salkd.device.resolve_precision` (fp16 on CUDA, bf16 on a native-bf16 CPU, else fp32)."""
    import contextlib

    from salkd.device import resolve_precision

    precision = resolve_precision(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext, False
    if precision == "bf16":
        return (lambda: torch.autocast(device.type, dtype=torch.bfloat16)), False
    if precision == "fp16":
        if device.type != "cuda":
            raise ValueError("precision='fp16' needs CUDA; on CPU use 'bf16' or 'fp32'")
        return (lambda: torch.autocast("cuda", dtype=torch.float16)), True
    raise ValueError(f"unknown precision {precision!r}; use fp32, bf16, fp16 or auto")


def progress(total: int, initial: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    disable = (not enabled) or os.environ.get("SALKD_PROGRESS", "1") == "0"
    # Under papermill the text bar is redrawn rarely, so logs stay short.
    return tqdm(total=total, initial=initial, disable=disable, desc=desc, mininterval=2.0,
                dynamic_ncols=True, leave=True)


def json_roundtrip(obj: Any) -> Any:
    """Normalize to what JSON gives back (tuples -> lists, paths -> strings)."""
    import json

    return json.loads(json.dumps(obj, default=str))


def read_history(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [dict(r) for r in csv.DictReader(fh)]
