"""One training engine for every stage of the three papers.

``fit(model, loss_fn, dataset, run, settings, val_fn=..., config=...)`` trains any model on any
dataset of dict samples with a stage-specific loss closure ``loss_fn(net, batch) -> (loss, logs)``;
it runs a :class:`Trainer` (``prepare`` / ``train_epoch`` / ``end_epoch`` / ``finish``).

* Optimizers and LR policies of the papers: Adam (skd: lr 1e-3, batch 128; uvanet: lr 5e-4,
  batch 96) and SGD with momentum, weight decay and the poly policy ``lr·(1 - iter/max_iter)^0.9``
  (fastvsod Sec. 4.1).
* Deterministic: weights from the seed, a per-epoch permutation from ``(seed, epoch)``, per-item
  augmentation from the dataset's own ``(seed, epoch, index)`` RNG. An interrupted run resumed with
  ``resume=True`` ends with the same weights as an uninterrupted one (tested on CPU).
* Checkpoints every ``ckpt_every`` steps and at each epoch end, written atomically; validation
  each epoch; ``best.pt`` kept on ``select_metric``; ``history.csv`` rewritten after every epoch.
* Mixed precision: ``precision="auto"`` is fp16 autocast + GradScaler on CUDA, bf16 autocast on a CPU
  with native bf16 (oneDNN: AVX512-BF16 / AMX), fp32 elsewhere (:func:`salkd.device.resolve_precision`);
  ``"bf16"`` / ``"fp16"`` / ``"fp32"`` force one. ``env.json`` records the precision used.
* Multi-process data parallel with ``torchrun`` (``DistributedDataParallel``; gloo on CPU, nccl on
  GPU): each process takes its slice of the same global batch, so N processes give the result of
  one process with that global batch (up to float summation order; BatchNorm statistics are per
  process, as in plain DDP).
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from salkd.atomic import write_json
# re-exported: resolve_device, distributed_info and seed_everything live in salkd.device now
from salkd.device import distributed_info, resolve_device, resolve_precision, seed_everything
from salkd.train_state import (TrainSettings, json_roundtrip, lr_at, make_optimizer, precision_context, progress, read_history,
                               rng_state, save_torch, set_rng_state, write_history, writing, load_checkpoint)
from salkd.runs import (RunError, config_changes, config_matches, describe_changes, environment, is_complete, read_json,
                        write_config)
from salkd.threads import apply_thread_policy
from salkd.train_handle import ModelHandle, MethodAdapter, collate
from salkd.timings import (EpochClock, epoch_timing, open_epoch_seconds, read_timings, resume_timings, totals,
                           write_timings)

__all__ = ["TrainSettings", "TrainResult", "Trainer", "TrainingInterrupted", "fit", "seed_everything", "resolve_device", "ModelHandle",
           "collate", "distributed_info"]

LossFn = Callable[["ModelHandle", dict[str, Any]], "tuple[torch.Tensor, dict[str, float]]"]
ValFn = Callable[[nn.Module], Mapping[str, float]]


@dataclass
class TrainResult:
    """What :func:`fit` returns: the run folder, the final metrics and the history rows."""

    run: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    model: nn.Module | None = None
    timings: dict[str, Any] = field(default_factory=dict)   # wall clock (salkd.timings), not in the above


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, in the ``salkd`` command) during training: where it stopped and where a rerun resumes."""

    def __init__(self, run: Path, step: int, resume_step: int) -> None:
        super().__init__(run, step, resume_step)
        self.run, self.step, self.resume_step = run, step, resume_step

    def __str__(self) -> str:
        return (f"interrupted at step {self.step} of {self.run}; rerun the same command to resume "
                f"from step {self.resume_step}")


