"""The rows on video only the teacher labels (issue 16) for skd and uvanet, and the notes that say what the
ablations' "without distillation" arms are on teacher-labelled data (split from
:mod:`salkd.papers.fixation_claims`, which re-exports these names)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from salkd import results
from salkd.papers.common import table_ablation

__all__ = ["LABELLED_ONLY", "WITH_UNLABELED", "STEP_MATCHED", "unlabeled_rows", "table_unlabeled", "unlabeled_claim",
           "unlabeled_step_claim", "teacher_labelled_notes"]


# ---- video only the teacher labels (issue 16): skd and uvanet ------------------------------------
#: the variants of the ``<paper>_unlabeled`` experiments: the distilled model as in the ablations, and the same
#: with students that also learn from the video only the teacher labels (mu = 1 on its frames)
LABELLED_ONLY = "labelled frames only"
WITH_UNLABELED = "+ unlabeled video (teacher only)"
#: the control with the step count of :data:`WITH_UNLABELED` on the labelled frames alone (``<paper>.unlabeled_control``)
STEP_MATCHED = "labelled frames only, as many steps"


def unlabeled_rows(ctx: Any, paper: str, experiment: str, pair: Any, **tags: Any) -> pd.DataFrame:
    """The rows of ``<paper>_unlabeled`` for each training seed: the distilled model ``pair(c, teacher, res)``
    returns (:data:`LABELLED_ONLY`) and the same with students that also learn from the video only the
    teacher labels, ``pair(..., unlabeled=True)`` (:data:`WITH_UNLABELED`: same epochs, so more steps). With
    ``<paper>.unlabeled_control`` also :data:`STEP_MATCHED`: the labelled frames alone for as many optimizer
    steps as the students with the unlabeled video took (``pair(..., steps_like=<their runs>)``), which
    separates "more data" from "more training". ``tags`` go into every row, with each run's student steps.
    Seeds train side by side in the profile's ``workers`` (:mod:`salkd.workers`)."""

    from salkd import workers

    seeds = ctx.seeds(paper)
    workers.train_side_by_side(_unlabeled_seed, [(c, (paper, experiment, pair, tags)) for c in seeds])
    rows = [r for c in seeds for r in _unlabeled_seed(c, paper, experiment, pair, tags)]
    return results.save(ctx, experiment, pd.DataFrame(rows))


def _unlabeled_seed(c: Any, paper: str, experiment: str, pair: Any, tags: dict[str, Any]) -> list[dict[str, Any]]:
    """One training seed's rows of :func:`unlabeled_rows` (training what is not complete yet)."""
    from salkd.papers import unlabeled as unl

    cfg = c.cfg[paper]
    teacher, res = cfg["teachers"][0], int(cfg["res"])
    frames = c.unlabeled(paper).n_frames

    def steps(students: Any) -> int:
        runs = list(students.values()) if isinstance(students, dict) else [students]
        return sum(unl.steps_of(r) for r in runs)

    rows, done = [], {}
    for variant, kw, n in ((LABELLED_ONLY, {}, 0), (WITH_UNLABELED, {"unlabeled": True}, frames)):
        students, run = pair(c, teacher, res, **kw)
        done[variant] = students
        rows.append(results.row(c, experiment, variant, paper, run, teacher=teacher, seed=c.seed,
                                unlabeled_frames=n, student_steps=steps(students), **tags))
    if cfg.get("unlabeled_control"):
        students, run = pair(c, teacher, res, steps_like=done[WITH_UNLABELED])
        rows.append(results.row(c, experiment, STEP_MATCHED, paper, run, teacher=teacher, seed=c.seed,
                                unlabeled_frames=0, student_steps=steps(students), **tags))
    return rows


def table_unlabeled(ctx: Any, experiment: str) -> pd.DataFrame | None:
    """The two variants of ``experiment`` (``skd_unlabeled`` / ``uva_unlabeled``) with the number of frames only
    the teacher labels; the papers have no such row (no paper columns)."""
    t = table_ablation(ctx, experiment, {}, order=[LABELLED_ONLY, WITH_UNLABELED, STEP_MATCHED])
    if t is None:
        return None
    t = t.drop(columns=[c for c in t.columns if c.endswith("(paper)")])
    ov = results.overall(results.load_or_none(ctx, experiment, quiet=True))

    def per_variant(col: str) -> pd.Series:
        return (pd.to_numeric(ov[col], errors="coerce").groupby(ov["variant"].astype(str)).mean()
                if col in ov.columns else pd.Series(dtype=float))

    frames, steps = per_variant("unlabeled_frames"), per_variant("student_steps")
    t.insert(1, "unlabeled frames (teacher only)", [frames.get(str(v)) for v in t["variant"]])
    t.insert(2, "student steps (mean over seeds)", [None if pd.isna(steps.get(str(v), float("nan")))
                                                    else round(float(steps[str(v)])) for v in t["variant"]])
    return t


