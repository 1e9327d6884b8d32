"""Static cost of a model: parameters, multiply-accumulates (MACs) and memory footprint.

Definitions (used by ``python -m salkd.bench models`` and stated in its output):

* **params** -- number of elements of all parameters (buffers such as BatchNorm running
  statistics are not counted, here nor in ``params_mb`` / ``mem_mb``).
* **MACs** -- multiply-accumulates of one forward pass. Two independent counters:

  - :func:`macs_flop_counter` uses ``torch.utils.flop_counter.FlopCounterMode`` (ships with
    torch, counts every convolution / matmul aten op, including functional ``bmm`` used by
    attention) and halves its FLOP count (it counts one MAC as 2 FLOPs);
  - :func:`macs_hooks` uses our own forward hooks on ``nn.Conv*``, ``nn.ConvTranspose*`` and
    ``nn.Linear`` modules with the textbook formulas. It does not see functional matmuls,
    so on nets with attention it can be lower; on plain conv nets both agree exactly.

  Element-wise work (ReLU, BatchNorm, pooling, sigmoid) is not counted by either.
* **memory footprint** (``mem_mb``) -- at batch 1 in float32:
  ``parameter bytes + peak bytes of live activations`` during one forward pass under
  ``torch.inference_mode``. "Live activations" are all tensors produced by aten ops during
  the forward (plus the inputs) that are still referenced; tensors sharing a storage (views,
  in-place ops) count once; freed tensors stop counting. This is what an inference engine
  that frees intermediate tensors as soon as possible must hold. Backend scratch space
  (oneDNN/cuDNN workspaces, weight re-layouts) is not included.
  ``act_sum_mb`` is also reported: the sum of the output sizes of every leaf module (the
  memory a naive engine that keeps every layer's output would need), a common alternative
  definition. 1 MB = 2**20 bytes.

The papers' "memory footprint" numbers scale with the square of the input resolution
(skd Table V: 0.14 / 0.58 / 2.31 / 9.24 MB at 32 / 64 / 128 / 256) and are smaller than the
parameter bytes (0.30 M params = 1.2 MB), so they appear to count activations only; compare
them with ``act_peak_mb`` / ``act_sum_mb``.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

__all__ = [
    "MB",
    "Cost",
    "count_params",
    "macs_flop_counter",
    "macs_hooks",
    "activation_peak_bytes",
    "activation_sum_bytes",
    "model_cost",
]

MB = float(2**20)


def _as_tuple(inputs: torch.Tensor | Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    if isinstance(inputs, torch.Tensor):
        return (inputs,)
    return tuple(inputs)


def _unique_params(model: nn.Module) -> list[torch.Tensor]:
    """Parameters of ``model``, each shared tensor once."""
    seen: dict[int, torch.Tensor] = {}
    for p in model.parameters():
        seen.setdefault(id(p), p)
    return list(seen.values())


def count_params(model: nn.Module) -> int:
    """Number of parameter elements of ``model`` (shared parameters counted once)."""
    return sum(p.numel() for p in _unique_params(model))


def _param_bytes(model: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in _unique_params(model))


def macs_flop_counter(model: nn.Module, inputs: torch.Tensor | Sequence[torch.Tensor]) -> int:
    """MACs of one forward pass counted by ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    args = _as_tuple(inputs)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(*args)
    flops = counter.get_total_flops()
    return int(flops) // 2


def _conv_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    """MACs of a (transposed) convolution: each of the input or output elements meets one kernel.

    Conv: out.numel() * (C_in / groups) * prod(kernel).
    ConvTranspose: in.numel() * (C_out / groups) * prod(kernel) (every input pixel scatters
    one kernel into the output); equal to what the aten op performs.
    """
    k = math.prod(module.kernel_size)
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return inp.numel() * (module.out_channels // module.groups) * k
    return out.numel() * (module.in_channels // module.groups) * k


def macs_hooks(model: nn.Module, inputs: torch.Tensor | Sequence[torch.Tensor]) -> int:
    """MACs of one forward pass counted with forward hooks on conv, transposed-conv and linear modules."""
    args = _as_tuple(inputs)
    total = 0

    def hook(module: nn.Module, inp: tuple[Any, ...], out: Any) -> None:
        nonlocal total
        x = inp[0]
        if isinstance(module, nn.modules.conv._ConvNd):
            total += _conv_macs(module, x, out)
        elif isinstance(module, nn.Linear):
            total += out.numel() * module.in_features

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))
    ]
    try:
        with torch.inference_mode():
            model(*args)
    finally:
        for h in handles:
            h.remove()
    return int(total)


