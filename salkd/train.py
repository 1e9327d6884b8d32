"""One training engine for every stage of the three papers.

``fit(model, loss_fn, dataset, run, settings, val_fn=..., config=...)`` trains any model on any
dataset of dict samples with a stage-specific loss closure ``loss_fn(net, batch) -> (loss, logs)``.

* Optimizers and LR policies of the papers: Adam (skd: lr 1e-3, batch 128; uvanet: lr 5e-4,
  batch 96) and SGD with momentum, weight decay and the poly policy ``lr·(1 - iter/max_iter)^0.9``
  (fastvsod Sec. 4.1).
* Deterministic: weights from the seed, a per-epoch permutation from ``(seed, epoch)``, per-item
  augmentation from the dataset's own ``(seed, epoch, index)`` RNG. An interrupted run resumed with
  ``resume=True`` ends with the same weights as an uninterrupted one (tested on CPU).
* Checkpoints every ``ckpt_every`` steps and at each epoch end, written atomically; validation
  each epoch; ``best.pt`` kept on ``select_metric``; ``history.csv`` rewritten after every epoch.
* Mixed precision: fp16 autocast + GradScaler on CUDA (``precision="auto"``), bf16 autocast on CPU
  when asked (``precision="bf16"``); fp32 otherwise.
* Multi-process data parallel with ``torchrun`` (``DistributedDataParallel``; gloo on CPU, nccl on
  GPU): each process takes its slice of the same global batch, so N processes give the result of
  one process with that global batch (up to float summation order; BatchNorm statistics are per
  process, as in plain DDP).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch
from torch import nn

from salkd.atomic import atomic_path, write_json, write_text
from salkd.runs import RunError, config_matches, environment, is_complete, read_json, write_config

__all__ = ["TrainSettings", "TrainResult", "fit", "seed_everything", "resolve_device", "ModelHandle",
           "collate", "distributed_info"]

LossFn = Callable[["ModelHandle", dict[str, Any]], "tuple[torch.Tensor, dict[str, float]]"]
ValFn = Callable[[nn.Module], Mapping[str, float]]


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


@dataclass
class TrainResult:
    """What :func:`fit` returns: the run folder, the final metrics and the history rows."""

    run: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    model: nn.Module | None = None


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> the local CUDA device when present (per ``LOCAL_RANK``), else CPU."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} was asked for but CUDA is not available here; use device='cpu'")
    return dev


def distributed_info() -> tuple[int, int]:
    """``(rank, world_size)``; initializes the process group when launched by ``torchrun``."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def collate(samples: list[Mapping[str, Any]], device: torch.device) -> dict[str, Any]:
    """Stack a list of dict samples into a batch on ``device``."""
    out: dict[str, Any] = {}
    for key in samples[0]:
        vals = [s[key] for s in samples]
        if isinstance(vals[0], torch.Tensor):
            out[key] = torch.stack(vals).to(device, non_blocking=True)
        elif isinstance(vals[0], np.ndarray):
            out[key] = torch.from_numpy(np.stack(vals)).to(device)
        elif isinstance(vals[0], (int, float, np.integer, np.floating)):
            out[key] = torch.tensor(vals, device=device)
        else:
            out[key] = vals
    return out


