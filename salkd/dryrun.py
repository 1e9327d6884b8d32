"""``salkd reproduce --profile paper --dry-run --out DIR``: the user's path at the paper's sizes, on CPU, in minutes.

The dry run executes the same notebooks with the same :func:`salkd.reproduce.reproduce` as a real run, with
a *derived* profile that keeps every model size and resolution of the profile (ResNet-50 fastvsod at 473,
teachers at their resolution, skd / uvanet students at every resolution of the sweeps, every ablation and
sweep value) and changes only the budget (:func:`dry_run_overrides`):

* data: the profile's datasets (user paths for ``paper``) are replaced by tiny synthetic videos
  (3 videos of 4 frames, one per split), at least as large as the largest input (480x480 for fastvsod's 473);
* budget: every ``*epochs`` key is 1, every ``*iters`` / ``*steps`` key 2, every ``batch`` 2 and every
  ``seeds`` 1, so each stage makes one or two optimizer steps; evaluation reads 2 frames per video; the
  speed benchmark measures every model in its quick mode at batch 1 and at ``skd.res`` only;
* ``fastvsod.pretrained``: a file of *random* weights in torchvision's ResNet layout stands in for the
  ImageNet file, so that the loading path runs (nothing is downloaded).

The overrides reach the notebooks' kernels through ``$SALKD_OVERRIDES`` (:func:`salkd.pipeline.env_overrides`);
data and caches go under ``DIR`` (``$SALKD_DATA``, ``$SALKD_CACHE``). Then one stage (fastvsod stage 2, the
full model) is trained again with ``torchrun`` in 2 CPU processes (gloo), from the same stage-1 run. Last,
:func:`check_outputs` checks every run folder (complete, at the profile's resolutions and backbone), every
table, ``CLAIMS.md`` and the DDP run; the last line printed is ``dry run ok: <n> stages``.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from salkd.atomic import write_json
from salkd.declarations import task_of_stage

__all__ = ["DryRunSettings", "DryRunReport", "dry_run_overrides", "changed_keys", "write_random_backbone",
           "check_outputs", "run_ddp", "dry_run", "TRAINING_STAGES"]

#: the stages whose run folders the dry run checks (``data`` is checked through the datasets)
TRAINING_STAGES = ("teachers", "skd_students", "skd_st", "uva_student", "uva_st", "fastvsod_stage1", "fastvsod_stage2",
                   "distill")
#: config sections whose values the dry run leaves alone except for budget keys
_BUDGET_FREE = ("data", "eval", "bench", "references")


@dataclass(frozen=True)
class DryRunSettings:
    """The budget of a dry run: ``batch`` per step, synthetic ``videos`` x ``frames`` per task (one video per
    split), ``eval_frames`` per video, ``steps`` for iteration-sized keys, and the DDP stage and process count."""

    batch: int = 2
    videos: int = 3
    frames: int = 4
    eval_frames: int = 2
    steps: int = 2
    ddp_stage: str = "fastvsod_stage2"
    ddp_processes: int = 2
    ddp_name: str = "full-ddp"


@dataclass
class DryRunReport:
    """What :func:`check_outputs` found: stages with complete runs, run counts and resolutions per stage,
    written tables, and the problems (empty when the dry run passed)."""

    stages: list[str] = field(default_factory=list)
    runs: dict[str, int] = field(default_factory=dict)
    resolutions: dict[str, list[Any]] = field(default_factory=dict)
    steps: dict[str, list[int]] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    figures: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _budget(key: str, value: Any, s: DryRunSettings) -> Any:
    """The dry-run value of one budget key, or ``value`` unchanged (not a budget key)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    if key == "batch":
        return s.batch
    if key == "seeds":
        return 1
    if key.endswith("epochs"):
        return 1
    if "iters" in key or "steps" in key:
        return s.steps
    return value


def _res_of(value: Any) -> int:
    return int(max(value)) if isinstance(value, (list, tuple)) else int(value)