class _LiveTensorTracker(TorchDispatchMode):
    """Dispatch mode that tracks the bytes of live tensor storages produced by aten ops."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, int] = {}  # storage key -> nbytes
        self.refs: dict[int, int] = {}  # storage key -> number of live tensors referencing it
        self.current = 0
        self.peak = 0
        self.ignore: set[int] = set()  # storages never counted (parameters, buffers)

    def _release(self, key: int) -> None:
        n = self.refs.get(key, 0) - 1
        if n > 0:
            self.refs[key] = n
            return
        self.refs.pop(key, None)
        self.current -= self.live.pop(key, 0)

    def track(self, t: torch.Tensor) -> None:
        """Count ``t``'s storage as live until every tracked tensor on it is freed."""
        if not isinstance(t, torch.Tensor) or t.layout != torch.strided:
            return
        try:
            storage = t.untyped_storage()
        except (RuntimeError, NotImplementedError):
            return
        key = storage.data_ptr()
        if key == 0 or key in self.ignore:
            return
        if key not in self.live:
            self.live[key] = storage.nbytes()
            self.current += storage.nbytes()
            self.peak = max(self.peak, self.current)
        self.refs[key] = self.refs.get(key, 0) + 1
        weakref.finalize(t, self._release, key)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: D105
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.track(t)
        return out


def activation_peak_bytes(model: nn.Module, inputs: torch.Tensor | Sequence[torch.Tensor]) -> int:
    """Peak bytes of live activation tensors (inputs included, parameters excluded) in one forward.

    See the module docstring for the exact definition.
    """
    args = _as_tuple(inputs)
    tracker = _LiveTensorTracker()
    for t in list(model.parameters()) + list(model.buffers()):
        tracker.ignore.add(t.untyped_storage().data_ptr())
    with torch.inference_mode():
        args = tuple(a.clone() for a in args)  # fresh storages owned by this measurement
        with tracker:
            for a in args:
                tracker.track(a)
            out = model(*args)
        peak = tracker.peak
        del out
    return int(peak)


def activation_sum_bytes(model: nn.Module, inputs: torch.Tensor | Sequence[torch.Tensor]) -> int:
    """Sum of the bytes of every leaf module's output tensors in one forward (plus the inputs)."""
    args = _as_tuple(inputs)
    total = sum(a.numel() * a.element_size() for a in args)

    def hook(module: nn.Module, inp: tuple[Any, ...], out: Any) -> None:
        nonlocal total
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()

    leaves = [m for m in model.modules() if next(iter(m.children()), None) is None]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.inference_mode():
            model(*args)
    finally:
        for h in handles:
            h.remove()
    return int(total)


@dataclass
class Cost:
    """Cost of one model at one input size (batch 1 for memory, per frame for MACs)."""

    params: int
    macs: int
    macs_hooks: int
    params_mb: float
    act_peak_mb: float
    act_sum_mb: float
    mem_mb: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict (for CSV rows)."""
        return asdict(self)


def model_cost(model: nn.Module, inputs: torch.Tensor | Sequence[torch.Tensor]) -> Cost:
    """All cost figures for ``model`` on ``inputs`` (give batch-1 float32 inputs).

    ``macs`` comes from :func:`macs_flop_counter`, ``macs_hooks`` from :func:`macs_hooks`;
    ``mem_mb = params_mb + act_peak_mb``.
    """
    args = _as_tuple(inputs)
    if args and args[0].shape[0] != 1:
        raise ValueError(f"model_cost expects batch-1 inputs, got batch {args[0].shape[0]}")
    was_training = model.training
    model.eval()
    try:
        macs = macs_flop_counter(model, args)
        macs_h = macs_hooks(model, args)
        peak = activation_peak_bytes(model, args)
        act_sum = activation_sum_bytes(model, args)
    finally:
        model.train(was_training)
    pbytes = _param_bytes(model)
    return Cost(
        params=count_params(model),
        macs=macs,
        macs_hooks=macs_h,
        params_mb=pbytes / MB,
        act_peak_mb=peak / MB,
        act_sum_mb=act_sum / MB,
        mem_mb=(pbytes + peak) / MB,
    )


def one_core_cost(model: nn.Module, inputs: Sequence[torch.Tensor], *, frames_per_pass: int = 1,
                  repeats: int = 3) -> dict[str, float]:
    """MACs per output frame and output frames/s of ``model(*inputs)`` on one thread (eager fp32, the
    best of ``repeats`` timed passes after a warm-up; the papers' "one CPU core" protocol, batch as given).
    Returns ``{"macs_per_frame", "fps_1thread", "threads"}``."""
    import time

    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        macs = macs_flop_counter(model, tuple(inputs))
        with torch.inference_mode():
            model(*inputs)
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(*inputs)
                best = min(best, time.perf_counter() - t0)
    finally:
        torch.set_num_threads(prev)
    return {"macs_per_frame": macs / frames_per_pass, "fps_1thread": frames_per_pass / best, "threads": 1}
