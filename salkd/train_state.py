"""The pieces of a training run's state: optimizer, learning-rate schedule, precision, RNG state,
checkpoint and history files (used by :class:`salkd.train.Trainer`)."""
from __future__ import annotations

import csv
import dataclasses
import io
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from salkd.atomic import atomic_path, write_text

__all__ = ["TrainSettings", "lr_at", "make_optimizer", "rng_state", "set_rng_state", "save_torch", "write_history", "read_history",
           "precision_context", "progress", "json_roundtrip"]


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
    seed: int = 0
    ckpt_every: int = 200              # steps between checkpoints (plus one at every epoch end)
    select_metric: str | None = None   # validation metric for best.pt, e.g. "nss" or "max_f"
    select_mode: str = "max"           # "max" | "min"
    precision: str = "fp32"            # "fp32" | "bf16" | "fp16" | "auto"
    channels_last: bool = False
    device: str = "auto"
    grad_clip: float | None = None
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)



def lr_at(settings: TrainSettings, step: int, total: int) -> float:
    if settings.lr_policy == "constant":
        return settings.lr
    if settings.lr_policy == "poly":
        return settings.lr * max(0.0, 1.0 - step / max(1, total)) ** settings.poly_power
    raise ValueError(f"unknown lr_policy {settings.lr_policy!r}; use 'constant' or 'poly'")


def make_optimizer(model: nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
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


def save_torch(path: Path, obj: Mapping[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(dict(obj), tmp)


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
    write_text(path, buf.getvalue())


def precision_context(precision: str, device: torch.device) -> tuple[Callable[[], Any], bool]:
    """Return (autocast context factory, use GradScaler)."""
    import contextlib

    if precision == "auto":
        precision = "fp16" if device.type == "cuda" else "fp32"
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
