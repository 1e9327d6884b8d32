"""``python -m salkd.bench plan [--profile paper]``: the GPU plan of a profile, on paper.

For every training stage of the profile it lists the runs the notebooks make (the same names as the run
folders: :func:`jobs`), and for each distinct (model, resolution) it measures on this CPU:

* **MACs** of one training forward at batch 1 (``torch.utils.flop_counter``, as
  :func:`salkd.bench.cost.macs_flop_counter`); a training step costs ``3 x 2 x MACs x batch`` FLOPs (forward, and a
  backward of about twice the forward);
* **memory per GPU**: the peak bytes of live tensors during one forward + backward at the per-GPU batch (fp32,
  activations saved for backward, temporaries and gradients; parameters excluded), measured with the tracker of
  :mod:`salkd.bench.cost`, plus parameters and optimizer state (Adam: 2 copies, SGD with momentum: 1). It is
  measured at batches 1 and 2 and at the per-GPU batch itself when that stays under ``--max-measure-gb`` and
  ``--max-measure-gflop`` (a couple of seconds on a laptop CPU); otherwise it is extrapolated linearly from
  batches 1 and 2 (activation memory is linear in the batch) and marked ``~``.

Steps per run are ``max_iters`` when the stage has one, else ``epochs x (training frames // batch)``, with the
training set sizes of :data:`TRAIN_FRAMES` (or ``--train-frames task=N``). Hours assume a GPU of
:data:`GPU` class: ``FLOPs / (peak x utilization)`` plus a fixed host overhead per step (the trainer assembles
each batch on the host, synchronously). On 8 GPUs a stage with at least 8 runs runs them side by side (one
per GPU); a stage with fewer runs uses DDP over the same global batch.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import torch
from torch import nn

from salkd.bench.cost import MB, _LiveTensorTracker, count_params

__all__ = ["Job", "GPU", "TRAIN_FRAMES", "jobs", "step_macs", "train_peak_bytes", "plan", "main"]


@dataclass(frozen=True)
class GPUClass:
    """The assumed accelerator: name, dense fp16/bf16 tensor peak, sustained fraction, per-step host overhead."""

    name: str = "A100-class (A100 80GB SXM)"
    peak_tflops: float = 312.0          # dense fp16 / bf16 tensor-core peak (NVIDIA A100 datasheet)
    utilization: float = 0.30           # sustained fraction of peak assumed for these conv nets with AMP
    step_overhead_s: float = 0.02       # host side per optimizer step: batch assembly, launch, loss sync
    memory_gb: float = 80.0

    @property
    def sustained_flops(self) -> float:
        return self.peak_tflops * 1e12 * self.utilization


GPU = GPUClass()

#: training frames per source (``fixation``: the fixation training split; ``vsod_videos``: the VSOD video training
#: frames of stage 2; stage 1 of fastvsod is sized in iterations). ``exact`` says whether the number is a count of
#: the dataset or an assumption (override with ``--train-frames task=N`` or ``--data task=PATH``).
TRAIN_FRAMES: dict[str, tuple[int, str]] = {
    "fixation": (50_000, "assumed: AVS1K trainSet frame count (not counted here; pass --train-frames or --data)"),
    "vsod_videos": (12_000, "assumed: DAVIS-2016 train (2,079 frames, counted on ../shared/data) minus the carved "
                            "validation sequences, plus DAVSOD's training set (~10k frames, assumed)"),
}


@dataclass(frozen=True)
class Job:
    """One training run of the profile (``name`` as its run folder), or the teacher maps of one resolution
    (``kind="maps"``: a forward over the training frames, no backward)."""

    stage: str
    name: str
    model: str
    kwargs: tuple[tuple[str, Any], ...]
    res: int
    inputs: str                 # "frame" | "pair" | "flow"
    method: str = "forward"     # "forward" | "forward_train"
    epochs: int = 1
    max_iters: int | None = None
    batch: int = 1
    frames: str = "fixation"    # key of TRAIN_FRAMES
    optimizer: str = "adam"
    kind: str = "train"         # "train" | "maps"

    @property
    def model_key(self) -> tuple[str, tuple[tuple[str, Any], ...], int, str, str]:
        return (self.model, self.kwargs, self.res, self.inputs, self.method)


def _kw(**kw: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(kw.items()))


def jobs(cfg: Mapping[str, Any]) -> list[Job]:
    """The training runs the notebooks make for profile ``cfg`` (01 teachers, 02-03 skd, 04 uvanet, 05 fastvsod,
    06 ablations), each once (runs shared between experiments are reused, as in the run folders)."""
    out: dict[tuple[str, str], Job] = {}

    def add(job: Job) -> None:
        out.setdefault((job.stage, job.name), job)

    tc, sc, uc, fc = cfg["teacher"], cfg["skd"], cfg["uvanet"], cfg["fastvsod"]
    t_res = int(max(tc["res"]) if isinstance(tc["res"], (list, tuple)) else tc["res"])
    t_kw = {} if tc.get("width") is None else {"width": float(tc["width"])}
    temporal = str(tc["temporal"])
    for arch in [*tc["spatial"], temporal]:
        add(Job("teachers", f"{arch}-fixation", f"teacher_{arch}", _kw(**t_kw), t_res,
                "flow" if arch == "tsnet" else "frame", "forward_train" if arch == "dva" else "forward",
                epochs=int(tc["epochs"]), batch=int(tc["batch"])))
    maps: set[tuple[str, int]] = set()

    def skd_pair(teacher: str, res: int, mu: float, unl: str = "") -> None:
        common = dict(epochs=int(sc["epochs"]), batch=int(sc["batch"]))
        add(Job("skd_students", f"{teacher}-{res}-mu{mu:g}{unl}-spatial", "skd_spatial", (), res, "frame", **common))
        add(Job("skd_students", f"{temporal}-{res}-mu{mu:g}{unl}-temporal", "skd_temporal", (), res, "pair", **common))
        add(Job("skd_st", f"{teacher}-{res}-mu{mu:g}{unl}", "skd_st", (), res, "pair", epochs=int(sc["st_epochs"]),
                batch=int(sc["batch"])))
        maps.update({(teacher, res), (temporal, res)})

    for teacher in sc["teachers"]:
        for res in sc["resolutions"]:
            skd_pair(str(teacher), int(res), float(sc["mu"]))
    t0, r0 = str(sc["teachers"][0]), int(sc["res"])
    skd_pair(t0, r0, float(sc["mu"]))
    add(Job("skd_st", f"scratch-{r0}-e{int(sc['epochs']) + int(sc['st_epochs'])}", "skd_st", (), r0, "pair",
            epochs=int(sc["epochs"]) + int(sc["st_epochs"]), batch=int(sc["batch"])))
    for mu in sc["mu_sweep"]:
        skd_pair(t0, r0, float(mu))
    # issue 16: students that also learn from video only the teacher labels (salkd.papers.unlabeled; their
    # training set is larger than the split's, which the frame counts here do not include)
    if sc.get("unlabeled"):
        skd_pair(t0, r0, float(sc["mu"]), "-unl")

    def uva_pair(teacher: str | None, res: int, block: str, unl: str = "") -> None:
        name = f"{block}-{teacher or 'scratch'}-{res}{unl}"
        add(Job("uva_student", name, "uva_student", _kw(block=block), res, "pair", epochs=int(uc["epochs"]),
                batch=int(uc["batch"])))
        add(Job("uva_st", name, "uva_st", _kw(block=block), res, "pair", epochs=int(uc["st_epochs"]),
                batch=int(uc["batch"])))
        if teacher:
            maps.update({(teacher, res), (temporal, res)})

    for teacher in uc["teachers"]:
        for res in uc["resolutions"]:
            uva_pair(str(teacher), int(res), "cares")
    blocks = set(uc.get("blocks", ["cares", "mb", "mbse"]))
    from salkd.papers.uvanet import FIG6_VARIANTS

    for _, block, distill in FIG6_VARIANTS:
        if block in blocks:
            uva_pair(str(uc["teachers"][0]) if distill else None, int(uc["res"]), block)
    if uc.get("unlabeled"):
        uva_pair(str(uc["teachers"][0]), int(uc["res"]), "cares", "-unl")
    for arch, res in sorted(maps):   # teacher maps: one forward of the teacher over the training frames per size
        add(Job("teacher maps", f"{arch}->{res}", f"teacher_{arch}", _kw(**t_kw), t_res,
                "flow" if arch == "tsnet" else "frame", batch=int(tc["batch"]), kind="maps"))

    res, width, backbone = int(fc["res"]), float(fc["width"]), str(fc["backbone"])
    s1kw = dict(backbone=backbone, width=width, fusion="attention")
    add(Job("fastvsod_stage1", f"{backbone}-{res}", "fastvsod", _kw(**s1kw), res, "frame", "forward_train",
            epochs=int(fc["stage1_epochs"]), max_iters=fc.get("stage1_max_iters"), batch=int(fc["batch"]),
            frames="vsod_videos", optimizer="sgd"))
    from salkd.papers.fastvsod import TABLE3_VARIANTS, _tag

    def stage2(sd: bool = True, td: bool = True, fe: str | None = "train", fusion: str = "attention",
               alpha: float | None = None) -> None:
        a = float(fc["alpha"] if alpha is None else alpha)
        pairs = td or fe is not None
        kw = dict(s1kw, fusion=fusion, encoder=fe is not None, keep_encoder_at_test=fe == "test")
        add(Job("fastvsod_stage2", f"{_tag(sd, td, fe)}-{fusion}-a{a:g}", "fastvsod", _kw(**kw), res,
                "pair" if pairs else "frame", "forward_train", epochs=int(fc["stage2_epochs"]),
                max_iters=fc.get("stage2_max_iters"), batch=int(fc["batch"]), frames="vsod_videos", optimizer="sgd"))

    stage2()
    for variant in TABLE3_VARIANTS.values():
        stage2(**variant)
    for fusion in fc["fusions"]:
        stage2(fusion=str(fusion))
    for alpha in fc["alpha_sweep"]:
        stage2(alpha=float(alpha))
    return list(out.values())


class _Call(nn.Module):
    """``model.<method>(*inputs)`` as a module call (for the counters), outputs flattened to a list."""

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.model, self.method = model, method

    def forward(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        out = getattr(self.model, self.method)(*inputs)
        if isinstance(out, torch.Tensor):
            return [out]
        if isinstance(out, dict):
            return [v for v in out.values() if isinstance(v, torch.Tensor)]
        return [v for v in out if isinstance(v, torch.Tensor)]


def _inputs(kind: str, res: int, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    frame = torch.rand(batch, 3, res, res, generator=g)
    if kind == "frame":
        return (frame,)
    if kind == "pair":
        return frame, torch.rand(batch, 3, res, res, generator=g)
    if kind == "flow":
        return frame, torch.randn(batch, 2, res, res, generator=g)
    raise ValueError(f"unknown input kind {kind!r}")


def _build(job: Job) -> nn.Module:
    from salkd.models import build

    torch.manual_seed(0)
    return build(job.model, **dict(job.kwargs))


def step_macs(model: nn.Module, job: Job) -> int:
    """MACs of one training forward (``job.method``) at batch 1."""
    from salkd.bench.cost import macs_flop_counter

    model.train()
    return macs_flop_counter(_Call(model, job.method), _inputs(job.inputs, job.res, 1))


def train_peak_bytes(model: nn.Module, job: Job, batch: int) -> int:
    """Peak bytes of live tensors in one training forward + backward at ``batch`` (fp32): activations saved for
    backward, temporaries and parameter gradients; parameters and buffers excluded. Teacher maps
    (``kind="maps"``): a forward without gradients."""
    call = _Call(model, job.method)
    tracker = _LiveTensorTracker()
    for t in list(model.parameters()) + list(model.buffers()):
        tracker.ignore.add(t.untyped_storage().data_ptr())
    model.train(job.kind == "train")
    args = _inputs(job.inputs, job.res, batch)
    try:
        with torch.set_grad_enabled(job.kind == "train"), tracker:
            for a in args:
                tracker.track(a)
            outs = call(*args)
            if job.kind == "train":
                loss = sum(o.float().mean() for o in outs)
                loss.backward()
                del loss
            del outs
    finally:
        model.zero_grad(set_to_none=True)
    return int(tracker.peak)


@dataclass
class ModelFigures:
    """Measured once per (model, kwargs, res, inputs, method)."""

    params: int
    macs: int
    peaks: dict[int, tuple[float, bool]] = field(default_factory=dict)  # per-GPU batch -> (bytes, extrapolated)


def _measure(job: Job, batches: Iterable[int], max_bytes: float, max_flop: float,
             cache: dict[Any, ModelFigures]) -> ModelFigures:
    """Params, MACs and the training peak at each of ``batches`` (measured when the batch's predicted peak is
    at most ``max_bytes`` and its step at most ``max_flop``, else extrapolated from batches 1 and 2)."""
    key = (job.model_key, job.kind)
    fig = cache.get(key)
    need = sorted({int(b) for b in batches} - set(fig.peaks if fig else ()))
    if fig is not None and not need:
        return fig
    model = _build(job)
    if fig is None:
        fig = cache[key] = ModelFigures(count_params(model), step_macs(model, job))
    probe = {b: train_peak_bytes(model, job, b) for b in (1, 2) if b not in fig.peaks}
    fig.peaks.update({b: (float(v), False) for b, v in probe.items()})
    p1, p2 = fig.peaks[1][0], fig.peaks[2][0]
    for b in need:
        if b in fig.peaks:
            continue
        predicted = p1 + (p2 - p1) * (b - 1)
        small = predicted <= max_bytes and 6 * fig.macs * b <= max_flop
        fig.peaks[b] = (float(train_peak_bytes(model, job, b)), False) if small else (predicted, True)
    return fig


def _steps(job: Job, frames: Mapping[str, int]) -> int:
    if job.kind == "maps":
        return math.ceil(frames[job.frames] / job.batch)
    if job.max_iters:
        return int(job.max_iters)
    return int(job.epochs) * max(1, frames[job.frames] // job.batch)


@dataclass
class StageRow:
    stage: str
    runs: int
    models: str
    batch: int
    gflop_step: str
    steps: int
    pflop: float
    hours_1: float
    hours_8: float
    mem_1: str
    mem_8: str


def _fmt_range(values: Sequence[float], fmt: str = "{:.3g}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if math.isclose(lo, hi, rel_tol=1e-3) else f"{fmt.format(lo)}-{fmt.format(hi)}"


def plan(cfg: Mapping[str, Any], *, frames: Mapping[str, int] | None = None, gpu: GPUClass = GPU, n_gpus: int = 8,
         max_measure_gb: float = 3.0, max_measure_gflop: float = 300.0,
         progress: bool = True) -> tuple[list[StageRow], list[dict[str, Any]]]:
    """The plan of profile ``cfg``: one :class:`StageRow` per stage (in order) and one dict per job."""
    frames = {k: v[0] for k, v in TRAIN_FRAMES.items()} | dict(frames or {})
    cache: dict[Any, ModelFigures] = {}
    per_job: list[dict[str, Any]] = []
    all_jobs = jobs(cfg)
    for i, job in enumerate(all_jobs):
        b1 = job.batch
        b8 = max(1, job.batch // n_gpus)
        if progress:
            print(f"\r[plan] {i + 1}/{len(all_jobs)} {job.stage} {job.name} ...", end="", flush=True)
        fig = _measure(job, (b1, b8), max_measure_gb * 2**30, max_measure_gflop * 1e9, cache)
        factor = 3 if job.kind == "train" else 1
        flop_step = factor * 2 * fig.macs * job.batch
        steps = _steps(job, frames)
        state = fig.params * 4 * ((2 if job.optimizer == "sgd" else 3) if job.kind == "train" else 1)
        t1 = steps * (flop_step / gpu.sustained_flops + gpu.step_overhead_s)
        t8_ddp = steps * (flop_step / (n_gpus * gpu.sustained_flops) + gpu.step_overhead_s)
        per_job.append({"stage": job.stage, "name": job.name, "model": job.model, "kwargs": dict(job.kwargs),
                        "res": job.res, "batch": job.batch, "params": fig.params, "macs": fig.macs,
                        "flop_step": flop_step, "steps": steps, "flop": flop_step * steps, "seconds_1gpu": t1,
                        "seconds_8gpu_ddp": t8_ddp,
                        "mem_1gpu": state + fig.peaks[b1][0], "mem_1gpu_extrapolated": fig.peaks[b1][1],
                        "mem_8gpu": state + fig.peaks[b8][0], "mem_8gpu_extrapolated": fig.peaks[b8][1]})
    if progress:
        print("\r" + " " * 100 + "\r", end="", flush=True)
    rows = []
    for stage in dict.fromkeys(j["stage"] for j in per_job):
        js = [j for j in per_job if j["stage"] == stage]
        one = sum(j["seconds_1gpu"] for j in js)
        if len(js) >= n_gpus:   # independent runs side by side, one per GPU
            eight = max(one / n_gpus, max(j["seconds_1gpu"] for j in js))
        else:
            eight = sum(j["seconds_8gpu_ddp"] for j in js)

        def mem(col: str) -> str:
            gb = [j[col] / 2**30 for j in js]
            approx = "~" if any(j[f"{col}_extrapolated"] for j in js) else ""
            return approx + _fmt_range(gb, "{:.2f}") + " GB"

        rows.append(StageRow(stage, len(js), ", ".join(dict.fromkeys(
            f"{j['model']}" + (f"[{j['kwargs'].get('backbone')}]" if j["kwargs"].get("backbone") else "") for j in js)),
            js[0]["batch"], _fmt_range([j["flop_step"] / 1e9 for j in js]), sum(j["steps"] for j in js),
            sum(j["flop"] for j in js) / 1e15, one / 3600, eight / 3600, mem("mem_1gpu"), mem("mem_8gpu")))
    return rows, per_job


def markdown(rows: Sequence[StageRow], gpu: GPUClass = GPU, n_gpus: int = 8) -> str:
    head = ["stage", "runs", "models", "batch", "GFLOP / step", "steps (all runs)", "PFLOP", "hours, 1 GPU",
            f"hours, {n_gpus} GPUs", "memory / GPU, 1 GPU", f"memory / GPU, {n_gpus} GPUs"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(f"| {r.stage} | {r.runs} | {r.models} | {r.batch} | {r.gflop_step} | {r.steps:,} | {r.pflop:.2f} | "
                     f"{r.hours_1:.2f} | {r.hours_8:.2f} | {r.mem_1} | {r.mem_8} |")
    tot1, tot8 = sum(r.hours_1 for r in rows), sum(r.hours_8 for r in rows)
    lines.append(f"| **total** | {sum(r.runs for r in rows)} | | | | {sum(r.steps for r in rows):,} | "
                 f"{sum(r.pflop for r in rows):.2f} | **{tot1:.1f}** | **{tot8:.1f}** | | |")
    return "\n".join(lines)


def _count_frames(data: Mapping[str, str], cfg: Mapping[str, Any]) -> dict[str, int]:
    """Training frames of user datasets (``--data task=PATH``), as the profile splits them."""
    from salkd.context import Context

    ctx = Context(profile=str(cfg["name"]), data=dict(data), progress=False)
    out = {}
    for task, path in data.items():
        n = sum(len(v.frames) for v in ctx.dataset(task, "train").videos)
        out["fixation" if task == "fixation" else "vsod_videos"] = n
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from salkd.config import get_profile, profile_names

    ap = argparse.ArgumentParser(prog="python -m salkd.bench plan", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="paper", choices=profile_names())
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="profile override")
    ap.add_argument("--train-frames", action="append", default=[], metavar="SOURCE=N",
                    help=f"training frames per source ({', '.join(TRAIN_FRAMES)})")
    ap.add_argument("--data", action="append", default=[], metavar="TASK=PATH", help="count a dataset's training frames")
    ap.add_argument("--gpus", type=int, default=8)
    ap.add_argument("--utilization", type=float, default=GPU.utilization)
    ap.add_argument("--peak-tflops", type=float, default=GPU.peak_tflops)
    ap.add_argument("--max-measure-gb", type=float, default=3.0,
                    help="measure the peak at a batch when predicted below this (GB), else extrapolate")
    ap.add_argument("--max-measure-gflop", type=float, default=300.0,
                    help="... and when one forward + backward at that batch is below this (GFLOP)")
    ap.add_argument("--jobs", action="store_true", help="also print one line per run")
    a = ap.parse_args(argv)
    overrides = dict(kv.split("=", 1) for kv in a.set)
    cfg = get_profile(a.profile, overrides)
    frames = {k: int(v) for k, v in (kv.split("=", 1) for kv in a.train_frames)}
    unknown = set(frames) - set(TRAIN_FRAMES)
    if unknown:
        ap.error(f"--train-frames: unknown source(s) {sorted(unknown)}; choose from {sorted(TRAIN_FRAMES)}")
    if a.data:
        frames.update(_count_frames(dict(kv.split("=", 1) for kv in a.data), cfg))
    gpu = GPUClass(peak_tflops=a.peak_tflops, utilization=a.utilization)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows, per_job = plan(cfg, frames=frames, gpu=gpu, n_gpus=a.gpus, max_measure_gb=a.max_measure_gb,
                         max_measure_gflop=a.max_measure_gflop)
    if a.jobs:
        for j in per_job:
            print(f"{j['stage']:<16} {j['name']:<28} res {j['res']:>3}  batch {j['batch']:>3}  "
                  f"{j['flop_step'] / 1e9:10.2f} GFLOP/step  {j['steps']:>7} steps  {j['seconds_1gpu'] / 3600:7.3f} h  "
                  f"{j['mem_1gpu'] / 2**30:6.2f} GB")
    print(f"profile {a.profile!r} on {gpu.name}: {gpu.peak_tflops:g} TFLOPS dense fp16/bf16 peak x {gpu.utilization:.0%} "
          f"sustained = {gpu.sustained_flops / 1e12:.0f} TFLOPS, + {gpu.step_overhead_s * 1e3:.0f} ms host time per step")
    used = {k: v[0] for k, v in TRAIN_FRAMES.items()} | frames
    for k, (n, note) in TRAIN_FRAMES.items():
        print(f"training frames {k}: {used[k]:,}" + ("" if k in frames else f" ({note})"))
    print("memory / GPU: parameters + optimizer state + measured peak of one fp32 forward + backward at the per-GPU "
          "batch on CPU (~: extrapolated linearly from batches 1 and 2)")
    print(markdown(rows, gpu, a.gpus))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
