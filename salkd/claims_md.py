"""CLAIMS.md, claims.csv, HOW-TO-READ.md and README's claim-count block, written from the claim rows that
:mod:`salkd.claims` builds.

:func:`write_claims` adds, in a profile's report, a ``not measured`` row for every claim of the papers'
checklist that no builder gave a row (:func:`salkd.papers.coverage.complete`), applies the budget-control
rule (:func:`salkd.papers.budget.apply`), corrects the judged rows for multiplicity
(:func:`salkd.multiplicity.correct`), writes ``CLAIMS.md`` (the rules, :data:`RULES`, in its header),
``claims.csv`` and ``HOW-TO-READ.md`` (:func:`how_to_read`); under the project's ``figures/`` it also
refreshes README's generated claim-count block (:func:`refresh_readme`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from salkd import results, tables
from salkd.atomic import write_text
from salkd.verdicts import NOT_COMPARABLE, NOT_MEASURED, VERDICTS

__all__ = ["write_claims", "rewrite_claims", "how_to_read", "read_counts", "counts_block", "refresh_readme", "noise_rule",
           "training_precision_line", "RULES", "EXPLAIN", "COLUMNS", "README_BEGIN", "README_END", "COUNTED"]


#: the verdict and noise rules, as the header of CLAIMS.md states them (:mod:`salkd.verdicts` implements them)
RULES = (
    "Verdicts: **reproduced** = the claimed direction holds by more than the noise of test units and training "
    "seeds together; **consistent** / **inconsistent** = it holds / fails by more than the noise we can "
    "measure, but that noise misses training seeds (one seed per model) or comes from clips of a single video; "
    "**inconclusive** = the difference is within the noise; **underpowered** = within the noise, and the "
    "paper's own effect (column paper_effect) is smaller than the smallest effect our design detects (column "
    "detectable): the run could not have decided it; **not reproduced** = the opposite holds by more than the "
    "full noise; **not measured** = no number of ours (experiment not run, dataset or hardware not available); "
    "**not comparable** = ours is measured under another definition; **by construction** = a fact we fitted "
    "to the paper (not evidence).\n\n"
    "Noise (column noise) = the 95 % half-width t(0.975, df) x SE of the difference A - B, where SE^2 = "
    "(variance of the per-unit differences A - B over the test videos or clips both were scored on) / (number "
    "of units) + (variance of A's per-seed scores) / (A's seeds) + the same for B (a seed part only for a side "
    "with several seeds; unpaired units when the two sides were scored on different units), and df is the "
    "Welch-Satterthwaite degrees of freedom of that sum (units - 1 and seeds - 1 per part); never below the "
    "rounding of the papers' tables (0.005 NSS, 0.002 for the other metrics, 0.001 MAE); 5 % of the score when "
    "a difference has no per-unit values and one seed per side. Each row's note gives its df, SE, units and "
    "seeds. Detectable = the smallest true effect found with 80 % power: noise + t(0.8, df) x SE. "
    "\"A is as good as B\" claims (keeps / comparable / about as good) are non-inferiority tests: reproduced "
    "when the lower end of the 95 % interval of A - B is above -m, not reproduced when its upper end is below "
    "-m, inconclusive otherwise, with the margin m taken from the paper (named in the row's note; "
    "`salkd.papers.numbers.NI_MARGINS`); their paper_effect is the paper's A - B plus m. "
    "Multiplicity: the rows with a p-value (the judged comparisons; two-sided p of the statistic the row's "
    "verdict uses) form one family per CLAIMS.md, corrected by Benjamini-Hochberg at a false discovery rate of "
    "5 % (`salkd.multiplicity`; column q = the adjusted p): a row decided at 95 % on its own whose q is above "
    "0.05 is shown as inconclusive (underpowered when the paper's effect is below the detectable one) and its "
    "note says what it was; the noise column keeps the row's own 95 % interval. BH holds for independent or "
    "positively dependent rows; rows sharing a run are positively correlated, so the 5 % is approximate. "
    "Ablations whose arms differ in optimizer steps or stages name the budget-matched control they need; "
    "without its run they are not measured (`salkd.papers.budget`). "
    "Absolute scores on the papers' datasets (AVS1K, DAVIS-T) are not comparable with "
    "ours (other data, smaller models and training), so they are listed as not measured with our number beside."
)


def write_claims(df: pd.DataFrame, out_dir: str | Path, ctx: Any = None,
                 failures: Mapping[str, str] | None = None) -> list[Path]:
    """``CLAIMS.md`` (+ ``claims.csv`` and ``HOW-TO-READ.md``, :func:`how_to_read`): the claims table grouped
    by paper, with the verdict rules. Written under the project's ``figures/``, it also refreshes README's
    claim counts (:func:`refresh_readme`)."""
    from salkd.multiplicity import correct
    from salkd.papers.coverage import complete

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from salkd.papers import budget

    if getattr(ctx, "cfg", None) is not None or getattr(ctx, "checklist", False):   # a profile's report
        df = complete(df, str(getattr(ctx, "profile", "?")))
    df = correct(budget.apply(df, ctx))
    lines = ["# Claims of the papers, checked on our runs", "",
             f"Profile: `{getattr(ctx, 'profile', '?')}`. Generated by `salkd.report.claims` "
             "(notebook 09_figures_tables); do not edit by hand.", ""]
    lines += [tables.to_markdown(_summary(df)), ""] + _central_lines(df) + ["", _multiplicity_line(df), ""]
    if ctx is not None and getattr(ctx, "runs_root", None) is not None:
        lines += [training_precision_line(Path(ctx.runs_root) / str(ctx.profile)), ""]
    elif getattr(ctx, "precision_line", None):
        lines += [str(ctx.precision_line), ""]
    if getattr(ctx, "earlier_rule", False):
        lines += [EARLIER, ""]
    lines += [RULES, ""]
    why = results.dropped(ctx, "sauc") if ctx is not None else None
    if why:
        lines += [f"{why}: no table or claim of this profile reports it.", ""]
    for paper, g in df.groupby("paper", sort=False):
        lines += [f"## {paper}", ""]
        show = g.drop(columns=[c for c in ("paper", "central", "p_value", "parts") if c in g.columns]).copy()
        for c in ("margin", "paper_effect", "detectable", "q"):
            if c in show.columns:
                show[c] = show[c].map(tables.finite_number)
        lines.append(tables.to_markdown(show))
    if failures:
        lines += ["## Not built", "", "These tables, figures or claims failed (the run was asked to continue past "
                  "failures); their verdicts are missing above.", ""]
        lines += [f"- `{k}`: {v}" for k, v in failures.items()] + [""]
    written = [write_text(out / "CLAIMS.md", "\n".join(lines)), write_text(out / "claims.csv", df.to_csv(index=False)),
               write_text(out / "HOW-TO-READ.md", how_to_read(df, str(getattr(ctx, "profile", "?"))))]
    _refresh_project_readme(out)
    return written


def rewrite_claims(folder: str | Path) -> list[Path]:
    """Rewrite ``CLAIMS.md``, ``claims.csv`` and ``HOW-TO-READ.md`` of a figures folder from its own
    ``claims.csv`` under the current table rules (checklist rows, budget controls, multiplicity), without
    runs: for a profile whose results are not at hand (the committed quick figures). Rows are not
    recomputed: a row written under an earlier noise rule keeps its numbers and has no p-value."""
    from types import SimpleNamespace

    folder = Path(folder)
    old = (folder / "CLAIMS.md").read_text(encoding="utf-8") if (folder / "CLAIMS.md").is_file() else ""
    profile = old.split("Profile: `", 1)[1].split("`", 1)[0] if "Profile: `" in old else "?"
    precision = next((ln for ln in old.splitlines() if ln.startswith("Training precision:")), None)
    df = pd.read_csv(folder / "claims.csv")
    earlier = "Welch-Satterthwaite" not in old or EARLIER in old
    # a rule that needs no runs: absolute frames/s on this CPU against the paper's CPU are shown, not judged
    fps = df["claim"].astype(str).str.contains(r"FPS on one CPU core$") & (df["verdict"] != NOT_MEASURED)
    if fps.any():
        df.loc[fps, "note"] = "shown, not judged: frames/s on another CPU than the paper's; " + df.loc[fps, "note"].astype(str)
        df.loc[fps, "verdict"] = NOT_COMPARABLE
    return write_claims(df, folder, SimpleNamespace(profile=profile, precision_line=precision, earlier_rule=earlier,
                                                    checklist=True))


#: the line of a CLAIMS.md rewritten from rows computed under the rule before the t interval (noise_rule reads it)
EARLIER = ("**Rows computed under the earlier noise rule**: this file was rewritten from its own claims.csv without "
           "the runs, so the margins, noise and verdicts of its measured rows are those of the earlier rule (noise = 2 "
           "x the larger standard error, over test videos or over seeds), not the t interval described below, and no "
           "row has a p-value; the checklist rows and the budget-control rule below do apply. Rebuild the report from "
           "a run of this profile to recompute them.")


#: what each verdict means, in the words of HOW-TO-READ.md
EXPLAIN = {
    "reproduced": "the claimed direction holds by more than the 95 % noise of test units and training seeds "
                  "together (for an \"as good as\" claim: the whole 95 % interval of A - B lies above minus the "
                  "paper's margin).",
    "consistent": "as reproduced, but the noise misses a part we could not measure: one training seed per "
                  "model, or test clips cut from a single video. The direction holds beyond the noise we can see.",
    "inconclusive": "the difference is within the noise, and the paper's own effect is large enough that our "
                    "design could have detected it (or the paper's effect is unknown): the run did not decide.",
    "underpowered": "the difference is within the noise, and the paper's own effect (paper_effect) is smaller "
                    "than the smallest effect our design detects with 80 % power (detectable): no run of this size "
                    "could have decided it, so this is not evidence against the paper.",
    "at chance": "both models of the comparison score within the noise of the centred Gaussian (a fixed map "
                 "that looks at no frame): the difference between them says nothing about the claim, so it is "
                 "not judged. Train the models longer or on more data before reading it.",
    "inconsistent": "as not reproduced, but the noise misses training seeds or comes from clips of one video.",
    "not reproduced": "the opposite of the claim holds by more than the full noise (for an \"as good as\" claim: "
                      "the whole interval lies below minus the margin; for a stated number: ours misses it).",
    "not measured": "no number of ours: the experiment was not run, or the dataset or hardware is not available "
                    "here (the note says which).",
    "not comparable": "ours is measured under another definition than the paper's (shown, not judged).",
    "by construction": "a fact we fitted to the paper (e.g. a student's width chosen to match its parameter "
                       "count): not evidence.",
}

#: the columns of a claim row, in the words of HOW-TO-READ.md
COLUMNS = {
    "paper_value": "the paper's number(s) for the claim",
    "ours": "our number(s), mean over training seeds",
    "margin": "ours A - B, signed so that positive = the claimed direction",
    "noise": "the 95 % half-width of that difference: t(0.975, df) x SE (the note gives df, SE, units, seeds)",
    "paper_effect": "the paper's own A - B in the same sign (plus the margin for \"as good as\" claims)",
    "detectable": "the smallest true difference our design finds with 80 % power: noise + t(0.8, df) x SE",
    "q": "the row's p-value adjusted by Benjamini-Hochberg over every judged row of this table (a decided verdict "
         "stands only when q <= 0.05; empty for rows that are not tests)",
}

#: why the correction is Benjamini-Hochberg (HOW-TO-READ.md; salkd.multiplicity gives the same reasons)
WHY_BH = ("Every judged row (a comparison with a p-value) of this table is one test of one family, and the family "
          "is corrected by Benjamini-Hochberg at a false discovery rate of 5 %: among the rows left decided, at "
          "most about 5 % are expected to be decided by chance. Why not Holm (family-wise error): the rows are "
          "separate claims of three papers, so the error a reader pays for is a wrong verdict among the decided "
          "rows (what the FDR bounds); and Holm over ~100 rows needs p < 0.0005 on the best row, a t statistic of "
          "8 to 50 at our 2-12 degrees of freedom, so no row could ever be decided. BH is exact for independent "
          "or positively dependent tests; rows that share a run (one baseline in several comparisons) are "
          "positively correlated, so the 5 % is approximate. The per-row 95 % interval stays in the noise column.")


def _example(df: pd.DataFrame, verdict: str) -> pd.Series | None:
    """One row with ``verdict``: a central claim if any, else a comparison with a margin, else the first."""
    g = df[df["verdict"] == verdict]
    if not len(g):
        return None
    for mask in (g["central"].fillna(False).astype(bool) if "central" in g.columns else None,
                 g["margin"].map(tables.finite_number).notna() if "margin" in g.columns else None):
        if mask is not None and mask.any():
            return g[mask].iloc[0]
    return g.iloc[0]


def how_to_read(df: pd.DataFrame, profile: str = "?") -> str:
    """The text of ``HOW-TO-READ.md``: each verdict explained, with one example row of ``df`` (the claims
    table at hand) and what its numbers say."""
    lines = ["# How to read CLAIMS.md", "",
             f"Profile: `{profile}`. Generated by `salkd.claims.write_claims` with `CLAIMS.md`; the examples are "
             "rows of that table. Do not edit by hand.", "", "## Columns", ""]
    lines += [f"- **{k}**: {v}." for k, v in COLUMNS.items()] + ["", "## Multiplicity", "", WHY_BH, ""]
    if "note" in df.columns:
        lost = df[df["note"].astype(str).str.contains(" at 95 % on this row alone", regex=False)]
        if len(lost):
            r = lost.iloc[0]
            lines += [f"Example ({r['paper']}, {r['source']}): *{r['claim']}* is {r['verdict']} after the correction: "
                      f"{str(r['note']).split(';')[0]}.", ""]
    lines += ["## Verdicts", ""]
    for v in VERDICTS:
        lines += [f"### {v}", "", EXPLAIN.get(v, ""), ""]
        r = _example(df, v) if len(df) else None
        if r is None:
            lines += ["No row of this table has this verdict.", ""]
            continue
        lines.append(f"Example ({r['paper']}, {r['source']}): *{r['claim']}* ({r['metric']}).")
        facts = [f"paper {r['paper_value']}" if r.get("paper_value") is not None and str(r['paper_value']) != "nan"
                 else None, f"ours {r['ours']}" if r.get("ours") is not None and str(r["ours"]) != "nan" else None]
        for k, word in (("margin", "margin"), ("noise", "noise ±"), ("paper_effect", "paper's effect"),
                        ("detectable", "detectable")):
            x = tables.finite_number(r.get(k))
            if x is not None:
                facts.append(f"{word} {x:.3f}")
        lines += ["", "- " + "; ".join(f for f in facts if f), ""]
        if isinstance(r.get("note"), str) and r["note"]:
            lines += [f"- note: {r['note']}", ""]
    return "\n".join(lines)


README_BEGIN = ("<!-- BEGIN claim counts: generated by salkd.claims.refresh_readme from the committed CLAIMS.md "
                "files; do not edit -->")
README_END = "<!-- END claim counts -->"
#: the committed CLAIMS.md files whose counts README quotes (relative to the project root)
COUNTED = ("figures/CLAIMS.md", "figures/real-cpu/CLAIMS.md")


def noise_rule(claims_md: str | Path) -> str:
    """Under which noise rule a CLAIMS.md was written: the current one (:data:`RULES`) or the earlier one."""
    text = Path(claims_md).read_text(encoding="utf-8")
    return ("95 % t interval, seeds + units" if "Welch-Satterthwaite" in text and EARLIER not in text
            else "earlier: 2 x the larger SE (rebuild the report)")


def read_counts(claims_md: str | Path) -> tuple[str, dict[str, int]]:
    """The profile and the "all" row (claims per verdict) of a CLAIMS.md summary table."""
    text = Path(claims_md).read_text(encoding="utf-8")
    profile = text.split("Profile: `", 1)[1].split("`", 1)[0] if "Profile: `" in text else "?"
    header = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None and cells[:2] == ["paper", "claims"]:
            header = cells
        elif header is not None and cells and cells[0] == "all":
            return profile, {h: int(c) for h, c in zip(header[1:], cells[1:])}
    raise ValueError(f"{claims_md}: no summary table with an 'all' row")


def counts_block(root: str | Path, files: tuple[str, ...] = COUNTED) -> str:
    """The README block: one row per committed CLAIMS.md with its claims per verdict."""
    rows = []
    for f in files:
        profile, counts = read_counts(Path(root) / f)
        rows.append({"CLAIMS.md": f"`{f}` ({profile})", "noise rule": noise_rule(Path(root) / f), **counts})
    table = pd.DataFrame(rows).fillna(0)
    cols = ["CLAIMS.md", "noise rule", "claims"] + [v for v in VERDICTS if v in table.columns]
    table = table[cols + [c for c in table.columns if c not in cols]]
    for c in table.columns[2:]:
        table[c] = table[c].astype(int)
    return "\n".join([README_BEGIN, tables.to_markdown(table).strip(), README_END])


def refresh_readme(readme: str | Path, root: str | Path, files: tuple[str, ...] = COUNTED) -> bool:
    """Replace README's block between :data:`README_BEGIN` and :data:`README_END` with :func:`counts_block`;
    True when the file changed (False, and untouched, when it has no such block)."""
    p = Path(readme)
    text = p.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        return False
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    new = head + counts_block(root, files) + tail
    if new != text:
        write_text(p, new)
    return new != text


def _refresh_project_readme(out: Path) -> None:
    """After writing a committed CLAIMS.md (under the project's ``figures/``), refresh README's counts."""
    from salkd import paths

    home = paths.home()
    try:
        out.resolve().relative_to((home / "figures").resolve())
    except ValueError:
        return
    if (home / "README.md").is_file() and all((home / f).is_file() for f in COUNTED):
        refresh_readme(home / "README.md", home)


def training_precision_line(profile_runs: str | Path) -> str:
    """One line saying in which arithmetic the profile's runs were trained (each run's ``env.json``
    records the precision it resolved, e.g. ``precision="auto"`` -> bf16 on a CPU with native bf16), so
    that a reader knows when accuracy rows come from reduced-precision training."""
    import json

    counts: dict[str, int] = {}
    for env in sorted(Path(profile_runs).glob("*/*/env.json")):
        try:
            prec = json.loads(env.read_text(encoding="utf-8")).get("precision") or "fp32"
        except (OSError, ValueError):
            continue
        counts[str(prec)] = counts.get(str(prec), 0) + 1
    if not counts:
        return "Training precision: no trained runs found."
    if set(counts) == {"fp32"}:
        return f"Training precision: every run ({counts['fp32']}) was trained in fp32."
    parts = ", ".join(f"{n} in {p}" for p, n in sorted(counts.items()))
    return (f"Training precision: runs trained {parts} (from each run's env.json). Accuracy rows of runs "
            "trained in bf16/fp16 can differ from fp32 training in the last digits.")


def _multiplicity_line(df: pd.DataFrame) -> str:
    """How many rows the multiplicity correction judged, and how many decided rows it kept."""
    from salkd.multiplicity import FDR, METHOD

    q = df["q"].map(tables.finite_number) if "q" in df.columns else pd.Series(dtype=float)
    n = int(q.notna().sum())
    if not n:
        return ("Multiplicity: no row carries a p-value (written under an earlier noise rule): not corrected; "
                "rebuild the report.")
    note = df["note"].astype(str)
    kept = int(note.str.startswith("survives ").sum())
    lost = int(note.str.contains(" at 95 % on this row alone").sum())
    return (f"Multiplicity: {n} judged rows, corrected together ({METHOD}, FDR {FDR:.0%}): {kept + lost} decided at "
            f"95 % on their own, {kept} still decided after the correction, {lost} shown as inconclusive / "
            f"underpowered instead.")


def _summary(df: pd.DataFrame) -> pd.DataFrame:
    """Claims per paper and verdict (the header of CLAIMS.md)."""
    rows = []
    if not len(df):
        return pd.DataFrame([{"paper": "all", "claims": 0, **{v: 0 for v in VERDICTS}}])
    for paper, g in list(df.groupby("paper", sort=False)) + [("all", df)]:
        counts = g["verdict"].value_counts()
        rows.append({"paper": paper, "claims": len(g), **{v: int(counts.get(v, 0)) for v in VERDICTS}})
    return pd.DataFrame(rows)


def _central_lines(df: pd.DataFrame) -> list[str]:
    """One line per paper: its central claims (rows marked ``central``) and their verdicts."""
    if "central" not in df.columns:
        return []
    lines = []
    for paper, g in df[df["central"].fillna(False).astype(bool)].groupby("paper", sort=False):
        parts = [f"{r.claim}: **{r.verdict}**" for r in g.itertuples()]
        lines.append(f"- **{paper}**, central claims: " + "; ".join(parts))
    return lines