class Trainer:
    """One training run of :func:`fit`, in steps: ``prepare`` / ``train_epoch`` / ``end_epoch`` / ``finish``.

    ``run()`` drives them; :func:`fit` is ``Trainer(...).run()``. ``prepare`` returns the stored
    result of a complete run (nothing is trained then) and otherwise seeds, builds the optimizer
    and restores a checkpoint; ``train_epoch`` runs the optimizer steps of one epoch (from the
    resumed position) and ``end_epoch`` validates, keeps ``best.pt``, checkpoints and rewrites
    ``history.csv``. The order of every RNG draw is fixed: seed, then (on resume) the checkpoint's
    RNG state, then per epoch the ``(seed, epoch)`` permutation and the dataset's own RNG.
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, dataset: Any, run: str | os.PathLike,
                 settings: TrainSettings, *, val_fn: ValFn | None = None,
                 config: Mapping[str, Any] | None = None, resume: bool = True, force: bool = False,
                 stop_after_steps: int | None = None, desc: str | None = None) -> None:
        self.model, self.loss_fn, self.dataset, self.run_path = model, loss_fn, dataset, Path(run)
        self.settings, self.val_fn, self.config = settings, val_fn, config
        self.resume, self.force, self.stop_after_steps, self.desc = resume, force, stop_after_steps, desc
        self.step = 0
        self.saved_step: int | None = None   # the step of the last checkpoint (where a rerun resumes)
        self.history: list[dict[str, Any]] = []
        self.timings: list[dict[str, Any]] = []   # per closed epoch: seconds, frames/s (timings.json)
        self.best: float | None = None
        self.interrupted = False

    # -- setup -------------------------------------------------------------------------------
    def _plan(self) -> None:
        """Process layout, device, batch sizes, step budget and the full ``config.json``."""
        run, s = self.run_path, self.settings
        self.rank, self.world = distributed_info()
        self.device = resolve_device(s.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        n = self.n = len(self.dataset)
        if n == 0:
            raise ValueError(f"{run}: the training set is empty; check the dataset path and its labels")
        global_batch = s.batch_size
        if global_batch > n:
            warnings.warn(f"{run.name}: batch size {global_batch} > {n} training samples; using {n}", stacklevel=5)
            global_batch = n
        global_batch -= global_batch % self.world
        if global_batch == 0:
            raise ValueError(f"global batch smaller than the number of processes ({self.world})")
        self.global_batch = global_batch
        self.local_batch = global_batch // self.world
        self.steps_per_epoch = n // global_batch
        # an iteration budget (fastvsod Sec. 4.1) replaces epochs; the last epoch may then be partial
        self.total = s.max_iters if s.max_iters is not None else s.epochs * self.steps_per_epoch
        if s.max_steps is not None:
            self.total = min(self.total, s.max_steps)

        full_config: dict[str, Any] = dict(self.config or {})
        spec = getattr(self.model, "salkd_spec", None)
        if spec is not None:
            full_config.setdefault("model", spec)
        full_config["train"] = {**s.to_dict(), "progress": None, "effective_batch": global_batch}
        self.full_config = json_roundtrip(full_config)

    def _complete_result(self) -> TrainResult | None:
        """Check the run folder (clear it on ``force``); the stored result of a complete run, else None."""
        run, force = self.run_path, self.force
        if self.rank == 0:
            run.mkdir(parents=True, exist_ok=True)
        self.ckpt_path = run / "checkpoint.pt"
        if force and self.rank == 0:
            for f in ("checkpoint.pt", "best.pt", "metrics.json", "history.csv", "timings.json"):
                (run / f).unlink(missing_ok=True)
        if (run / "config.json").is_file() and not config_matches(run, self.full_config):
            if (self.ckpt_path.is_file() or is_complete(run)) and not force:
                what = describe_changes(config_changes(run, self.full_config))
                raise RunError(f"{run} holds a run with a different config.json ({what}); pass force=True "
                               f"(CLI: --force) to retrain it, or choose another run name")
        if self.resume and is_complete(run) and config_matches(run, self.full_config) and not force:
            self.model.load_state_dict(load_checkpoint(self.ckpt_path)["model"])
            hist = read_history(run / "history.csv")
            return TrainResult(run=run, metrics=read_json(run / "metrics.json"), history=hist, model=self.model,
                               timings=read_timings(run))
        return None

    def prepare(self) -> TrainResult | None:
        """Seed, build the optimizer and restore the checkpoint; returns the result of a complete run."""
        self._plan()
        done = self._complete_result()
        if done is not None:
            return done
        s, model = self.settings, self.model
        seed_everything(s.seed)
        model.to(self.device)
        if s.channels_last:
            model.to(memory_format=torch.channels_last)
        self.optimizer = make_optimizer(model, s)
        autocast, use_scaler = precision_context(s.precision, self.device)
        self.scaler = torch.amp.GradScaler("cuda") if use_scaler else None
        state = load_checkpoint(self.ckpt_path) if self.resume and self.ckpt_path.is_file() else None
        # a resumed run keeps the thread count it started with: thread counts change the last bits
        apply_thread_policy(keep=state.get("threads") if state else None)
        if state is not None:
            model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scaler is not None and state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            self.step, self.best = int(state["step"]), state.get("best")
            self.history, self.timings = resume_timings(self.run_path, state["history"])
            set_rng_state(state["rng"])
            self.saved_step = self.step
            if self.rank == 0 and self.step > 0:
                print(f"{self.run_path}: resuming from step {self.step} of {self.total}", file=sys.stderr, flush=True)
        if self.rank == 0:
            with writing(self.run_path / "config.json"):
                write_config(self.run_path, self.full_config)
            env = environment(str(self.device), precision=resolve_precision(s.precision, self.device))
            with writing(self.run_path / "env.json"):
                write_json(self.run_path / "env.json", env | {"world_size": self.world})

        wrapped: nn.Module = MethodAdapter(model)
        if self.world > 1:
            wrapped = nn.parallel.DistributedDataParallel(
                wrapped, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True)
        self.net = ModelHandle(model, wrapped, autocast)
        self.bar = progress(self.total, self.step, s.progress and self.rank == 0, self.desc or self.run_path.name)
        self._reset_epoch_stats()
        self._restore_epoch_stats(state.get("epoch_stats") if state else None)
        model.train()
        return None

    def _reset_epoch_stats(self) -> None:
        self.epoch_loss: dict[str, list[float]] = {}
        self.seen = 0
        self.clock = EpochClock()
        self.pending_epoch: int | None = None

    def _epoch_stats(self) -> dict[str, Any]:
        """The running sums of the current epoch (per-step losses, frames), for a mid-epoch checkpoint
        (its seconds go to ``timings.json``)."""
        return {"loss": {k: list(v) for k, v in self.epoch_loss.items()}, "seen": self.seen}

    def _restore_epoch_stats(self, stats: Mapping[str, Any] | None) -> None:
        """Continue the epoch's sums from a mid-epoch checkpoint, so its history row counts every step once.
        An epoch whose steps were all done but not yet closed is closed first by :meth:`run`."""
        if not stats:
            return
        self.epoch_loss = {k: [float(x) for x in v] for k, v in stats["loss"].items()}
        self.seen = int(stats["seen"])
        self.clock = EpochClock(open_epoch_seconds(self.run_path, self.step, stats))
        if self.step > 0 and (self.step % self.steps_per_epoch == 0 or self.step >= self.total):
            self.pending_epoch = (self.step - 1) // self.steps_per_epoch

    def checkpoint(self, epoch_done: bool = False) -> None:
        """Write ``checkpoint.pt`` (rank 0): weights, optimizer, scaler, step, history, best, RNG state;
        then ``timings.json``."""
        if self.rank != 0:
            return
        save_torch(self.ckpt_path, {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                                     "scaler": self.scaler.state_dict() if self.scaler else None, "step": self.step,
                                     "history": self.history, "best": self.best, "rng": rng_state(),
                                     "epoch_done": epoch_done, "threads": torch.get_num_threads(),
                                     "epoch_stats": None if epoch_done else self._epoch_stats()})
        self.saved_step = self.step
        open_epoch = None if epoch_done else {"step": self.step, "seconds": round(self.clock.seconds(), 3)}
        with writing(self.run_path / "timings.json"):
            write_timings(self.run_path, self.timings, open_epoch)

    # -- one epoch ---------------------------------------------------------------------------
    def _batch(self, perm: list[int], b: int) -> dict[str, Any]:
        gb, lb = self.global_batch, self.local_batch
        idx = perm[b * gb:(b + 1) * gb][self.rank * lb:(self.rank + 1) * lb]
        batch = collate([self.dataset[i] for i in idx], self.device)
        if self.settings.channels_last:
            batch = {k: (v.contiguous(memory_format=torch.channels_last)
                         if isinstance(v, torch.Tensor) and v.dim() == 4 else v) for k, v in batch.items()}
        return batch

    def _optimizer_step(self, loss: torch.Tensor) -> None:
        s, optimizer, scaler = self.settings, self.optimizer, self.scaler
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            if s.grad_clip:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if s.grad_clip:
                nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
            optimizer.step()

    def _log_step(self, loss: torch.Tensor, logs: Mapping[str, Any]) -> None:
        self.step += 1
        self.seen += self.global_batch
        self.epoch_loss.setdefault("loss", []).append(float(loss.detach()))
        for k, v in logs.items():
            self.epoch_loss.setdefault(k, []).append(float(v))
        fps = self.seen / max(1e-9, self.clock.seconds())
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{float(loss.detach()):.4f}", fps=f"{fps:.0f}", refresh=False)

    def train_epoch(self, epoch: int) -> bool:
        """The optimizer steps of ``epoch`` from the current step; False when interrupted."""
        s, spe = self.settings, self.steps_per_epoch
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(s.seed * 1_000_003 + epoch)).tolist()
        for b in range(self.step - epoch * spe, spe):
            if self.step >= self.total:
                break
            batch = self._batch(perm, b)
            for g in self.optimizer.param_groups:  # groups of ``param_lr`` at their multiple of the policy's lr
                g["lr"] = lr_at(s, self.step, self.total) * float(g.get("lr_scale", 1.0))
            loss, logs = self.loss_fn(self.net, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{self.run_path}: loss became {loss.item()} at step {self.step}; lower the "
                                         f"learning rate or check the inputs for NaN (resume restarts from the "
                                         f"last checkpoint)")
            self._optimizer_step(loss)
            self._log_step(loss, logs)
            if self.stop_after_steps is not None and self.step >= self.stop_after_steps:
                self.interrupted = True
                self.checkpoint()
                return False
            if s.ckpt_every and self.step % s.ckpt_every == 0 and self.step % spe != 0:
                self.checkpoint()
        return True

    def validate(self) -> dict[str, float]:
        """``val_fn(model)`` in eval mode without gradients (rank 0 only; {} without a ``val_fn``)."""
        if self.val_fn is None or self.rank != 0:
            return {}
        self.model.eval()
        with torch.no_grad():
            vals = dict(self.val_fn(self.model))
        self.model.train()
        return vals

    def _keep_best(self, vals: Mapping[str, Any]) -> None:
        s = self.settings
        if s.select_metric not in vals:
            raise KeyError(f"select_metric {s.select_metric!r} not among validation metrics {sorted(vals)}")
        v = float(vals[s.select_metric])
        better = self.best is None or (v > self.best if s.select_mode == "max" else v < self.best)
        if better and math.isfinite(v):
            self.best = v
            save_torch(self.run_path / "best.pt", {"model": self.model.state_dict(), "step": self.step,
                                                     s.select_metric: v})

    def end_epoch(self, epoch: int) -> None:
        """Validate, keep ``best.pt``, append the history row, checkpoint and rewrite ``history.csv``."""
        s = self.settings
        self.timings.append(epoch_timing(epoch + 1, self.step, self.clock.seconds(), self.seen))
        row: dict[str, Any] = {"epoch": epoch + 1, "step": self.step, "lr": lr_at(s, self.step - 1, self.total)}
        row.update({f"train_{k}": float(np.mean(v)) for k, v in self.epoch_loss.items()})
        if self.val_fn is not None and self.rank == 0:
            vals = self.validate()
            row.update({f"val_{k}": float(v) for k, v in vals.items()})
            if s.select_metric is not None:
                self._keep_best(vals)
        self.history.append(row)
        self.checkpoint(epoch_done=True)
        if self.rank == 0:
            write_history(self.run_path / "history.csv", self.history)
        self._reset_epoch_stats()

    # -- end ---------------------------------------------------------------------------------
    def finish(self) -> TrainResult:
        """Write ``metrics.json`` (rank 0, unless interrupted), wait for every process, return the result."""
        self.bar.close()
        metrics: dict[str, Any] = {}
        history, s = self.history, self.settings
        if not self.interrupted and self.rank == 0:
            last = history[-1] if history else {}
            metrics = {k[4:]: v for k, v in last.items() if k.startswith("val_")}
            metrics.update({"steps": self.step, "epochs": len(history), "train_loss": last.get("train_loss"),
                            "select_metric": s.select_metric, "best": self.best})
            with writing(self.run_path / "metrics.json"):
                write_json(self.run_path / "metrics.json", metrics)
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()
        self.model.eval()
        return TrainResult(run=self.run_path, metrics=metrics, history=history, interrupted=self.interrupted,
                           model=self.model, timings={"epochs": self.timings, **totals(self.timings)})

    def run(self) -> TrainResult:
        """prepare, then train_epoch / end_epoch until the step budget is spent (or interrupted), then finish.
        The run folder is locked meanwhile (a second process on the same run stops with a clear message)."""
        from salkd.locks import locked

        new_folder = not self.run_path.exists()
        try:
            if distributed_info()[0] != 0:
                return self._run()
            with locked(self.run_path, wait=False, what="run folder"):
                return self._run()
        except OSError:  # e.g. a full disk before the first checkpoint: leave no empty run folder behind
            if new_folder and self.rank == 0 and not (self.run_path / "checkpoint.pt").exists():
                shutil.rmtree(self.run_path, ignore_errors=True)
            raise
        except KeyboardInterrupt as exc:
            if isinstance(exc, TrainingInterrupted):
                raise
            raise TrainingInterrupted(self.run_path, self.step, self.saved_step or 0) from exc

    def _run(self) -> TrainResult:
        done = self.prepare()
        if done is not None:
            return done
        if self.pending_epoch is not None:   # interrupted after an epoch's last step, before closing it
            self.end_epoch(self.pending_epoch)
        while self.step < self.total:
            epoch = self.step // self.steps_per_epoch
            if not self.train_epoch(epoch):
                break
            self.end_epoch(epoch)  # end of an epoch (or of the step budget)
        return self.finish()


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
    The steps are those of :class:`Trainer`.
    """
    return Trainer(model, loss_fn, dataset, run, settings, val_fn=val_fn, config=config, resume=resume,
                   force=force, stop_after_steps=stop_after_steps, desc=desc).run()
