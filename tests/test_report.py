"""salkd.report: tables from fake results, the claims' verdict logic, make_all on a partial pipeline."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from salkd import report, tables, verdicts
from salkd.config import get_profile

FIX = ["auc_judd", "sauc", "nss", "sim", "cc"]


def _ctx(tmp_path: Path) -> SimpleNamespace:
    root = tmp_path / "runs"
    (root / "smoke" / "results").mkdir(parents=True)
    return SimpleNamespace(profile="smoke", cfg=get_profile("smoke"), runs_root=root, data=None)


def _run(ctx, name: str, nss_per_video: list[float], vids: list[str] | None = None) -> Path:
    """A fake run folder with eval_test.csv (per-video rows + overall)."""
    run = Path(ctx.runs_root) / "fake" / name
    run.mkdir(parents=True, exist_ok=True)
    vids = vids or [f"v{i}" for i in range(len(nss_per_video))]
    ev = pd.DataFrame({"nss": nss_per_video, "cc": np.full(len(vids), 0.5)}, index=vids)
    ev.loc["overall"] = [float(np.mean(nss_per_video)), 0.5]
    ev.index.name = "video"
    ev.to_csv(run / "eval_test.csv")
    return run


def _write(ctx, experiment: str, rows: list[dict]) -> None:
    base = {"experiment": experiment, "paper": "skd", "teacher": "dva", "res": 64, "split": "test", "n_frames": 10}
    df = pd.DataFrame([{**base, **r} for r in rows])
    for m in FIX:
        if m not in df:
            df[m] = 0.5
    df.to_csv(Path(ctx.runs_root) / "smoke" / "results" / f"{experiment}.csv", index=False)


def _fix_row(ctx, variant: str, vals: list[float], **kw) -> dict:
    run = _run(ctx, f"{variant}-{kw.get('res', 64)}-{kw.get('teacher', 'dva')}-{kw.get('mu', '')}-{kw.get('seed', 0)}",
               vals)
    return {"variant": variant, "run": str(run), "nss": float(np.mean(vals)), **kw}


rng = np.random.default_rng(0)
BASE = list(1.5 + 0.3 * rng.standard_normal(12))


def test_verdict_rules():
    V = verdicts
    assert V.verdict_better(0.2, 0.05) == V.REPRODUCED
    assert V.verdict_better(-0.2, 0.05) == V.NOT_REPRODUCED
    assert V.verdict_better(0.01, 0.05) == V.INCONCLUSIVE
    assert V.verdict_better(None, 0.05) == V.NOT_MEASURED
    # "as good as": a difference within the noise is not evidence of equality
    assert V.verdict_not_worse(-0.01, 0.05) == V.INCONCLUSIVE
    assert V.verdict_not_worse(0.1, 0.05) == V.REPRODUCED
    assert V.verdict_not_worse(-0.1, 0.05) == V.NOT_REPRODUCED
    assert V.verdict_not_worse(None, 0.05) == V.NOT_MEASURED
    assert V.verdict_best({0.0: 1.0, 0.5: 1.3, 1.0: 1.1}, 0.5, 0.1) == (V.REPRODUCED, pytest.approx(0.2))
    assert V.verdict_best({0.0: 1.4, 0.5: 1.3}, 0.5, 0.05)[0] == V.NOT_REPRODUCED
    assert V.verdict_best({0.0: 1.31, 0.5: 1.3}, 0.5, 0.05)[0] == V.INCONCLUSIVE
    assert V.verdict_best({0.5: 1.3}, 0.5, 0.05)[0] == V.NOT_MEASURED
    assert V.verdict_best({0.0: 0.02, 0.7: 0.01}, 0.7, 0.001, higher=False)[0] == V.REPRODUCED
    assert V.verdict_close(0.31e0, 0.30, 0.2) == V.REPRODUCED
    assert V.verdict_close(0.9, 0.30, 0.2) == V.NOT_REPRODUCED
    assert V.verdict_close(None, 0.30, 0.2) == V.NOT_MEASURED
    assert V.verdict_at_least(500.0, 411.7) == V.REPRODUCED
    assert V.verdict_at_least(300.0, 411.7) == V.NOT_REPRODUCED
    assert V.verdict_at_least(None, 411.7) == V.NOT_MEASURED
    # what the data cannot carry: one seed or one source video
    assert V.cap(V.REPRODUCED, seeds=3, sources=6) == V.REPRODUCED
    assert V.cap(V.REPRODUCED, seeds=1, sources=6) == V.CONSISTENT
    assert V.cap(V.NOT_REPRODUCED, seeds=3, sources=1) == V.INCONSISTENT
    assert V.cap(V.INCONCLUSIVE, seeds=1, sources=1) == V.INCONCLUSIVE
    assert V.cap(V.NOT_MEASURED, seeds=1, sources=1) == V.NOT_MEASURED
    assert V.REPRODUCED not in (V.CONSISTENT, V.INCONCLUSIVE, V.BY_CONSTRUCTION, V.NOT_COMPARABLE)


def _seeds(ctx, variant: str, vals: list[float], n: int = 3, spread: float = 0.01, **kw) -> list[dict]:
    """``n`` training seeds of one variant: the same per-video values shifted by a small seed effect."""
    return [_fix_row(ctx, variant, [v + spread * (k - (n - 1) / 2) for v in vals], seed=k, **kw) for k in range(n)]


def _claim(df: pd.DataFrame, text: str) -> pd.Series:
    hit = df[df["claim"].str.contains(text, regex=False)]
    assert len(hit) >= 1, text
    return hit.iloc[0]


def test_claims_reproduced_and_not(tmp_path):
    ctx = _ctx(tmp_path)
    # three seeds each: full clearly beats Ablation-O on every video (paired) -> reproduced;
    # Ablation-S is clearly better than full -> not reproduced; Ablation-T differs by noise -> inconclusive
    noise = list(0.02 * rng.standard_normal(12))
    _write(ctx, "skd_table4", [
        *_seeds(ctx, "full", BASE),
        *_seeds(ctx, "Ablation-O", [b - 0.3 for b in BASE]),
        *_seeds(ctx, "Ablation-S", [b + 0.3 for b in BASE]),
        *_seeds(ctx, "Ablation-T", [b + n for b, n in zip(BASE, noise)]),
    ])
    _write(ctx, "skd_mu", [r for m, d in ((0.0, 0.0), (0.5, 0.2), (1.0, -0.3))
                           for r in _seeds(ctx, "mu", [b + d for b in BASE], mu=m)])
    df = report.claims(ctx)
    assert _claim(df, "Ablation-O")["verdict"] == verdicts.REPRODUCED
    assert _claim(df, "spatial-only (Ablation-S)")["verdict"] == verdicts.NOT_REPRODUCED
    assert _claim(df, "temporal-only (Ablation-T)")["verdict"] == verdicts.INCONCLUSIVE
    assert _claim(df, "mu = 0.5")["verdict"] == verdicts.REPRODUCED
    assert _claim(df, "CA-Res beats MB")["verdict"] == verdicts.NOT_MEASURED       # uva_fig6 not run
    assert _claim(df, "GPU")["verdict"] == verdicts.NOT_MEASURED
    assert _claim(df, "SKD-DVA-64 NSS on AVS1K")["verdict"] == verdicts.NOT_MEASURED
    assert set(df["verdict"]) <= set(verdicts.VERDICTS)
    row = _claim(df, "Ablation-O")
    assert row["margin"] == pytest.approx(0.3, abs=1e-9) and row["noise"] < 0.05 and "3 seed(s)" in row["note"]
    assert "2.100" in row["paper_value"] and row["data"].startswith("smoke")


def test_one_seed_is_at_most_consistent(tmp_path):
    ctx = _ctx(tmp_path)
    _write(ctx, "skd_table4", [_fix_row(ctx, "full", BASE), _fix_row(ctx, "Ablation-O", [b - 0.3 for b in BASE]),
                               _fix_row(ctx, "Ablation-S", [b + 0.3 for b in BASE])])
    df = report.claims(ctx)
    assert _claim(df, "Ablation-O")["verdict"] == verdicts.CONSISTENT
    assert _claim(df, "spatial-only (Ablation-S)")["verdict"] == verdicts.INCONSISTENT
    assert "training-seed noise not measured" in _claim(df, "Ablation-O")["note"]
    md = report.write_claims(df, tmp_path / "out", ctx)[0].read_text()
    assert "| all |" in md and "| consistent |" in md.replace("| consistent | inconclusive", "| consistent |")
    assert "central claims" in md and "Ablation-O" in md.split("central claims")[1].split("\n")[0]


def test_mu_not_best_and_speed_claims(tmp_path):
    ctx = _ctx(tmp_path)
    _write(ctx, "skd_mu", [_fix_row(ctx, "mu", [b + d for b in BASE], mu=m)
                           for m, d in ((0.0, 0.4), (0.5, 0.0), (1.0, -0.3))])
    pd.DataFrame([
        {"model": "skd_st", "res": 64, "batch": 64, "runtime": "eager", "threads": 2, "params": 301_000,
         "macs": 1e8, "mem_mb": 0.6, "fps": 5000.0, "accurate": True, "status": "ok"},
        {"model": "skd_st", "res": 32, "batch": 64, "runtime": "eager", "threads": 2, "params": 301_000,
         "macs": 1e7, "mem_mb": 0.15, "fps": 900.0, "accurate": True, "status": "ok"},
        {"model": "uva_st", "res": 64, "batch": 64, "runtime": "eager", "threads": 2, "params": 900_000,
         "macs": 1e8, "mem_mb": 9.0, "fps": 50.0, "accurate": True, "status": "ok"},
    ]).to_csv(Path(ctx.runs_root) / "smoke" / "results" / "speed.csv", index=False)
    df = report.claims(ctx)
    assert _claim(df, "mu = 0.5")["verdict"] == verdicts.INCONSISTENT               # one seed: capped
    assert _claim(df, "skd_st has 0.3 M")["verdict"] == verdicts.BY_CONSTRUCTION   # widths fitted to the paper
    assert _claim(df, "uva_st has 0.16 M")["verdict"] == verdicts.BY_CONSTRUCTION
    fps = _claim(df, "skd_st at 64x64: 411.7 FPS")
    assert fps["metric"] == "CPU FPS (1 thread)" and fps["ours"] > 0 and "1 thread, batch 1" in fps["data"]
    assert fps["verdict"] == verdicts.NOT_COMPARABLE and "shown, not judged" in fps["note"]   # another CPU
    assert "best on 2 cores: 5000.0 FPS" in fps["note"]                           # the bench's figure, beside
    assert _claim(df, "skd_st at 64x64: memory")["verdict"] == verdicts.NOT_COMPARABLE


def test_fastvsod_claims_lower_better_and_not_worse(tmp_path):
    ctx = _ctx(tmp_path)
    rows = []
    for v, f, mae in (("BS", 0.70, 0.08), ("+SD", 0.75, 0.06), ("+SD+TD", 0.76, 0.05), ("+SD+FE_o", 0.77, 0.05),
                      ("+SD+TD+FE_t", 0.781, 0.05), ("full", 0.78, 0.045)):
        rows.append({"experiment": "fastvsod_table3", "variant": v, "paper": "fastvsod", "teacher": "", "res": 128,
                     "run": "", "split": "test", "max_f": f, "mae": mae, "n_frames": 20})
    pd.DataFrame(rows).to_csv(Path(ctx.runs_root) / "smoke" / "results" / "fastvsod_table3.csv", index=False)
    df = report.claims(ctx)
    assert _claim(df, "full model (SD+TD+FE_o) beats the baseline (MAE)")["verdict"] == verdicts.CONSISTENT
    assert _claim(df, "self-distillation improves")["verdict"] == verdicts.CONSISTENT
    # FE_t better by 0.001 < floor: within the noise, which is no evidence that FE is not needed at test; the
    # paper's own effect (0.002 + the margin) is below what 5 % assumed noise can detect: underpowered
    assert _claim(df, "not needed at test")["verdict"] == verdicts.UNDERPOWERED


def test_tables_writers_and_make_all_partial(tmp_path, capsys):
    ctx = _ctx(tmp_path)
    rows = [_fix_row(ctx, "S_st", [b + 0.1 * (r == 64) for b in BASE], teacher=t, res=r)
            for t in ("dva", "salnet") for r in (32, 64, 128)]
    _write(ctx, "skd_table3", rows)
    out = tmp_path / "figs"
    written = report.make_all(ctx, out, predictions_figures=False)
    names = {p.name for p in written}
    assert {"skd_table3.csv", "skd_table3.md", "skd_table3.tex", "skd_table2.md", "CLAIMS.md",
            "skd_table3_plot.png", "skd_table3_plot.pdf", "skd_table1.csv"} <= names
    assert "uva_fig6.csv" not in names                          # missing experiment: skipped with a note
    assert "uva_fig6" in capsys.readouterr().out
    t3 = pd.read_csv(out / "skd_table3.csv")
    row = t3[(t3["teacher"] == "dva") & (t3["res"] == 64)].iloc[0]
    assert row["NSS"] == pytest.approx(np.mean(BASE) + 0.1) and row["NSS (paper)"] == pytest.approx(2.100)
    assert (t3["data"] == "not run here").any()                  # paper rows we did not run are kept, marked
    md = (out / "skd_table2.md").read_text()
    assert "n/a (AVS1K categories not available)" in md
    tex = (out / "skd_table3.tex").read_text()
    assert r"\begin{tabular}" in tex and "NSS (paper)" in tex
    claims_md = (out / "CLAIMS.md").read_text()
    assert "## skd" in claims_md and "64x64 beats 128x128" in claims_md


def test_markdown_and_latex_escape():
    df = pd.DataFrame({"a_b": ["x|y", None], "v": [1.23456, float("nan")]})
    md = tables.to_markdown(df, "cap", "note")
    assert "| a_b | v |" in md and "x/y" in md and "1.235" in md and "—" in md
    tex = tables.to_latex(df, "50% & more")
    assert r"a\_b" in tex and r"50\% \& more" in tex


def test_no_error_bar_uses_relative_noise(tmp_path):
    ctx = _ctx(tmp_path)
    # no run folders (no per-video values), one seed: a 2 % difference is inconclusive, 20 % is not
    _write(ctx, "skd_table4", [{"variant": "full", "run": "", "nss": 1.02}, {"variant": "Ablation-S", "run": "", "nss": 1.0},
                               {"variant": "Ablation-O", "run": "", "nss": 0.8}])
    df = report.claims(ctx)
    assert _claim(df, "Ablation-S")["verdict"] == verdicts.UNDERPOWERED   # the paper's 0.015 NSS < detectable
    assert _claim(df, "Ablation-O")["verdict"] == verdicts.CONSISTENT
    assert "no error bar" in _claim(df, "Ablation-O")["note"]


def test_noise_over_clips_of_one_video_is_flagged(tmp_path):
    ctx = _ctx(tmp_path)
    clips = [f"0002@{30 * k:04d}-{30 * k + 29:04d}" for k in range(3)]
    vals = [3.0, 3.2, 3.1]
    _write(ctx, "skd_table4", [
        {"variant": "full", "run": str(_run(ctx, "full", vals, clips)), "nss": float(np.mean(vals))},
        {"variant": "Ablation-O", "run": str(_run(ctx, "o", [v - 0.5 for v in vals], clips)),
         "nss": float(np.mean(vals)) - 0.5},
    ])
    note = _claim(report.claims(ctx), "Ablation-O")["note"]
    assert "3 test clips of 1 video(s)" in note and "underestimates" in note


def test_a_failing_table_stops_the_report_unless_asked_to_keep_going(tmp_path, monkeypatch):
    ctx = _ctx(tmp_path)
    _write(ctx, "skd_table4", [_fix_row(ctx, "full", BASE), _fix_row(ctx, "Ablation-O", [b - 0.3 for b in BASE])])

    def broken(c):
        raise KeyError("no column 'nss'")

    ref, _, caption = report.TABLES["skd_table4"]
    monkeypatch.setitem(report.TABLES, "skd_table4", (ref, broken, caption))
    monkeypatch.delenv("SALKD_KEEP_GOING", raising=False)
    with pytest.raises(report.ReportError, match="skd_table4"):
        report.make_all(ctx, tmp_path / "strict", predictions_figures=False)
    written = report.make_all(ctx, tmp_path / "lenient", predictions_figures=False, strict=False)
    claims_md = (tmp_path / "lenient" / "CLAIMS.md").read_text()
    assert "## Not built" in claims_md and "`skd_table4`: KeyError" in claims_md
    assert tmp_path / "lenient" / "skd_table4.md" not in written
    monkeypatch.setenv("SALKD_KEEP_GOING", "1")   # what `salkd reproduce --keep-going` sets for the kernels
    report.make_all(ctx, tmp_path / "env", predictions_figures=False)
    assert "## Not built" in (tmp_path / "env" / "CLAIMS.md").read_text()


def test_rows_name_their_evaluation_file(tmp_path):
    """A result row's error bar comes from the evaluation file it names, not from a value match."""
    from salkd.results import summarize

    ctx = _ctx(tmp_path)
    run = _run(ctx, "two-outputs", [1.0, 2.0, 3.0])
    other = pd.read_csv(run / "eval_test.csv", index_col=0)
    other["nss"] = [5.0, 5.0, 9.0, 19 / 3]
    other.to_csv(run / "eval_test_spatial.csv")
    df = pd.DataFrame([{"variant": "spa", "run": str(run), "split": "test", "eval_file": "eval_test_spatial.csv",
                        "nss": 19 / 3, "video": "overall"}])
    s = summarize(ctx, df.drop(columns="video"), "nss", variant="spa")
    assert list(s.videos) == [5.0, 5.0, 9.0]