class _MethodAdapter(nn.Module):
    """Lets DDP wrap calls to ``forward`` *and* ``forward_train`` of the same module."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.inner, method)(*args, **kwargs)


class ModelHandle:
    """What a loss closure receives: ``net(x...)`` and ``net.forward_train(x...)`` work unchanged.

    Calls go through the (optionally DDP-wrapped) adapter so gradient synchronization sees them;
    other attributes are read from the underlying model.
    """

    def __init__(self, model: nn.Module, wrapped: nn.Module, autocast: Callable[[], Any]) -> None:
        self.module = model
        self._wrapped = wrapped
        self._autocast = autocast

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._autocast():
            return self._wrapped("forward", *args, **kwargs)

    def forward_train(self, *args: Any, **kwargs: Any) -> Any:
        with self._autocast():
            return self._wrapped("forward_train", *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)


def _lr_at(settings: TrainSettings, step: int, total: int) -> float:
    if settings.lr_policy == "constant":
        return settings.lr
    if settings.lr_policy == "poly":
        return settings.lr * max(0.0, 1.0 - step / max(1, total)) ** settings.poly_power
    raise ValueError(f"unknown lr_policy {settings.lr_policy!r}; use 'constant' or 'poly'")


def _make_optimizer(model: nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.lr, weight_decay=s.weight_decay)
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    raise ValueError(f"unknown optimizer {s.optimizer!r}; use 'adam' or 'sgd'")


def _rng_state() -> dict[str, Any]:
    # plain Python values and tensors only, so checkpoints load with torch.load(weights_only=True)
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                                                    int(has_gauss), float(cached)],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_torch(path: Path, obj: Mapping[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(dict(obj), tmp)


def _write_history(path: Path, rows: list[dict[str, Any]]) -> None:
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


def _precision_context(precision: str, device: torch.device) -> tuple[Callable[[], Any], bool]:
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


def _progress(total: int, initial: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    disable = (not enabled) or os.environ.get("SALKD_PROGRESS", "1") == "0"
    # Under papermill the text bar is redrawn rarely, so logs stay short.
    return tqdm(total=total, initial=initial, disable=disable, desc=desc, mininterval=2.0,
                dynamic_ncols=True, leave=True)


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    dataset: Any,
    run: str | os.PathLike,
    settings: TrainSettings,
    *,
    val_fn: ValFn | None = None,
    config: Mapping[str, Any] | None = None,
    resume: bool = True,
    force: bool = False,
    stop_after_steps: int | None = None,
    desc: str | None = None,
) -> TrainResult:
    """Train ``model`` with ``loss_fn`` on ``dataset`` into the run folder ``run``.

    ``dataset`` is indexable and returns dict samples (``set_epoch(e)`` is called when it exists).
    ``config`` is written to ``config.json`` (the model's ``salkd_spec`` is added under ``"model"``)
    and must match an existing folder's when resuming. A complete run (``metrics.json`` present)
    is not retrained unless ``force``. ``stop_after_steps`` simulates an interruption (tests).
    """
    run = Path(run)
    s = settings
    rank, world = distributed_info()
    device = resolve_device(s.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    n = len(dataset)
    if n == 0:
        raise ValueError(f"{run}: the training set is empty; check the dataset path and its labels")
    global_batch = s.batch_size
    if global_batch > n:
        warnings.warn(f"{run.name}: batch size {global_batch} > {n} training samples; using {n}", stacklevel=2)
        global_batch = n
    global_batch -= global_batch % world
    if global_batch == 0:
        raise ValueError(f"global batch smaller than the number of processes ({world})")
    local_batch = global_batch // world
    steps_per_epoch = n // global_batch
    total = s.epochs * steps_per_epoch
    if s.max_steps is not None:
        total = min(total, s.max_steps)

    full_config: dict[str, Any] = dict(config or {})
    spec = getattr(model, "salkd_spec", None)
    if spec is not None:
        full_config.setdefault("model", spec)
    full_config["train"] = {**s.to_dict(), "progress": None, "effective_batch": global_batch}
    full_config = json_roundtrip(full_config)

    if rank == 0:
        run.mkdir(parents=True, exist_ok=True)
    ckpt_path = run / "checkpoint.pt"
    if force and rank == 0:
        for f in ("checkpoint.pt", "best.pt", "metrics.json", "history.csv"):
            (run / f).unlink(missing_ok=True)
    if (run / "config.json").is_file() and not config_matches(run, full_config):
        if (ckpt_path.is_file() or is_complete(run)) and not force:
            raise RunError(f"{run} holds a run with a different config.json; pass force=True (CLI: --force) "
                           f"to retrain it, or choose another run name")
    if resume and is_complete(run) and config_matches(run, full_config) and not force:
        model.load_state_dict(torch.load(ckpt_path, map_location="cpu", weights_only=True)["model"])
        hist = _read_history(run / "history.csv")
        return TrainResult(run=run, metrics=read_json(run / "metrics.json"), history=hist, model=model)

    seed_everything(s.seed)
    model.to(device)
    if s.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = _make_optimizer(model, s)
    autocast, use_scaler = _precision_context(s.precision, device)
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None

    step = 0
    history: list[dict[str, Any]] = []
    best: float | None = None
    if resume and ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        step, history, best = int(state["step"]), list(state["history"]), state.get("best")
        _set_rng_state(state["rng"])
    if rank == 0:
        write_config(run, full_config)
        write_json(run / "env.json", environment(str(device)) | {"world_size": world})

    wrapped: nn.Module = _MethodAdapter(model)
    if world > 1:
        wrapped = nn.parallel.DistributedDataParallel(
            wrapped, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True)
    net = ModelHandle(model, wrapped, autocast)

    def checkpoint(epoch_done: bool = False) -> None:
        if rank != 0:
            return
        _save_torch(ckpt_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                "scaler": scaler.state_dict() if scaler else None, "step": step,
                                "history": history, "best": best, "rng": _rng_state(),
                                "epoch_done": epoch_done})

    bar = _progress(total, step, s.progress and rank == 0, desc or run.name)
    interrupted = False
    epoch_loss: dict[str, list[float]] = {}
    t_epoch = time.perf_counter()
    seen = 0
    model.train()
    while step < total:
        epoch, pos = divmod(step, steps_per_epoch)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(s.seed * 1_000_003 + epoch)).tolist()
        for b in range(pos, steps_per_epoch):
            if step >= total:
                break
            idx = perm[b * global_batch:(b + 1) * global_batch][rank * local_batch:(rank + 1) * local_batch]
            batch = collate([dataset[i] for i in idx], device)
            if s.channels_last:
                batch = {k: (v.contiguous(memory_format=torch.channels_last)
                             if isinstance(v, torch.Tensor) and v.dim() == 4 else v) for k, v in batch.items()}
            for g in optimizer.param_groups:
                g["lr"] = _lr_at(s, step, total)
            loss, logs = loss_fn(net, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{run}: loss became {loss.item()} at step {step}; lower the learning rate "
                                         f"or check the inputs for NaN (resume restarts from the last checkpoint)")
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                if s.grad_clip:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                if s.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
                optimizer.step()
            step += 1
            seen += global_batch
            epoch_loss.setdefault("loss", []).append(float(loss.detach()))
            for k, v in logs.items():
                epoch_loss.setdefault(k, []).append(float(v))
            fps = seen / max(1e-9, time.perf_counter() - t_epoch)
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}", fps=f"{fps:.0f}", refresh=False)
            if stop_after_steps is not None and step >= stop_after_steps:
                interrupted = True
                checkpoint()
                break
            if s.ckpt_every and step % s.ckpt_every == 0 and step % steps_per_epoch != 0:
                checkpoint()
        if interrupted:
            break
        # end of an epoch (or of the step budget)
        elapsed = time.perf_counter() - t_epoch
        row: dict[str, Any] = {"epoch": epoch + 1, "step": step, "lr": _lr_at(s, step - 1, total),
                               "seconds": round(elapsed, 3), "frames_per_s": round(seen / max(elapsed, 1e-9), 1)}
        row.update({f"train_{k}": float(np.mean(v)) for k, v in epoch_loss.items()})
        if val_fn is not None and rank == 0:
            model.eval()
            with torch.no_grad():
                vals = dict(val_fn(model))
            model.train()
            row.update({f"val_{k}": float(v) for k, v in vals.items()})
            if s.select_metric is not None:
                if s.select_metric not in vals:
                    raise KeyError(f"select_metric {s.select_metric!r} not among validation metrics {sorted(vals)}")
                v = float(vals[s.select_metric])
                better = best is None or (v > best if s.select_mode == "max" else v < best)
                if better and math.isfinite(v):
                    best = v
                    _save_torch(run / "best.pt", {"model": model.state_dict(), "step": step, s.select_metric: v})
        history.append(row)
        checkpoint(epoch_done=True)
        if rank == 0:
            _write_history(run / "history.csv", history)
        epoch_loss, seen, t_epoch = {}, 0, time.perf_counter()
    bar.close()

    metrics: dict[str, Any] = {}
    if not interrupted and rank == 0:
        last = history[-1] if history else {}
        metrics = {k[4:]: v for k, v in last.items() if k.startswith("val_")}
        metrics.update({"steps": step, "epochs": len(history), "train_loss": last.get("train_loss"),
                        "train_seconds": float(sum(r["seconds"] for r in history)),
                        "train_frames_per_s": last.get("frames_per_s"),
                        "select_metric": s.select_metric, "best": best})
        write_json(run / "metrics.json", metrics)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    model.eval()
    return TrainResult(run=run, metrics=metrics, history=history, interrupted=interrupted, model=model)


def json_roundtrip(obj: Any) -> Any:
    """Normalize to what JSON gives back (tuples -> lists, paths -> strings)."""
    import json

    return json.loads(json.dumps(obj, default=str))


def _read_history(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [dict(r) for r in csv.DictReader(fh)]


def iterate_batches(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    """Group an iterable into lists of ``size`` (the last may be shorter)."""
    buf: list[Any] = []
    for it in items:
        buf.append(it)
        if len(buf) == size:
            yield buf
            buf = []
    if buf:
        yield buf
