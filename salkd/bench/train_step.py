"""``python -m salkd.bench train``: training-step throughput per precision (fp32 vs bf16 autocast).

One optimizer step = forward, BCE-with-logits loss on a fixed target map, backward, Adam step, on
structured random frames (:func:`salkd.models.inputs.example_inputs`), the way :class:`salkd.train.Trainer`
runs it (autocast from :func:`salkd.train_state.precision_context`; channels-last optional). The
precisions are measured in *interleaved* rounds (fp32, bf16, fp32, bf16, ...) so that a shared machine's
changing load hits them alike; the median round is reported with the 1-min load average before and after.
The speed of bf16 training says nothing about its accuracy: that needs a full training run
(``--set precision=bf16``) compared with fp32.

The last line is ``train speedup <x>x (bf16 vs fp32, <model> <res>x<res> batch <b>)``.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["measure", "main"]


def _step_fn(model: nn.Module, precision: str, channels_last: bool, inputs: Sequence[torch.Tensor],
             target: torch.Tensor) -> Any:
    from salkd.train_state import precision_context

    m = copy.deepcopy(model).train()
    if channels_last:
        m = m.to(memory_format=torch.channels_last)
        inputs = [x.contiguous(memory_format=torch.channels_last) for x in inputs]
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    autocast, _ = precision_context(precision, torch.device("cpu"))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast():
            out = m(*inputs)
        loss = F.binary_cross_entropy_with_logits(out.float(), target)
        loss.backward()
        opt.step()

    return step


def measure(name: str = "skd_st", res: int = 64, batch: int = 96, *, precisions: Sequence[str] = ("fp32", "bf16"),
            channels_last: bool = False, rounds: int = 5, steps: int = 3, threads: int | None = None,
            seed: int = 0) -> dict[str, Any]:
    """Frames/s of one training step of registry model ``name`` per precision (median of ``rounds``
    interleaved rounds of ``steps`` steps, after one warm-up step each)."""
    from salkd.bench.machine import cpu_info
    from salkd.models import build
    from salkd.models.inputs import example_inputs

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = build(name)
    inputs = list(example_inputs(model, res, batch, seed=seed))
    target = (inputs[0].mean(1, keepdim=True) > 0.5).float()
    load0 = os.getloadavg()[0]
    fns = {p: _step_fn(model, p, channels_last, inputs, target) for p in precisions}
    for fn in fns.values():
        fn()  # warm-up: allocations, oneDNN primitives
    times: dict[str, list[float]] = {p: [] for p in precisions}
    for _ in range(rounds):
        for p, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            times[p].append((time.perf_counter() - t0) / steps)
    fps = {p: batch / statistics.median(t) for p, t in times.items()}
    info = cpu_info()
    return {"model": name, "res": res, "batch": batch, "channels_last": channels_last,
            "threads": torch.get_num_threads(), "fps": fps, "cpu": info.get("model"), "flags": info.get("flags"),
            "mkldnn_bf16": info.get("mkldnn_bf16"), "load_start": load0, "load_end": os.getloadavg()[0],
            "speedup": fps.get("bf16", float("nan")) / fps["fp32"] if "fp32" in fps else float("nan")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m salkd.bench train", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="skd_st")
    p.add_argument("--res", type=int, default=64)
    p.add_argument("--batch", type=int, default=96)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    r = measure(a.model, a.res, a.batch, channels_last=a.channels_last, rounds=a.rounds, steps=a.steps,
                threads=a.threads)
    print(f"machine: {r['cpu']}, flags {','.join(r['flags'] or [])}, oneDNN native bf16 "
          f"{'yes' if r['mkldnn_bf16'] else 'no'}, threads {r['threads']}, load {r['load_start']:.1f}/{r['load_end']:.1f}")
    for prec, v in r["fps"].items():
        print(f"{r['model']} {r['res']}x{r['res']} batch {r['batch']} {prec}"
              f"{' channels-last' if r['channels_last'] else ''}: {v:.1f} frames/s (train step)")
    print(f"train speedup {r['speedup']:.2f}x (bf16 vs fp32, {r['model']} {r['res']}x{r['res']} batch {r['batch']})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