def test_student_keeps_its_teachers_accuracy_is_a_paired_claim(tmp_path):
    ctx = _ctx(tmp_path)
    _write(ctx, "teachers", [_fix_row(ctx, "dva", BASE, res=96)])
    _write(ctx, "skd_table3", [_fix_row(ctx, "S_st", [b - 0.5 for b in BASE], res=64)])
    row = _claim(report.claims(ctx), "keeps its teacher's accuracy")
    assert row["paper"] == "skd" and row["verdict"] == verdicts.INCONSISTENT   # 0.5 NSS below on every video, 1 seed
    assert "+2.7% NSS vs the teacher" == row["paper_value"]
    _write(ctx, "skd_table3", [_fix_row(ctx, "S_st", [b + 0.001 for b in BASE], res=64)])
    row = _claim(report.claims(ctx), "keeps its teacher's accuracy")
    # 0.001 above on every video: the interval lies far above -3.1 % of the teacher's NSS (the paper's margin):
    # non-inferior, capped to consistent by the single seed
    assert row["verdict"] == verdicts.CONSISTENT and "non-inferiority" in row["note"]
    speed = _claim(report.claims(ctx), "much faster than its teacher")
    assert speed["verdict"] == verdicts.NOT_MEASURED   # a teacher trained here has no measured speed


