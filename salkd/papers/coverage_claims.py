"""Rows added so that every quantitative claim of the checklist (:mod:`salkd.papers.coverage`) has one:
skd's per-metric ranking of SKD-DVA-64 against DVA (Sec. IV-B) and fastvsod against SSAV on DAVIS
(Sec. 4.2, with SSAV's published per-sequence scores)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from salkd import results
from salkd.papers.numbers import PAPER
from salkd.results import Summary

__all__ = ["student_metric_claims", "ssav_scores", "ssav_claims", "METRIC_NAMES", "SSAV_FILE"]

#: the papers' names of our metric keys
METRIC_NAMES = {"auc_judd": "AUC", "sauc": "sAUC", "cc": "CC", "sim": "SIM", "nss": "NSS"}
#: SSAV's per-sequence results on DAVIS-2016 val (github:DengPingFan/DAVSOD evalResult), under the shared data
SSAV_FILE = Path("reference") / "ssav_metrics" / "DAVIS_result.txt"


def student_metric_claims(ctx: Any, exp: str, variant: str, res: int = 64) -> list[dict[str, Any]]:
    """skd Sec. IV-B: SKD-DVA-64 "ranks the first place in terms of AUC, sAUC, NSS and CC, but slightly worse
    than the DVA in term of SIM": our student against its own teacher on the same test frames, one row per
    metric (NSS is the "keeps its teacher's accuracy" row); the paper's values are its Table I rows."""
    from salkd.claims import better_claim
    from salkd.papers.common import main_teacher
    from salkd.papers.fixation_claims import student_and_teacher

    p1 = PAPER["skd_table1"]
    ps, pt = p1[f"SKD-DVA-{res}"], p1["DVA*"]
    both = student_and_teacher(ctx, exp, variant, main_teacher(ctx), res)
    rows = []
    for m in ("auc_judd", "sauc", "cc"):
        rows.append(better_claim(ctx, "skd", "Table I", f"the student at {res}x{res} beats its teacher in {METRIC_NAMES[m]}",
                                 both, m, {"variant": "student"}, {"variant": "teacher"}, ps[m], pt[m], "fixation", exp))
    rows.append(better_claim(ctx, "skd", "Table I", f"its teacher beats the student at {res}x{res} in SIM (the one metric "
                             "the paper's student loses)", both, "sim", {"variant": "teacher"}, {"variant": "student"},
                             pt["sim"], ps["sim"], "fixation", exp))
    return rows


def ssav_scores(shared: str | Path) -> pd.DataFrame:
    """SSAV's per-sequence ``max_f`` and ``mae`` on DAVIS (index ``DAVIS/<sequence>``) from :data:`SSAV_FILE`."""
    rows = {}
    for line in (Path(shared) / SSAV_FILE).read_text(encoding="utf-8").splitlines():
        m = re.match(r"\(DAVIS Dataset\)(\S+) Seq .*maxF:([\d.]+);.*MAE:([\d.]+)", line)
        if m:
            rows[f"DAVIS/{m.group(1)}"] = {"max_f": float(m.group(2)), "mae": float(m.group(3))}
    return pd.DataFrame.from_dict(rows, orient="index")


def _on(s: Summary, units: pd.Index) -> Summary:
    """``s`` restricted to ``units``: its value the mean over them (the seeds' spread kept)."""
    v = s.videos[units]
    return Summary(float(v.mean()), v, list(s.run_values))


def ssav_claims(ctx: Any, fm: pd.DataFrame | None) -> list[dict[str, Any]]:
    """fastvsod Sec. 4.2: the full model "outperforms the SSAV approach by 2.2 % ... in F-measure" on DAVIS:
    each of our full models against SSAV's published per-sequence scores, paired over the DAVIS sequences
    both have (ours: our test frames of each sequence; SSAV: every frame, its own evaluation code), on
    max F and on MAE. SSAV is one published model (no seed noise)."""
    from salkd import paths
    from salkd.claims import compare_claim, missing_claim

    p1 = PAPER["fastvsod_table1"]
    (pf, pm), (sf, sm) = p1["Ours (paper)"]["DAVIS-T"], p1["SSAV"]["DAVIS-T"]
    try:
        ssav = ssav_scores(paths.shared_data())
    except OSError:
        ssav = None
    fulls = [v for v in dict.fromkeys(results.overall(fm)["variant"].astype(str))
             if v.startswith("full")] if fm is not None else ["full"]
    rows = []
    for v in fulls:
        name = "full model" + (v[len("full"):] if v != "full" else "")
        for m, (a, b) in (("max_f", (pf, sf)), ("mae", (pm, sm))):
            text = f"{name} beats SSAV on our DAVIS-T sequences" + (" (MAE)" if m == "mae" else "")
            pv = f"{a:.3f} vs {b:.3f} ({a / b - 1:+.1%})"
            ours = results.summarize(ctx, fm, m, variant=v) if fm is not None else None
            common = (ours.videos.index.intersection(ssav.index) if ours is not None and ours.videos is not None
                      and ssav is not None else pd.Index([]))
            if len(common) < 2:
                rows.append(missing_claim("fastvsod", "Sec. 4.2 / Table 1", text, m, pv,
                                          "no DAVIS sequence scored both by us and in SSAV's published results"
                                          if ssav is not None else f"{SSAV_FILE} not found under the shared data"))
                continue
            mb = float(ssav.loc[common, m].mean())
            sb = Summary(mb, ssav.loc[common, m].astype(float), [mb])
            row = compare_claim(ctx, "fastvsod", "Sec. 4.2 / Table 1", text, m, _on(ours, common), sb, pv, "vsod",
                                paper_effect=a - b)
            row["note"] = (f"SSAV: its published per-sequence scores on {len(common)} DAVIS sequences ({', '.join(s.split('/')[-1] for s in common)}), "
                           "every frame at full resolution, its own evaluation code; ours on our test frames of them; "
                           + row["note"])
            rows.append(row)
    return rows
