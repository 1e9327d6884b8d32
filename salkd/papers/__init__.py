"""One home per paper: its stages, experiments, tables, figures and claims.

``PAPERS`` maps a paper key to its module (``skd``, ``uvanet``, ``fastvsod``); each module has
``TABLES`` (stem -> (reference, builder, caption)), ``figures(ctx, tables)``, ``prediction_figures(ctx)``
and ``claims(ctx)``, which :func:`salkd.report.make_all` loops over. ``STAGES`` lists the stages that
``salkd train`` runs (:func:`run_stage`). The papers' own numbers are in :mod:`salkd.papers.numbers`;
the teachers shared by skd and uvanet in :mod:`salkd.papers.teachers`.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from salkd.context import Context
from salkd.papers import fastvsod, skd, teachers, uvanet

__all__ = ["PAPERS", "STAGES", "run_stage", "check_stage_args", "prepare_data"]

PAPERS: dict[str, ModuleType] = {"skd": skd, "uvanet": uvanet, "fastvsod": fastvsod}


def prepare_data(ctx: Context) -> dict[str, Path]:
    """Make (or find) the datasets of the profile and return their roots per task."""
    return {task: ctx.dataset_root(task) for task in ("fixation", "vsod")}


def _teacher_pair(ctx: Context, kw: dict[str, Any]) -> tuple[Path, Path]:
    tc = ctx.cfg["teacher"]
    return teachers.train_teacher(ctx, kw.pop("teacher", tc["spatial"][0])), teachers.train_teacher(ctx, tc["temporal"])


def _skd_st(ctx: Context, **kw: Any) -> Path:
    spa, tem = _teacher_pair(ctx, kw)
    s = skd.skd_students(ctx, spa, tem, res=kw.get("res"))
    return skd.skd_st(ctx, s["spatial"], s["temporal"], **kw)


def _uva_st(ctx: Context, **kw: Any) -> Path:
    spa, tem = _teacher_pair(ctx, kw)
    return uvanet.uva_st(ctx, uvanet.uva_student(ctx, spa, tem, res=kw.get("res")), **kw)


#: stage name -> function(ctx, **kwargs) running it with its upstream runs made (or reused) first
STAGES: dict[str, Any] = {
    "data": lambda ctx, **kw: prepare_data(ctx),
    "teachers": lambda ctx, **kw: teachers.train_teachers(ctx),
    "skd_students": lambda ctx, **kw: skd.skd_students(ctx, *_teacher_pair(ctx, kw), **kw),
    "skd_st": _skd_st,
    "uva_student": lambda ctx, **kw: uvanet.uva_student(ctx, *_teacher_pair(ctx, kw), **kw),
    "uva_st": _uva_st,
    "fastvsod_stage1": lambda ctx, **kw: fastvsod.fastvsod_stage1(ctx, **kw),
    "fastvsod_stage2": lambda ctx, **kw: fastvsod.fastvsod_stage2(ctx, fastvsod.fastvsod_stage1(ctx), **kw),
}


#: the function behind each stage (its keyword arguments are what ``--arg`` may set)
_STAGE_FUNCS = {"skd_students": skd.skd_students, "skd_st": skd.skd_st, "uva_student": uvanet.uva_student,
                "uva_st": uvanet.uva_st, "fastvsod_stage1": fastvsod.fastvsod_stage1,
                "fastvsod_stage2": fastvsod.fastvsod_stage2}


def check_stage_args(stage: str, kw: dict[str, Any]) -> None:
    """Refuse ``--arg`` names the stage does not take, before any work (naming the stage's arguments)."""
    import inspect

    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    fn = _STAGE_FUNCS.get(stage)
    allowed = set() if fn is None else {p.name for p in inspect.signature(fn).parameters.values()
                                        if p.kind is inspect.Parameter.KEYWORD_ONLY or p.name in ("name", "backbone")}
    if stage in ("skd_students", "skd_st", "uva_student", "uva_st"):
        allowed.add("teacher")
    bad = sorted(set(kw) - allowed)
    if bad:
        raise ValueError(f"stage {stage!r} takes no argument {', '.join(bad)}: --arg accepts "
                         f"{', '.join(sorted(allowed)) or 'none'} (profile settings go with --set, e.g. --set skd.mu=0.3)")
    for key, value in kw.items():
        _check_arg_value(stage, key, value)


def _check_arg_value(stage: str, key: str, value: Any) -> None:
    """Refuse a stage argument of the wrong type or range (``--arg res=abc``) before any work."""
    def positive_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    checks = {"res": (positive_int, "a positive integer (pixels), e.g. res=32"),
              "max_iters": (lambda v: v is None or isinstance(v, dict) or positive_int(v), "a positive integer"),
              "mu": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1,
                     "a number in [0, 1], e.g. mu=0.5"),
              "name": (lambda v: isinstance(v, (str, int)) and str(v) != "" and "/" not in str(v)
                       and not str(v).startswith("."),
                       "a folder name without '/'"),
              "teacher": (lambda v: isinstance(v, str) and v != "", "a teacher name, e.g. teacher=dva")}
    ok, what = checks.get(key, (lambda v: True, ""))
    if not ok(value):
        raise ValueError(f"--arg {key}={value!r} for stage {stage!r}: expected {what}")


def run_stage(ctx: Context, stage: str, **kw: Any) -> Any:
    """Run ``stage`` with its upstream runs made (or reused) first: how ``salkd train STAGE`` works."""
    check_stage_args(stage, kw)
    return STAGES[stage](ctx, **kw)