# ---- claims added for issue 12: every quantitative claim is a row that can fail ---------------------------
def test_verdict_all_is_a_conjunction():
    V = verdicts
    assert V.verdict_all(V.REPRODUCED, V.REPRODUCED) == V.REPRODUCED
    assert V.verdict_all(V.REPRODUCED, V.CONSISTENT) == V.CONSISTENT
    assert V.verdict_all(V.CONSISTENT, V.INCONCLUSIVE) == V.INCONCLUSIVE
    assert V.verdict_all(V.CONSISTENT, V.NOT_MEASURED) == V.NOT_MEASURED
    assert V.verdict_all(V.NOT_MEASURED, V.NOT_REPRODUCED) == V.NOT_REPRODUCED   # a failing part is never hidden
    assert V.verdict_all(V.REPRODUCED, V.INCONSISTENT) == V.INCONSISTENT
    assert V.verdict_all() == V.NOT_MEASURED
    with pytest.raises(ValueError):
        V.verdict_all("maybe")


def _rows(df: pd.DataFrame, paper: str) -> pd.DataFrame:
    return df[df["paper"] == paper]


def test_resolution_ladder_claims(tmp_path):
    ctx = _ctx(tmp_path)
    up = {32: -0.1, 64: 0.0, 128: -0.3, 256: -0.6}          # the paper's shape: 64 best, then 32, 128, 256
    _write(ctx, "skd_table3", [_fix_row(ctx, "S_st", [b + d for b in BASE], res=r) for r, d in up.items()])
    _write(ctx, "uva_table3", [{**_fix_row(ctx, "S_sp", [b + d for b in BASE], res=r), "paper": "uvanet"}
                               for r, d in ((32, -0.1), (64, 0.0))])
    df = report.claims(ctx)
    skd = _rows(df, "skd")
    assert _claim(skd, "dva: 64x64 beats 128x128")["verdict"] == verdicts.CONSISTENT
    assert _claim(skd, "dva: 128x128 beats 256x256")["verdict"] == verdicts.CONSISTENT
    assert _claim(skd, "dva: 64x64 beats 32x32")["verdict"] == verdicts.CONSISTENT
    best = _claim(skd, "dva: 64x64 is the best resolution")
    assert best["verdict"] == verdicts.CONSISTENT and "32x32" in best["note"]      # rival = the runner-up
    # every comparison shows the paper's own effect beside the smallest effect our design detects
    assert _claim(skd, "dva: 64x64 beats 128x128")["paper_effect"] == pytest.approx(2.100 - 1.860)
    assert best["paper_effect"] == pytest.approx(2.100 - 2.040) and best["detectable"] > 0
    uva = _rows(df, "uvanet")                                # 32 and 64 only: the rest is not measured, and says why
    drop = _claim(uva, "dva: 64x64 beats 256x256")
    assert drop["verdict"] == verdicts.NOT_MEASURED and "no runs at 256 in this profile" in drop["note"]
    assert "-27.0% at 256" in drop["paper_value"]
    assert _claim(uva, "dva: 96x96 beats 128x128")["verdict"] == verdicts.NOT_MEASURED
    assert _claim(uva, "dva: 64x64 is the best resolution")["verdict"] == verdicts.NOT_MEASURED
    assert _claim(uva, "dva: 64x64 beats 32x32")["verdict"] == verdicts.CONSISTENT
    # data redundancy does not hold: higher resolutions win
    up = {32: -0.3, 64: 0.0, 128: 0.3, 256: 0.6}
    _write(ctx, "skd_table3", [_fix_row(ctx, "S_st", [b + d for b in BASE], res=r) for r, d in up.items()])
    skd = _rows(report.claims(ctx), "skd")
    assert _claim(skd, "dva: 64x64 beats 128x128")["verdict"] == verdicts.INCONSISTENT
    assert _claim(skd, "dva: 128x128 beats 256x256")["verdict"] == verdicts.INCONSISTENT
    assert _claim(skd, "dva: 64x64 is the best resolution")["verdict"] == verdicts.INCONSISTENT


