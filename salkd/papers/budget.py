"""Budget-matched controls (issue 22, item 6): an ablation whose arms differ in optimizer steps or stages
mostly measures the extra training unless a control trains the smaller arm for as many steps.

:data:`CONTROLS` lists, per paper, the rows whose arms differ in budget and the control each needs:

* skd Table IV: S_st is the students plus S_st's own steps, Ablation-S / Ablation-T are a student alone
  (step 1): the control is that student trained on for S_st's steps. (Ablation-O is already matched:
  :func:`salkd.papers.skd.skd_st` trains it for the students' and S_st's epochs together.)
* uvanet Fig. 6: the distilled student's spatial / temporal branch (step 1) against CA-Res+dis (step 1 plus
  S_sp's steps): the control is the student trained on for S_sp's steps. (The "+scratch" arms run the same
  two steps.)
* fastvsod: stage 1 against stage 1 + stage 2 (Table 1 row, and the pretrained-backbone row): the control is
  stage 1 trained on for stage 2's steps with stage 1's loss, which is Table 3's BS
  (:data:`salkd.papers.fastvsod.TABLE3_VARIANTS`: stage 2 with no SD, TD or FE); Table 3's own rows compare
  arms of equal budget.

:func:`apply` rewrites such a row: without its control it becomes ``not measured: needs a budget-matched
control (N steps)`` (N = the optimizer steps of the larger arm's last stage, from its runs' ``metrics.json``;
the uncontrolled verdict and numbers stay in the row and note), or, when the budget-matched comparison is
another row of the table, points to it. The controls are designed here, not trained.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["Control", "CONTROLS", "extra_steps", "apply", "NEEDS"]

#: the start of the note of a row whose control is missing
NEEDS = "needs a budget-matched control"


@dataclass(frozen=True)
class Control:
    """A row pattern (``claim`` in full) whose arms differ in budget; the control it needs; where the larger
    arm's extra steps are read (``experiment``, ``variant``: its runs' last stage); ``twin``: the claim of
    the budget-matched row of the same table, when the table has one."""

    paper: str
    claim: str
    control: str
    experiment: str
    variant: str
    twin: str = ""


_STUDENT = "{arm} trained on for S_st's steps (step 1 continued, same loss)"
CONTROLS = (
    Control("skd", r"spatiotemporal S_st beats spatial-only \(Ablation-S\)", _STUDENT.format(arm="S_s (Ablation-S)"),
            "skd_table4", "full"),
    Control("skd", r"spatiotemporal S_st beats temporal-only \(Ablation-T\)", _STUDENT.format(arm="S_t (Ablation-T)"),
            "skd_table4", "full"),
    Control("skd", r"Ablation-O is the lowest of the four",
            "Ablation-S and Ablation-T trained on for S_st's steps (Ablation-O and the full model already share a budget)",
            "skd_table4", "full"),
    Control("uvanet", r"spatiotemporal beats (spatial|temporal)-only \(distilled student's branch\)",
            "the distilled student trained on for S_sp's steps, its branch read out", "uva_fig6", "CA-Res+dis"),
    Control("fastvsod", r"full model beats stage 1 \(BS\)( \(MAE\))?",
            "stage 1 trained on for stage 2's steps with stage 1's loss (Table 3's BS)", "fastvsod_table3", "full",
            twin="full model (SD+TD+FE_o) beats the baseline"),
    Control("fastvsod", r"full model beats its stage 1, from a pretrained backbone \((\w+)\)( \(MAE\))?",
            "the pretrained-backbone stage 1 trained on for stage 2's steps with stage 1's loss (a BS run of that "
            "backbone, as Table 3's)", "fastvsod_main", "full [{1}]"),
)


def extra_steps(ctx: Any, experiment: str, variant: str) -> int | None:
    """Mean optimizer steps of the runs of ``variant`` in ``experiment`` (their ``metrics.json``), or None."""
    from salkd import results
    from salkd.papers.unlabeled import steps_of

    if ctx is None or not hasattr(ctx, "runs_root"):
        return None
    df = results.load_or_none(ctx, experiment, quiet=True)
    if df is None or "run" not in df.columns:
        return None
    runs = results.overall(df)
    runs = runs[runs["variant"].astype(str) == variant]["run"]
    steps = []
    for r in runs:
        p = results.run_path(ctx, r)
        try:
            steps.append(steps_of(p)) if p is not None else None
        except (OSError, ValueError):
            continue
    return round(sum(steps) / len(steps)) if steps else None


def apply(df: pd.DataFrame, ctx: Any = None) -> pd.DataFrame:
    """``df`` with every row of :data:`CONTROLS` that still has a verdict rewritten (see the module
    docstring); rows already rewritten, or without a measured number, are left as they are."""
    from salkd.verdicts import NOT_MEASURED

    if not len(df) or "claim" not in df.columns:
        return df
    out = df.copy()
    claims = set(zip(out["paper"].astype(str), out["claim"].astype(str)))
    for c in CONTROLS:
        for i in out.index:
            if str(out.at[i, "paper"]) != c.paper:
                continue
            m = re.fullmatch(c.claim, str(out.at[i, "claim"]))
            was = str(out.at[i, "verdict"])
            if m is None or was == NOT_MEASURED:
                continue
            variant = c.variant.format(*([""] + [g or "" for g in m.groups()]))
            n = extra_steps(ctx, c.experiment, variant)
            steps = f"{n} steps" if n else "steps of the larger arm's last stage; its runs are not at hand"
            twin = c.twin + (" (MAE)" if str(out.at[i, "claim"]).endswith("(MAE)") else "") if c.twin else ""
            if twin and (c.paper, twin) in claims:
                head = (f"arms differ in stages ({steps}); the budget-matched comparison is the row '{twin}' "
                        f"(control: {c.control})")
            else:
                head = f"{NEEDS} ({steps}): {c.control}; its run is absent"
            out.at[i, "verdict"] = NOT_MEASURED
            out.at[i, "note"] = (f"{head}; without it the comparison gave '{was}', which mostly measures the extra "
                                 f"training; " + str(out.at[i, "note"] or ""))
            if "p_value" in out.columns:
                out.at[i, "p_value"] = None
    return out
