"""The distillation test as a section of the report (:func:`salkd.report.make_all`): its goals become claim
rows of ``CLAIMS.md`` (paper "distillation test", the promise all three papers share), read from the
``distill_verdicts.csv`` that notebook ``07_distillation_test`` writes. Its own tables and figures are written
by :func:`salkd.distill.run` itself, so the section has none to build here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from salkd.claims import claim_row, missing_claim
from salkd.context import Context
from salkd.multiplicity import p_value
from salkd.verdicts import AT_CHANCE, INCONCLUSIVE, NOT_MEASURED, NOT_REPRODUCED, REPRODUCED, cap

__all__ = ["TABLES", "figures", "prediction_figures", "claims", "PAPER"]

PAPER = "distillation test (all three papers)"
#: no table built by the report: notebook 07 writes them
TABLES: dict[str, Any] = {}
_VERDICT = {"holds": REPRODUCED, "fails": NOT_REPRODUCED, "inconclusive": INCONCLUSIVE, "both at chance": AT_CHANCE,
            "no noise measured": INCONCLUSIVE}


def figures(ctx: Context, tables: dict[str, pd.DataFrame | None]) -> dict[str, Any]:
    """None built here (notebook 07 draws them)."""
    return {}


def prediction_figures(ctx: Context) -> list[tuple[str, str, dict[str, Path], str]]:
    """None built here (notebook 07 draws its qualitative maps)."""
    return []


def claims(ctx: Context) -> list[dict[str, Any]]:
    """One claim row per goal of ``distill_verdicts.csv``: ``holds`` / ``fails`` become reproduced / not
    reproduced, capped to consistent / inconsistent (:func:`salkd.verdicts.cap`) because the test frames come
    from one video (blocks of it are the units); a missing file is one ``not measured`` row."""
    if "distill" not in (getattr(ctx, "cfg", None) or {}) or not hasattr(ctx, "figures_dir"):
        return []   # a context without the distillation test (e.g. a bare report of result tables)
    path = ctx.figures_dir() / "distill_verdicts.csv"
    if not path.is_file():
        return [missing_claim(PAPER, "salkd.distill", "a student distilled on other video keeps its teacher's "
                              "accuracy on a video it never saw", "nss", None,
                              f"{path.name} not written: run notebook 07_distillation_test")]
    df = pd.read_csv(path)
    test = ctx.cfg["distill"]["test"]
    data = f"{'profile test split' if test == 'profile' else str(test).split(':', 1)[-1]} (never trained on)"
    rows = []
    for r in df.itertuples():
        metric = "max_f" if "max-F" in r.claim else "cc" if "CC" in r.claim else "nss"
        scarcity = "trained on frames of the test video" in str(r.note)
        own_data = "data" in df.columns and not pd.isna(r.data)  # e.g. the VSOD rows: test sequences, not clips
        verdict = cap(_VERDICT.get(str(r.verdict), NOT_MEASURED), int(r.seeds), int(r.units) if own_data else 1)
        rows.append(claim_row(PAPER, "salkd.distill (issue 26)", str(r.claim), metric, None, str(r.value),
                              None if pd.isna(r.margin) else float(r.margin),
                              None if pd.isna(r.noise) else float(r.noise),
                              str(r.data) if own_data else
                              data.replace("never trained on", "its first part trained on") if scarcity else data,
                              verdict, "" if pd.isna(r.note) else str(r.note),
                              central=str(r.claim).startswith("k = 0 student") and "keeps" in str(r.claim),
                              p=None if verdict == AT_CHANCE or pd.isna(r.margin) or "df" not in df.columns or pd.isna(r.df)
                              else p_value(float(r.margin), float(r.noise), float(r.df))))
    return rows