def test_ablation_o_lowest_and_mu_shape(tmp_path):
    ctx = _ctx(tmp_path)
    shift = {"full": 0.0, "Ablation-S": -0.1, "Ablation-T": -0.2, "Ablation-O": -0.4}
    _write(ctx, "skd_table4", [r for v, d in shift.items() for r in _seeds(ctx, v, [b + d for b in BASE], spread=0.001)])
    # flat on [0, 0.6] (within 1 % of the best), a drop above
    _write(ctx, "skd_mu", [r for m, d in ((0.0, 0.0), (0.3, 0.001), (0.6, 0.0), (1.0, -0.5))
                           for r in _seeds(ctx, "mu", [b + d for b in BASE], spread=0.001, mu=m)])
    skd = _rows(report.claims(ctx), "skd")
    assert _claim(skd, "Ablation-O is the lowest")["verdict"] == verdicts.REPRODUCED
    assert _claim(skd, "Ablation-O is the lowest")["paper_effect"] == pytest.approx(2.007 - 1.943)
    assert _claim(skd, "NSS is flat for mu in [0, 0.6]")["verdict"] == verdicts.REPRODUCED
    assert _claim(skd, "NSS drops for mu above 0.6")["verdict"] == verdicts.REPRODUCED
    shift["Ablation-O"] = 0.2                                  # Ablation-O is the best, not the lowest
    _write(ctx, "skd_table4", [r for v, d in shift.items() for r in _seeds(ctx, v, [b + d for b in BASE], spread=0.001)])
    _write(ctx, "skd_mu", [r for m, d in ((0.0, 0.0), (0.3, -0.3), (0.6, 0.0), (1.0, 0.3))
                           for r in _seeds(ctx, "mu", [b + d for b in BASE], spread=0.001, mu=m)])
    skd = _rows(report.claims(ctx), "skd")
    o = _claim(skd, "Ablation-O is the lowest")
    assert o["verdict"] == verdicts.NOT_REPRODUCED and "Ablation-T" in o["note"]
    assert _claim(skd, "NSS is flat for mu in [0, 0.6]")["verdict"] == verdicts.NOT_REPRODUCED
    assert _claim(skd, "NSS drops for mu above 0.6")["verdict"] == verdicts.NOT_REPRODUCED