def _data_sizes(cfg: Mapping[str, Any]) -> dict[str, int]:
    """Frame size of the synthetic stand-in per task: the largest input of the profile (at least 64)."""
    fix = [_res_of(cfg["teacher"]["res"])]
    for sec in ("skd", "uvanet"):
        fix += [int(r) for r in cfg[sec].get("resolutions", [])] + [int(cfg[sec]["res"])]
    fc = cfg["fastvsod"]
    vsod = [int(fc["res"]), int(fc.get("pretrained_res") or 0)]
    # a little larger than the input, rounded to 16, so that the low-res cache reduces (as from real frames)
    return {"fixation": max(64, -(-max(fix) // 16) * 16), "vsod": max(64, -(-(max(vsod) + 1) // 16) * 16)}


def dry_run_overrides(cfg: Mapping[str, Any], s: DryRunSettings = DryRunSettings(), *,
                      pretrained: str | os.PathLike | None = None) -> dict[str, Any]:
    """Dotted overrides turning profile ``cfg`` into its dry run: tiny synthetic data, 1-2 steps per stage,
    the same models and resolutions (see the module docstring). ``pretrained``: the stand-in ImageNet file."""
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        if isinstance(value, dict) and key not in _BUDGET_FREE:
            for sub, v in value.items():
                new = _budget(sub, v, s)
                if new != v:
                    out[f"{key}.{sub}"] = new
        elif not isinstance(value, dict):
            new = _budget(key, value, s)
            if new != value:
                out[key] = new
    sizes = _data_sizes(cfg)
    for task, style in (("fixation", "aerial"), ("vsod", "ground")):
        out[f"data.{task}"] = {"source": "synthetic", "n_videos": s.videos, "n_frames": s.frames,
                               "size": [sizes[task], sizes[task]], "style": style}
    out["data.split"] = {"train": 0.34, "val": 0.33}
    out["eval.max_frames_per_video"] = s.eval_frames
    bench = dict(cfg.get("bench") or {})
    # every deployable model, in the benchmark's quick mode at batch 1 and at one resolution (the main
    # students'): the speed tables and claims are built; the per-resolution sweep is a measurement, not a path
    out["bench"] = {**bench, "quick": True, "batch": [1], "res": [int(cfg["skd"]["res"])]}
    if pretrained is not None:
        out["fastvsod.pretrained"] = str(pretrained)
    return out


def changed_keys(base: Mapping[str, Any], derived: Mapping[str, Any], prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """Dotted key -> (base value, derived value) of every leaf that differs between two configs."""
    out: dict[str, tuple[Any, Any]] = {}
    for key in sorted(set(base) | set(derived)):
        a, b = base.get(key), derived.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out.update(changed_keys(a, b, name + "."))
        elif a != b:
            out[name] = (a, b)
    return out


def write_random_backbone(path: str | os.PathLike, backbone: str = "resnet50", width: float = 1.0,
                          seed: int = 0) -> Path:
    """A state_dict file of random weights in torchvision's ResNet key layout (``conv1.weight``,
    ``layer1.0.conv1.weight``, ..., ``fc.*``): a stand-in for the ImageNet file ``fastvsod.pretrained``."""
    import torch

    from salkd.train_state import save_torch
    from salkd.models.resnet import resnet

    torch.manual_seed(seed)
    net = resnet(backbone, width)
    sd = net.state_dict()
    sd["fc.weight"] = torch.randn(1000, int(net.channels[-1])) * 0.01   # torchvision's classifier (ignored)
    sd["fc.bias"] = torch.zeros(1000)
    path = Path(path)
    save_torch(path, sd)
    return path


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration (the kernels papermill starts inherit them)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _expected(cfg: Mapping[str, Any]) -> dict[str, set[int]]:
    """The resolutions each stage must have been trained at (the profile's)."""
    fc = cfg["fastvsod"]
    fv = {int(fc["res"])} | ({int(fc["pretrained_res"])} if fc.get("pretrained_backbones") else set())
    return {"teachers": {_res_of(cfg["teacher"]["res"])},
            "skd_students": {int(r) for r in cfg["skd"]["resolutions"]} | {int(cfg["skd"]["res"])},
            "skd_st": {int(r) for r in cfg["skd"]["resolutions"]} | {int(cfg["skd"]["res"])},
            "uva_student": {int(r) for r in cfg["uvanet"]["resolutions"]} | {int(cfg["uvanet"]["res"])},
            "uva_st": {int(r) for r in cfg["uvanet"]["resolutions"]} | {int(cfg["uvanet"]["res"])},
            "fastvsod_stage1": fv, "fastvsod_stage2": fv,
            "distill": {int(cfg["distill"]["res"]), int(cfg["distill"]["scarcity_res"])}}


def _optional_tables(cfg: Mapping[str, Any]) -> set[str]:
    """Tables of experiments the profile does not switch on (their builders return None): the training on
    unlabeled video (``skd.unlabeled`` / ``uvanet.unlabeled``) and skd's mu sweep (``skd.mu_sweep`` empty, as on
    teacher-labelled data)."""
    out = {stem for stem, sec in (("skd_unlabeled", "skd"), ("uva_unlabeled", "uvanet"))
           if not (cfg.get(sec) or {}).get("unlabeled")}
    return out | ({"skd_fig8_mu"} if not (cfg.get("skd") or {}).get("mu_sweep") else set())


def check_outputs(root: str | os.PathLike, profile: str, cfg: Mapping[str, Any], s: DryRunSettings = DryRunSettings(),
                  *, ddp: bool = True) -> DryRunReport:
    """Check a dry run's folder ``root/<profile>``: every training run complete, at the profile's resolutions
    (fastvsod with its backbone and width; teachers and trained models, not published references), no run past
    ``s.steps`` optimizer steps, the datasets, every table of :data:`salkd.report.TABLES`, ``CLAIMS.md`` and (``ddp``)
    the torchrun run with ``s.ddp_processes`` processes."""
    from salkd.report import TABLES
    from salkd.runs import is_complete, read_json

    base = Path(root) / profile
    rep = DryRunReport()
    if (base / "results" / "data.csv").is_file():
        rep.stages.append("data")
    else:
        rep.problems.append(f"{base / 'results' / 'data.csv'} missing: notebook 00_data did not record the datasets")
    expected = _expected(cfg)
    fc = cfg["fastvsod"]
    for stage in TRAINING_STAGES:
        folders = sorted(p for p in (base / stage).glob("*") if (p / "config.json").is_file())
        trained = []
        for run in folders:
            c = read_json(run / "config.json")
            if c.get("pretrained") or c.get("baseline") or c.get("external"):
                continue  # a published teacher, a fixed baseline or a user's checkpoint: nothing trained here
            if not is_complete(run):
                rep.problems.append(f"{run}: incomplete (no metrics.json)")
                continue
            trained.append(run)
            steps = int(read_json(run / "metrics.json").get("steps", -1))
            rep.steps.setdefault(stage, []).append(steps)
            if not 1 <= steps <= 2 * s.steps:   # two epochs at most (skd's Ablation-O: epochs + st_epochs)
                rep.problems.append(f"{run}: {steps} optimizer steps, expected 1 to {2 * s.steps}")
            kw = (c.get("model") or {}).get("kwargs") or {}
            if task_of_stage(stage) == "vsod" and kw.get("backbone") == fc["backbone"]:
                if float(kw.get("width", 1.0)) != float(fc["width"]):
                    rep.problems.append(f"{run}: backbone width {kw.get('width')} != the profile's {fc['width']}")
                if stage == "fastvsod_stage1" and fc.get("pretrained") and not kw.get("pretrained_path"):
                    rep.problems.append(f"{run}: not started from fastvsod.pretrained")
        res = sorted({_res_of(read_json(r / "config.json")["res"]) for r in trained})
        rep.runs[stage], rep.resolutions[stage] = len(trained), res
        if not trained:
            rep.problems.append(f"{base / stage}: no trained run")
            continue
        missing = expected[stage] - set(res)
        if missing:
            rep.problems.append(f"{stage}: no run at resolution(s) {sorted(missing)} (ran {res})")
        rep.stages.append(stage)
    figures = base / "figures"
    optional = _optional_tables(cfg)
    for stem in TABLES:
        if (figures / f"{stem}.csv").is_file():
            rep.tables.append(stem)
        elif stem not in optional:
            rep.problems.append(f"table {stem} not written to {figures}")
    rep.figures = len(list(figures.glob("*.png")))
    claims = figures / "CLAIMS.md"
    if not claims.is_file():
        rep.problems.append(f"{claims} missing")
    elif "\n## Not built" in claims.read_text(encoding="utf-8"):   # salkd.claims.write_claims' failure list
        rep.problems.append(f"{claims} lists items that were not built")
    if ddp:
        run = base / s.ddp_stage / s.ddp_name
        if not is_complete(run):
            rep.problems.append(f"{run}: the torchrun run is missing or incomplete")
        else:
            world = read_json(run / "env.json").get("world_size")
            if world != s.ddp_processes:
                rep.problems.append(f"{run}: trained with world_size {world}, expected {s.ddp_processes}")
    return rep


def run_ddp(root: str | os.PathLike, profile: str, overrides_file: str | os.PathLike,
            s: DryRunSettings = DryRunSettings(), *, timeout: float = 1800) -> Path:
    """Train ``s.ddp_stage`` (run name ``s.ddp_name``) with ``torchrun --standalone --nproc_per_node=N -m salkd.cli
    train ...`` on CPU (gloo), reusing the upstream runs under ``root``; raises on a nonzero exit."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={s.ddp_processes}",
           "-m", "salkd.cli", "train", s.ddp_stage, "--profile", profile, "--config", str(overrides_file),
           "--out", str(root), "--arg", f"name={s.ddp_name}", "--quiet"]
    print("dry run: DDP:", " ".join(cmd[2:]), flush=True)
    # device "auto" as in the notebooks (the upstream runs' configs record it), on CPU: gloo, no GPU visible
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"torchrun {s.ddp_stage} with {s.ddp_processes} processes failed "
                           f"(exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return Path(root) / profile / s.ddp_stage / s.ddp_name


def _summary(rep: DryRunReport) -> str:
    lines = [f"{'stage':<16} {'runs':>4}  {'steps':>5}  resolutions"]
    for stage in TRAINING_STAGES:
        steps = rep.steps.get(stage) or [0]
        lines.append(f"{stage:<16} {rep.runs.get(stage, 0):>4}  {min(steps)}-{max(steps):<3}  "
                     f"{', '.join(map(str, rep.resolutions.get(stage, [])))}")
    lines.append(f"tables {len(rep.tables)}, figures {rep.figures}, CLAIMS.md")
    return "\n".join(lines)


def dry_run(profile: str = "paper", out: str | os.PathLike | None = None, *, settings: DryRunSettings = DryRunSettings(),
            ddp: bool = True, timeout: int | None = 3600, progress: bool = False) -> int:
    """Run every notebook of ``profile`` on its dry-run profile into ``out`` (default ``<runs>/dry-run``), one
    stage again under torchrun (``ddp``), check the outputs, print ``dry run ok: <n> stages``; 0 when it
    passed, 1 otherwise (the problems are printed)."""
    from salkd import paths
    from salkd.config import get_profile
    from salkd.pipeline import OVERRIDES_ENV
    from salkd.reproduce import reproduce

    t0 = time.perf_counter()
    root = Path(out).expanduser().resolve() if out is not None else paths.runs_dir() / "dry-run"
    base_cfg = get_profile(profile)
    fc = base_cfg["fastvsod"]
    backbone = root / "weights" / f"{fc['backbone']}-random-torchvision-layout.pt"
    write_random_backbone(backbone, str(fc["backbone"]), float(fc["width"]))
    overrides = dry_run_overrides(base_cfg, settings, pretrained=backbone)
    cfg = get_profile(profile, overrides)   # refuses a bad override before any kernel starts
    ov_file = root / "dry_run_overrides.json"
    write_json(ov_file, overrides)
    sizes = _data_sizes(base_cfg)
    print(f"dry run of profile {profile!r} into {root}:\n"
          f"  data: the profile's datasets are replaced by synthetic videos ({settings.videos} per task, one per "
          f"split, {settings.frames} frames; fixation {sizes['fixation']}x{sizes['fixation']}, vsod "
          f"{sizes['vsod']}x{sizes['vsod']})\n"
          f"  fastvsod.pretrained: random weights in torchvision's layout ({backbone.name}) stand in for ImageNet's\n"
          f"  changed keys (models and resolutions are the profile's):", flush=True)
    for key, (a, b) in changed_keys(base_cfg, cfg).items():
        if not key.startswith("data."):
            print(f"    {key}: {a!r} -> {b!r}", flush=True)
    env = {OVERRIDES_ENV: json.dumps(overrides), "SALKD_DATA": str(root / "data"), "SALKD_CACHE": str(root / "cache")}
    times: dict[str, float] = {}
    with _environ(env):
        code = reproduce(profile, out=root, force=True, timeout=timeout, progress=progress)
        times["notebooks"] = time.perf_counter() - t0
        if code != 0:
            print(f"dry run FAILED: a notebook failed (executed copies in {root / profile / 'notebooks'})", flush=True)
            return 1
        if ddp:
            t1 = time.perf_counter()
            try:
                run_ddp(root, profile, ov_file, settings)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print(f"dry run FAILED: {e}", flush=True)
                return 1
            times["ddp"] = time.perf_counter() - t1
    rep = check_outputs(root, profile, cfg, settings, ddp=ddp)
    times["total"] = time.perf_counter() - t0
    print(_summary(rep), flush=True)
    if ddp and rep.ok:
        print(f"DDP: {settings.ddp_stage} trained by torchrun with {settings.ddp_processes} CPU processes (gloo) "
              f"in {times['ddp']:.0f} s", flush=True)
    write_json(root / profile / "dry_run.json", {"profile": profile, "ok": rep.ok, "seconds": times,
                                                 "stages": rep.stages, "runs": rep.runs, "problems": rep.problems,
                                                 "overrides": overrides})
    if not rep.ok:
        print("dry run FAILED:\n  " + "\n  ".join(rep.problems), flush=True)
        return 1
    print(f"wall time {times['total']:.0f} s (notebooks {times['notebooks']:.0f} s)", flush=True)
    print(f"dry run ok: {len(rep.stages)} stages", flush=True)
    return 0
