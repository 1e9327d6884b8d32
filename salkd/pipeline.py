"""The experiments behind each notebook: stages run in the papers' combinations, results as tables.

Every ``run_*`` function runs (or reuses) the stages it needs, evaluates the resulting models on
the test split, writes ``runs/<profile>/results/<experiment>.csv`` and returns the DataFrame.
Columns: ``experiment, variant, paper, teacher, res, run, split`` + the metrics of
:mod:`salkd.metrics` + ``params``. The figures notebook reads these files only.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from salkd import stages as S
from salkd.atomic import write_text
from salkd.config import default_profile

__all__ = ["context", "results_dir", "load_results", "run_data", "run_teachers", "run_skd", "run_skd_ablations",
           "run_uvanet", "run_uvanet_ablations", "run_fastvsod", "run_fastvsod_ablations", "run_speed"]

_MAKER = {"teachers": "01_teachers", "skd_table3": "02_skd_students / 03_skd_spatiotemporal",
          "skd_table4": "06_ablations", "skd_mu": "06_ablations", "uva_table3": "04_uvanet",
          "uva_fig6": "06_ablations", "fastvsod_main": "05_fastvsod", "fastvsod_table3": "06_ablations",
          "fastvsod_fig6": "06_ablations", "fastvsod_fig7": "06_ablations", "speed": "07_speed_memory",
          "data": "00_data"}


def context(profile: str | None = None, *, data_fixation: str | os.PathLike | None = None,
            data_vsod: str | os.PathLike | None = None, out: str | os.PathLike | None = None, seed: int = 0,
            device: str = "auto", force: bool = False, overrides: Mapping[str, Any] | None = None,
            progress: bool = True) -> S.Context:
    """The :class:`salkd.stages.Context` a notebook works in (``profile=None``: ``$SALKD_PROFILE`` or quick)."""
    data = {k: v for k, v in (("fixation", data_fixation), ("vsod", data_vsod)) if v}
    return S.Context(profile=profile or default_profile(), data=data or None, runs=out, overrides=overrides,
                     seed=seed, device=device, force=force, progress=progress)


def results_dir(ctx: S.Context) -> Path:
    return ctx.runs_root / ctx.profile / "results"


def _save(ctx: S.Context, name: str, df: pd.DataFrame) -> pd.DataFrame:
    write_text(results_dir(ctx) / f"{name}.csv", df.to_csv(index=False))
    return df


def load_results(ctx: S.Context, experiment: str) -> pd.DataFrame:
    """Read ``runs/<profile>/results/<experiment>.csv``."""
    p = results_dir(ctx) / f"{experiment}.csv"
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist: run notebook {_MAKER.get(experiment, '?')} "
                                f"(or `salkd reproduce --profile {ctx.profile}`) first")
    return pd.read_csv(p)


def _params(run: Path) -> int:
    from salkd.models import from_run

    m = from_run(run)
    if hasattr(m, "deploy"):
        m = m.deploy()
    from salkd.bench.cost import count_params

    return count_params(m)


def _row(ctx: S.Context, experiment: str, variant: str, paper: str, run: Path, *, teacher: str | None = None,
         output: str | None = None, task: str | None = None, **extra: Any) -> dict[str, Any]:
    from salkd.runs import read_json

    df = S.evaluate_run(ctx, run, "test", output=output, task=task)
    cfg = read_json(run / "config.json")
    res = cfg.get("res")
    res = res[0] if isinstance(res, list) else res
    row = {"experiment": experiment, "variant": variant, "paper": paper, "teacher": teacher, "res": res,
           "run": str(run), "split": "test", **extra}
    row.update(df.loc["overall"].to_dict())
    row["params"] = _params(run)
    return row


def run_data(ctx: S.Context) -> pd.DataFrame:
    """Make (or find) the datasets; one row per task and split with videos, frames and frame size."""
    rows = []
    for task in ("fixation", "vsod"):
        for split in ("train", "val", "test"):
            ds = ctx.dataset(task, split)
            h, w = ds.videos[0].read_frame(0).shape[:2] if ds.videos else (0, 0)
            rows.append({"task": task, "split": split, "root": str(ds.root), "layout": ds.layout,
                         "videos": len(ds.videos), "frames": sum(len(v.frames) for v in ds.videos),
                         "height": h, "width": w})
    return _save(ctx, "data", pd.DataFrame(rows))


def _teachers(ctx: S.Context) -> dict[str, Path]:
    return S.train_teachers(ctx)


def run_teachers(ctx: S.Context) -> pd.DataFrame:
    """Train the spatial and temporal teachers (fixation task) and score them on the test split."""
    runs = _teachers(ctx)
    rows = [_row(ctx, "teachers", arch, "skd/uvanet", run, teacher=arch, task="fixation")
            for arch, run in runs.items()]
    return _save(ctx, "teachers", pd.DataFrame(rows))


def _skd_pair(ctx: S.Context, teacher: str, res: int, mu: float | None = None) -> tuple[dict[str, Path], Path]:
    t = _teachers(ctx)
    tc = ctx.cfg["teacher"]
    students = S.skd_students(ctx, t[teacher], t[tc["temporal"]], res=res, mu=mu)
    return students, S.skd_st(ctx, students["spatial"], students["temporal"])


def run_skd(ctx: S.Context) -> pd.DataFrame:
    """skd Table III: for each spatial teacher and resolution, S_s, S_t and S_st (step 1 + step 2)."""
    sc = ctx.cfg["skd"]
    rows = []
    for teacher in sc["teachers"]:
        for res in sc["resolutions"]:
            students, st = _skd_pair(ctx, teacher, int(res))
            rows.append(_row(ctx, "skd_table3", "S_s", "skd", students["spatial"], teacher=teacher))
            rows.append(_row(ctx, "skd_table3", "S_t", "skd", students["temporal"], teacher=teacher))
            rows.append(_row(ctx, "skd_table3", "S_st", "skd", st, teacher=teacher))
    return _save(ctx, "skd_table3", pd.DataFrame(rows))


def run_skd_ablations(ctx: S.Context) -> dict[str, pd.DataFrame]:
    """skd Table IV (full, Ablation-S, Ablation-T, Ablation-O) and the mu sweep of Fig. 8."""
    sc = ctx.cfg["skd"]
    teacher, res = sc["teachers"][0], int(sc["res"])
    students, st = _skd_pair(ctx, teacher, res)
    scratch = S.skd_st(ctx, None, None, init="scratch", res=res)
    t4 = [_row(ctx, "skd_table4", "full", "skd", st, teacher=teacher),
          _row(ctx, "skd_table4", "Ablation-S", "skd", students["spatial"], teacher=teacher),
          _row(ctx, "skd_table4", "Ablation-T", "skd", students["temporal"], teacher=teacher),
          _row(ctx, "skd_table4", "Ablation-O", "skd", scratch, teacher=None)]
    mus = []
    for mu in sc["mu_sweep"]:
        _, st_mu = _skd_pair(ctx, teacher, res, mu=float(mu))
        mus.append(_row(ctx, "skd_mu", f"mu={float(mu):g}", "skd", st_mu, teacher=teacher, mu=float(mu)))
    return {"table4": _save(ctx, "skd_table4", pd.DataFrame(t4)), "mu": _save(ctx, "skd_mu", pd.DataFrame(mus))}


def _uva(ctx: S.Context, teacher: str | None, res: int, block: str = "cares",
         distill: bool = True) -> tuple[Path, Path]:
    t = _teachers(ctx) if distill else {}
    tc = ctx.cfg["teacher"]
    student = S.uva_student(ctx, t.get(teacher) if teacher else None, t.get(tc["temporal"]), res=res,
                            block=block, distill=distill)
    return student, S.uva_st(ctx, student)


def run_uvanet(ctx: S.Context) -> pd.DataFrame:
    """uvanet Table 3: the spatiotemporal net S_sp for each teacher and resolution."""
    uc = ctx.cfg["uvanet"]
    rows = []
    for teacher in uc["teachers"]:
        for res in uc["resolutions"]:
            _, st = _uva(ctx, teacher, int(res))
            rows.append(_row(ctx, "uva_table3", "S_sp", "uvanet", st, teacher=teacher))
    return _save(ctx, "uva_table3", pd.DataFrame(rows))


def run_uvanet_ablations(ctx: S.Context) -> pd.DataFrame:
    """uvanet Fig. 6: block types (MB, MB+SE, CA-Res), distilled or from scratch, single branches."""
    uc = ctx.cfg["uvanet"]
    teacher, res = uc["teachers"][0], int(uc["res"])
    blocks = set(uc.get("blocks", ["cares", "mb", "mbse"]))
    rows = []
    variants = [("MB+scratch", "mb", False), ("MB+dis", "mb", True), ("MB+SE+dis", "mbse", True),
                ("CA-Res+scratch", "cares", False), ("CA-Res+dis", "cares", True)]
    for name, block, distill in variants:
        if block not in blocks:
            continue
        student, st = _uva(ctx, teacher if distill else None, res, block, distill)
        rows.append(_row(ctx, "uva_fig6", name, "uvanet", st, teacher=teacher if distill else None, block=block))
        if name == "CA-Res+scratch":
            rows.append(_row(ctx, "uva_fig6", "CA-Res+spa+scratch", "uvanet", student, output="spatial", block=block))
            rows.append(_row(ctx, "uva_fig6", "CA-Res+tmp+scratch", "uvanet", student, output="temporal",
                             block=block))
    return _save(ctx, "uva_fig6", pd.DataFrame(rows))


def run_fastvsod(ctx: S.Context) -> pd.DataFrame:
    """fastvsod: stage 1 (the baseline BS) and the full model (SD + TD + FE_o, mutual attention)."""
    s1 = S.fastvsod_stage1(ctx)
    full = S.fastvsod_stage2(ctx, s1)
    rows = [_row(ctx, "fastvsod_main", "BS (stage 1)", "fastvsod", s1, task="vsod"),
            _row(ctx, "fastvsod_main", "full", "fastvsod", full, task="vsod")]
    return _save(ctx, "fastvsod_main", pd.DataFrame(rows))


def run_fastvsod_ablations(ctx: S.Context) -> dict[str, pd.DataFrame]:
    """fastvsod Table 3 (components), Fig. 6 (fusion kinds) and Fig. 7 (alpha)."""
    fc = ctx.cfg["fastvsod"]
    s1 = S.fastvsod_stage1(ctx)
    t3_specs = [("BS", dict(sd=False, td=False, fe=None)), ("+SD", dict(sd=True, td=False, fe=None)),
                ("+SD+TD", dict(sd=True, td=True, fe=None)), ("+SD+FE_o", dict(sd=True, td=False, fe="train")),
                ("+SD+TD+FE_t", dict(sd=True, td=True, fe="test")), ("full", dict(sd=True, td=True, fe="train"))]
    t3 = [_row(ctx, "fastvsod_table3", v, "fastvsod", S.fastvsod_stage2(ctx, s1, **kw), task="vsod")
          for v, kw in t3_specs]
    fusion = [_row(ctx, "fastvsod_fig6", f, "fastvsod", S.fastvsod_stage2(ctx, s1, fusion=f), task="vsod")
              for f in fc["fusions"]]
    alpha = [_row(ctx, "fastvsod_fig7", f"alpha={float(a):g}", "fastvsod",
                  S.fastvsod_stage2(ctx, s1, alpha=float(a)), task="vsod", alpha=float(a)) for a in fc["alpha_sweep"]]
    return {"table3": _save(ctx, "fastvsod_table3", pd.DataFrame(t3)),
            "fusion": _save(ctx, "fastvsod_fig6", pd.DataFrame(fusion)),
            "alpha": _save(ctx, "fastvsod_fig7", pd.DataFrame(alpha))}


def run_speed(ctx: S.Context) -> pd.DataFrame:
    """The deployment benchmark (params, MACs, memory, frames/s per model, resolution and runtime)."""
    from salkd.bench import models as bench

    bc = ctx.cfg.get("bench", {})
    result = bench.run(bc.get("models"), res=bc.get("res"), batch=bc.get("batch", (1, 64)),
                       quick=bool(bc.get("quick", False)), progress=ctx.progress, seed=int(ctx.seed))
    df = pd.DataFrame(result["rows"])
    df.attrs["speedup"] = result.get("speedup")
    write_text(results_dir(ctx) / "speed_machine.json",
               __import__("json").dumps({k: result.get(k) for k in ("peak", "machine", "speedup")},
                                        indent=2, default=str))
    return _save(ctx, "speed", df)