def _sod(ctx, experiment: str, rows: list[tuple]) -> None:
    """A fastvsod result table without run folders (no per-video values: the 5 % relative noise applies)."""
    out = []
    for r in rows:
        v, f, mae, *alpha = r
        out.append({"experiment": experiment, "variant": v, "paper": "fastvsod", "teacher": "", "res": 64, "run": "",
                    "split": "test", "max_f": f, "mae": mae, **({"alpha": alpha[0]} if alpha else {})})
    pd.DataFrame(out).to_csv(Path(ctx.runs_root) / "smoke" / "results" / f"{experiment}.csv", index=False)


def test_fastvsod_fusion_alpha_encoder_claims_with_mae_beside(tmp_path):
    ctx = _ctx(tmp_path)
    _sod(ctx, "fastvsod_table3", [("BS", 0.60, 0.10), ("+SD", 0.65, 0.09), ("+SD+TD", 0.65, 0.09),
                                  ("+SD+FE_o", 0.75, 0.06), ("+SD+TD+FE_t", 0.80, 0.05), ("full", 0.80, 0.05)])
    _sod(ctx, "fastvsod_fig6", [("attention", 0.80, 0.05), ("multiply", 0.80, 0.05), ("add", 0.70, 0.08),
                                ("concat", 0.70, 0.08)])
    _sod(ctx, "fastvsod_fig7", [("alpha=0.1", 0.60, 0.09, 0.1), ("alpha=0.5", 0.70, 0.07, 0.5),
                                ("alpha=0.7", 0.80, 0.05, 0.7), ("alpha=0.9", 0.90, 0.04, 0.9)])
    fv = _rows(report.claims(ctx), "fastvsod")
    C = verdicts.CONSISTENT
    for f in ("attention", "multiply", "add", "concat"):
        assert _claim(fv, f"the {f} encoder improves on no encoder (+SD+TD)")["verdict"] == C
    assert _claim(fv, "Multiply beats ADD")["verdict"] == C
    assert _claim(fv, "mutual attention beats Concat")["verdict"] == C
    assert _claim(fv, "Multiply about as good as mutual attention")["verdict"] == verdicts.UNDERPOWERED
    assert _claim(fv, "+SD+FE_o vs +SD")["verdict"] == C
    assert _claim(fv, "alpha = 0.7 beats alpha = 0.1")["verdict"] == C
    assert _claim(fv, "alpha = 0.7 beats alpha = 0.9")["verdict"] == verdicts.INCONSISTENT
    assert _claim(fv, "alpha = 0.7 beats alpha = 0.9 (MAE)")["verdict"] == verdicts.INCONSISTENT
    # MAE beside every max-F claim
    maxf, mae = fv[fv["metric"] == "max_f"], set(fv.loc[fv["metric"] == "mae", "claim"])
    for text in maxf["claim"]:
        assert (text + " (MAE)" in mae) or text.startswith("DAVIS-T max F"), text
    assert any(t.startswith("DAVIS-T MAE") for t in mae)
    # a naive fusion that hurts, an encoder that does not help on SD
    _sod(ctx, "fastvsod_fig6", [("attention", 0.80, 0.05), ("add", 0.50, 0.12)])
    _sod(ctx, "fastvsod_table3", [("+SD", 0.75, 0.06), ("+SD+TD", 0.65, 0.09), ("+SD+FE_o", 0.60, 0.10)])
    fv = _rows(report.claims(ctx), "fastvsod")
    assert _claim(fv, "the add encoder improves on no encoder (+SD+TD)")["verdict"] == verdicts.INCONSISTENT
    assert _claim(fv, "the add encoder improves on no encoder (+SD+TD) (MAE)")["verdict"] == verdicts.INCONSISTENT
    assert _claim(fv, "+SD+FE_o vs +SD")["verdict"] == verdicts.INCONSISTENT
    assert _claim(fv, "the concat encoder improves")["verdict"] == verdicts.NOT_MEASURED   # not run


