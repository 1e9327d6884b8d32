"""Budget-matched controls (salkd.papers.budget): an ablation whose arms differ in optimizer steps names the
control it needs and, without it, is not judged."""
from __future__ import annotations

import pandas as pd

from salkd import verdicts
from salkd.claims import claim_row
from salkd.papers import budget


def _row(paper: str, claim: str, verdict: str = verdicts.REPRODUCED) -> dict:
    return claim_row(paper, "T", claim, "nss", None, "2 vs 1", 1.0, 0.2, "d", verdict, "noise ...", p=0.001)


def test_rows_without_their_control_are_not_measured():
    df = pd.DataFrame([_row("skd", "spatiotemporal S_st beats spatial-only (Ablation-S)"),
                       _row("skd", "distilled S_st beats S_st without distillation (Ablation-O)"),
                       _row("uvanet", "spatiotemporal beats temporal-only (distilled student's branch)", verdicts.INCONCLUSIVE),
                       _row("fastvsod", "full model beats its stage 1, from a pretrained backbone (csnet) (MAE)")])
    out = budget.apply(df)
    v = list(out["verdict"])
    assert v[0] == verdicts.NOT_MEASURED and budget.NEEDS in out.loc[0, "note"]
    assert "S_s (Ablation-S) trained on for S_st's steps" in out.loc[0, "note"] and "gave 'reproduced'" in out.loc[0, "note"]
    assert pd.isna(out.loc[0, "p_value"]) and out.loc[0, "margin"] == 1.0     # the numbers stay, the test leaves the family
    assert v[1] == verdicts.REPRODUCED                                          # Ablation-O is budget-matched
    assert v[2] == verdicts.NOT_MEASURED and "S_sp's steps" in out.loc[2, "note"]
    assert v[3] == verdicts.NOT_MEASURED and "pretrained-backbone stage 1" in out.loc[3, "note"]
    assert list(budget.apply(out)["note"]) == list(out["note"])                 # applied once


def test_a_row_whose_matched_twin_is_in_the_table_points_to_it():
    df = pd.DataFrame([_row("fastvsod", "full model beats stage 1 (BS)"),
                       _row("fastvsod", "full model (SD+TD+FE_o) beats the baseline")])
    out = budget.apply(df)
    assert out.loc[0, "verdict"] == verdicts.NOT_MEASURED
    assert "the budget-matched comparison is the row 'full model (SD+TD+FE_o) beats the baseline'" in out.loc[0, "note"]
    assert out.loc[1, "verdict"] == verdicts.REPRODUCED


def test_extra_steps_read_from_the_runs(tmp_path):
    import json
    from types import SimpleNamespace

    res = tmp_path / "p" / "results"
    res.mkdir(parents=True)
    for k, steps in enumerate((100, 120)):
        run = tmp_path / f"run{k}"
        run.mkdir()
        (run / "metrics.json").write_text(json.dumps({"steps": steps}))
    pd.DataFrame({"experiment": "skd_table4", "variant": ["full", "full", "Ablation-S"],
                  "run": [str(tmp_path / "run0"), str(tmp_path / "run1"), "x"], "nss": [1, 1, 1]}).to_csv(
        res / "skd_table4.csv", index=False)
    ctx = SimpleNamespace(runs_root=tmp_path, profile="p", cfg={})
    assert budget.extra_steps(ctx, "skd_table4", "full") == 110
    out = budget.apply(pd.DataFrame([_row("skd", "spatiotemporal S_st beats temporal-only (Ablation-T)")]), ctx)
    assert "(110 steps)" in out.loc[0, "note"]