#: why the unlabeled-video rows are not run on teacher-labelled data (salkd.distill.labelled)
_TEACHER_ONLY = ("every training frame of this profile is labelled by the teacher alone (data.fixation.source = "
                 "'teacher-labelled'); what gaze labels add beside the teacher's maps is measured by the label-scarcity "
                 "rows of the distillation test")


def _teacher_only(ctx: Any) -> bool:
    return bool(getattr(ctx, "teacher_labelled", None)) and ctx.teacher_labelled("fixation")


#: what the "no distillation" arms of the ablations are on teacher-labelled data (salkd.distill.labelled)
_ONE_STEP = ("teacher-labelled data: every training label is the teacher's map, so the arm 'without distillation' (skd "
             "Ablation-O, uvanet '+scratch') learns the teacher through its hard term: it is one-step distillation, and "
             "this row compares two ways of distilling, not distillation with none")
_NO_SWEEP = ("no mu sweep on teacher-labelled data (skd.mu_sweep is empty): every label is the teacher's map, so mu "
             "weighs the same map twice; the distillation test's label-scarcity rows mix gaze labels and the teacher")


def teacher_labelled_notes(ctx: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """On teacher-labelled data, say in the note of each ablation row whose arm is "without distillation" what that
    arm is there, and why the mu sweep's rows are not measured; other profiles: ``rows`` unchanged."""
    if not _teacher_only(ctx):
        return rows
    for r in rows:
        text = f"{r.get('claim', '')} {r.get('source', '')}"
        if r.get("source") == "Fig. 8" and r.get("verdict") == "not measured":
            r["note"] = _NO_SWEEP
        elif "Ablation-O" in text or "scratch" in text or "without distillation" in text:
            r["note"] = f"{_ONE_STEP}; {r.get('note') or ''}".rstrip("; ")
    return rows


def unlabeled_claim(ctx: Any, paper: str, experiment: str, model: str) -> dict[str, Any]:
    """The KD promise of learning from unlabeled video (issue 16, not a claim of the papers): ``model`` distilled
    with the video only the teacher labels (``<paper>.unlabeled``, mu = 1 on its frames) beats the same model
    distilled from the labelled frames alone, in NSS on the same test split (paired over test clips, with the
    seeds' spread; :func:`salkd.claims.better_claim`)."""
    from salkd.claims import better_claim, missing_claim

    text = f"adding video only the teacher labels (mu = 1 on it) improves the distilled {model}"
    ref, pv = "issue 16 (KD on unlabeled video)", "— (not a claim of the paper)"
    listed = ((getattr(ctx, "cfg", None) or {}).get(paper) or {}).get("unlabeled") or []
    df = results.load_or_none(ctx, experiment, quiet=True)
    if df is None and not listed:
        return missing_claim(paper, ref, text, "nss", pv, _TEACHER_ONLY if _teacher_only(ctx) else
                             f"the profile lists no unlabeled video ({paper}.unlabeled)")
    row = better_claim(ctx, paper, ref, text, df, "nss", {"variant": WITH_UNLABELED}, {"variant": LABELLED_ONLY},
                       None, None, "fixation", experiment)
    row["paper_value"] = pv
    if df is not None and "unlabeled_frames" in df.columns:
        n = pd.to_numeric(results.overall(df)["unlabeled_frames"], errors="coerce").max()
        row["note"] = (f"{n:.0f} frames only the teacher labels added to the students' training split (same epochs, "
                       f"hence more steps; the step-matched row separates the two); " + row["note"])
    return row


def unlabeled_step_claim(ctx: Any, paper: str, experiment: str, model: str) -> dict[str, Any]:
    """The same against :data:`STEP_MATCHED` (labelled frames only, as many optimizer steps): the unlabeled video
    helps beyond the extra training it brings. ``not measured`` without ``<paper>.unlabeled_control``."""
    from salkd.claims import better_claim, missing_claim

    text = f"adding video only the teacher labels improves the distilled {model} at the same number of steps"
    ref, pv = "issue 16 (KD on unlabeled video)", "— (not a claim of the paper)"
    df = results.load_or_none(ctx, experiment, quiet=True)
    ran = df is not None and (results.overall(df)["variant"].astype(str) == STEP_MATCHED).any()
    if not ran:
        return missing_claim(paper, ref, text, "nss", pv, _TEACHER_ONLY if _teacher_only(ctx) else
                             f"no step-matched control in this profile "
                             f"({paper}.unlabeled_control is off or {paper}.unlabeled is empty)")
    row = better_claim(ctx, paper, ref, text, df, "nss", {"variant": WITH_UNLABELED}, {"variant": STEP_MATCHED},
                       None, None, "fixation", experiment)
    row["paper_value"] = pv
    row["note"] = ("control: the labelled frames alone for the optimizer steps the students with the unlabeled "
                   "video took; " + row["note"])
    return row