def _teachers_and_students(ctx, teacher_params: float, teacher_mem: float, student_shift: float,
                           salnet_shift: float) -> None:
    _write(ctx, "teachers", [{**_fix_row(ctx, "dva", BASE, res=96), "params": teacher_params, "mem_mb": teacher_mem,
                              "fps_1thread": 10.0},
                             {**_fix_row(ctx, "salnet", [b + salnet_shift for b in BASE], res=96), "params": 2e7}])
    _write(ctx, "skd_table3", [{**_fix_row(ctx, "S_st", [b + student_shift for b in BASE], res=r), "params": 300_000}
                               for r in (32, 64)])
    pd.DataFrame([{"model": "skd_st", "res": r, "batch": 1, "runtime": "eager", "threads": 1, "params": 300_000,
                   "mem_mb": m, "fps": 100.0, "accurate": True, "status": "ok"} for r, m in ((32, 0.1), (64, 0.5))]
                 ).to_csv(Path(ctx.runs_root) / "smoke" / "results" / "speed.csv", index=False)


def _speeds(student: float, teacher: float, macs: tuple[float, float] = (1e8, 2.5e8), teacher_act: float = 100.0):
    """A stand-in for the one-thread timing (and the MACs per frame, and the teacher's activation memory in MB per
    output map) of a run folder: students' runs are named "S_...", teachers' not."""
    def cost(ctx, run, what):
        is_student = Path(str(run)).name.startswith("S_")
        if what == "act_mb":
            return teacher_act
        if what == "macs":
            return macs[0] if is_student else macs[1]
        return student if is_student else teacher
    return cost


def test_student_against_other_models_reductions_and_trade_off(tmp_path, monkeypatch):
    from salkd.papers import common

    ctx = _ctx(tmp_path)
    monkeypatch.setattr(common, "run_cost", _speeds(student=500.0, teacher=10.0))   # 1-thread frames/s
    _teachers_and_students(ctx, teacher_params=3e7, teacher_mem=100.0, student_shift=0.3, salnet_shift=-0.2)
    skd = _rows(report.claims(ctx), "skd")
    C, NR = verdicts.CONSISTENT, verdicts.NOT_REPRODUCED
    assert _claim(skd, "beats the SalNet model")["verdict"] == C and "+14.4% NSS" in _claim(skd, "SalNet model")["paper_value"]
    assert _claim(skd, "beats the STS model")["verdict"] == verdicts.NOT_MEASURED
    assert not len(skd[skd["claim"].str.contains("beats the DVA model")])    # dva is the teacher: the "keeps" row
    prm = _claim(skd, "far fewer parameters")
    assert prm["verdict"] == verdicts.REPRODUCED and prm["ours"].startswith("99.0% fewer")
    # activation memory per output map, one definition: the deployed skd_st measures 0.75 MB at 64, 0.19 MB at 32
    assert _claim(skd, "at 64x64 needs far less memory")["verdict"] == verdicts.REPRODUCED    # 133x vs 101.7x
    assert _claim(skd, "at 32x32 needs far less memory")["verdict"] == verdicts.REPRODUCED    # 533x vs 421.5x
    assert "per output map" in _claim(skd, "at 64x64 needs far less memory")["note"]
    sp = _claim(skd, "much faster than its teacher")
    assert sp["verdict"] == verdicts.REPRODUCED and sp["ours"] == pytest.approx(50.0)
    assert "student 100.0 M, teacher 250.0 M (2.5x fewer" in sp["note"]   # what the arithmetic alone allows
    trade = _claim(skd, "trade-off")
    assert trade["verdict"] == C and trade["central"]                # accuracy consistent (1 seed), speed reproduced
    # a small, memory-light teacher, a student slower than 20x and worse than SalNet
    monkeypatch.setattr(common, "run_cost", _speeds(student=50.0, teacher=10.0, teacher_act=10.0))
    _teachers_and_students(ctx, teacher_params=1e6, teacher_mem=10.0, student_shift=0.3, salnet_shift=0.6)
    skd = _rows(report.claims(ctx), "skd")
    assert _claim(skd, "beats the SalNet model")["verdict"] == verdicts.INCONSISTENT
    assert _claim(skd, "far fewer parameters")["verdict"] == NR
    assert _claim(skd, "at 64x64 needs far less memory")["verdict"] == NR
    assert _claim(skd, "much faster than its teacher")["verdict"] == NR
    trade = _claim(skd, "trade-off")
    assert trade["verdict"] == NR and "speed not reproduced" in trade["note"]


def test_uvanet_speedup_dhf1k_and_distilled_branches(tmp_path, monkeypatch):
    from salkd.papers import common, uvanet
    from salkd.papers.numbers import PAPER

    assert {b for b, _ in uvanet.FIG6_BRANCHES} <= set(PAPER["uva_fig6"])     # the branches are "+dis" variants
    assert not any("+scratch" in b for b, _ in uvanet.FIG6_BRANCHES)
    ctx = _ctx(tmp_path)
    ctx.cfg["skd"]["teachers"] = ["tinyhd_m"]                                     # a published DHF1K teacher
    ctx.cfg["data"]["fixation"] = {"source": "shared:dhf1k_sample", "split": {"by": "time"}}
    monkeypatch.setattr(common, "run_cost", _speeds(student=2000.0, teacher=10.0))
    _write(ctx, "teachers", [{**_fix_row(ctx, "tinyhd_m", BASE, teacher="tinyhd_m", res=192), "fps_1thread": 10.0}])
    _write(ctx, "uva_table3", [{**_fix_row(ctx, "S_sp", [0.9 * b for b in BASE], teacher="tinyhd_m", res=r),
                                "paper": "uvanet"} for r in (32, 64)])
    _write(ctx, "uva_fig6", [{**_fix_row(ctx, v, [b + d for b in BASE]), "paper": "uvanet"}
                             for v, d in (("CA-Res+dis", 0.0), ("CA-Res+spa+dis", -0.3), ("CA-Res+tmp+dis", 0.3))])
    uva = _rows(report.claims(ctx), "uvanet")
    assert _claim(uva, "206x faster than DVA")["verdict"] == verdicts.REPRODUCED          # 200x vs the paper's 162x
    assert _claim(uva, "comparable with the leading model")["verdict"] == verdicts.CONSISTENT  # 90 % vs 65 %
    assert _claim(uva, "two orders of magnitude faster")["verdict"] == verdicts.REPRODUCED
    assert _claim(uva, "on DHF1K val")["verdict"] == verdicts.NOT_MEASURED
    assert _claim(uva, "spatial-only (distilled")["verdict"] == verdicts.CONSISTENT
    assert _claim(uva, "temporal-only (distilled")["verdict"] == verdicts.INCONSISTENT
    monkeypatch.setattr(common, "run_cost", _speeds(student=100.0, teacher=10.0))
    _write(ctx, "uva_table3", [{**_fix_row(ctx, "S_sp", [0.5 * b for b in BASE], teacher="tinyhd_m", res=r),
                                "paper": "uvanet"} for r in (32, 64)])
    uva = _rows(report.claims(ctx), "uvanet")
    assert _claim(uva, "206x faster than DVA")["verdict"] == verdicts.NOT_REPRODUCED
    assert _claim(uva, "comparable with the leading model")["verdict"] == verdicts.INCONSISTENT
    assert _claim(uva, "two orders of magnitude faster")["verdict"] == verdicts.NOT_REPRODUCED
    ctx.cfg["data"]["fixation"] = {"source": "synthetic"}                       # not DHF1K: not measured, and why
    row = _claim(_rows(report.claims(ctx), "uvanet"), "comparable with the leading model")
    assert row["verdict"] == verdicts.NOT_MEASURED and "not DHF1K" in row["note"]


def test_claims_say_in_which_precision_the_runs_were_trained(tmp_path) -> None:
    import json

    from salkd.claims import training_precision_line

    assert "no trained runs" in training_precision_line(tmp_path)
    for i, prec in enumerate(["fp32", None, "bf16"]):
        run = tmp_path / "skd_st" / f"r{i}"
        run.mkdir(parents=True)
        (run / "env.json").write_text(json.dumps({"precision": prec}))
    line = training_precision_line(tmp_path)
    assert "1 in bf16" in line and "2 in fp32" in line
    (tmp_path / "skd_st" / "r2" / "env.json").write_text(json.dumps({"precision": "fp32"}))
    assert training_precision_line(tmp_path) == "Training precision: every run (3) was trained in fp32."


def test_ablation_and_sweep_rows_say_their_resolution_and_seeds():
    """Tables printed beside the papers' 64 px numbers say at which input ours ran, and over how many seeds."""
    import pandas as pd

    from salkd.papers.common import runs_desc

    ov = pd.DataFrame({"res": [32, 32, 32], "seed": [0, 1, 2]})
    assert runs_desc(ov) == {"input (ours)": "32x32", "seeds": 3}
    assert runs_desc(pd.DataFrame({"res": [64, 32]})) == {"input (ours)": "32x32, 64x64", "seeds": 1}


def test_a_configuration_uses_every_seed_it_has(tmp_path):
    """skd Table III's S_st / DVA / 64x64 is seed 0 of Table IV's "full": its row counts Table IV's seeds."""
    from salkd import results

    ctx = _ctx(tmp_path)
    t4 = _seeds(ctx, "full", BASE, spread=0.3)                       # seeds 0, 1, 2
    _write(ctx, "skd_table4", t4)
    seed0 = {k: v for k, v in t4[0].items() if k != "seed"}
    _write(ctx, "skd_table3", [{**seed0, "variant": "S_st"}, _fix_row(ctx, "S_st", BASE, res=32)])
    t3 = results.load_or_none(ctx, "skd_table3")
    s64 = results.summarize(ctx, t3, "nss", variant="S_st", teacher="dva", res=64)
    assert s64.n_runs == 3 and s64.value == pytest.approx(np.mean([r["nss"] for r in t4]))
    assert sorted(t3.loc[t3["res"] == 64, "seed"].astype(int)) == [0, 1, 2]
    assert results.summarize(ctx, t3, "nss", variant="S_st", teacher="dva", res=32).n_runs == 1
    assert len(results.load_or_none(ctx, "skd_table4")) == 3               # nothing borrowed the other way
    row = _claim(_rows(report.claims(ctx), "skd"), "dva: 64x64 beats 32x32")
    assert "3 vs 1 seed(s)" in row["note"]
    # another output of the same run (its spatial branch) is another configuration: no seeds borrowed
    _write(ctx, "skd_table3", [{**seed0, "variant": "S_st", "eval_file": "eval_test_spatial.csv"}])
    t3 = results.load_or_none(ctx, "skd_table3")
    assert len(t3) == 1
