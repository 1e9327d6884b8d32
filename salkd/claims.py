"""Claims of the papers as table rows, and ``CLAIMS.md``.

A claim row: paper, source (table / figure), the claim, the metric, the paper's value, ours, the margin
(positive = the claimed direction), the noise (95 % half-width), the paper's own effect and the smallest
effect our design detects (comparisons only), the data ours was measured on, the verdict
(:mod:`salkd.verdicts`) and a note (which says the n: test units and seeds). Each paper's ``claims(ctx)``
(``salkd.papers.<paper>``) builds its rows with :func:`better_claim` / :func:`best_claim` /
:func:`claim_row`, or, from :class:`salkd.results.Summary` objects they picked themselves, with
:func:`compare_claim` ("A beats B", or "A is as good as B" with a non-inferiority margin),
:func:`best_of_claim` ("X is the best / lowest of these") and :func:`spread_claim` ("these settings are
within a tolerance of each other").

:func:`write_claims` writes ``CLAIMS.md`` (the rules, :data:`RULES`, in its header), ``claims.csv`` and
``HOW-TO-READ.md`` (:func:`how_to_read`); under the project's ``figures/`` it also refreshes README's
generated claim-count block (:func:`refresh_readme`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from salkd import results, tables
from salkd.atomic import write_text
from salkd.results import Summary
from salkd.verdicts import (LOWER_BETTER, NOT_MEASURED, VERDICTS, Noise, cap, diff_stats, verdict_best,
                            verdict_better, verdict_not_worse, verdict_power)

__all__ = ["claim_row", "missing_claim", "ni_bound", "compare_claim", "better_claim", "best_of_claim", "best_claim",
           "spread_claim", "variants", "write_claims", "how_to_read", "read_counts", "counts_block", "refresh_readme",
           "RULES", "EXPLAIN", "README_BEGIN", "README_END"]


def claim_row(paper: str, ref: str, claim: str, metric: str, paper_value: Any, ours: Any, margin: Any, noise: Any,
              data: str, verdict: str, note: str = "", central: bool = False, *, paper_effect: float | None = None,
              detectable: float | None = None) -> dict[str, Any]:
    """One claim. ``central``: one of the paper's central claims (listed in the CLAIMS.md header).
    ``paper_effect``: the paper's own margin (same sign convention as ``margin``); ``detectable``: the
    smallest effect our design detects (:attr:`salkd.verdicts.Noise.detectable`)."""
    return {"paper": paper, "source": ref, "claim": claim, "metric": metric, "paper_value": paper_value,
            "ours": ours, "margin": margin, "noise": noise, "paper_effect": paper_effect, "detectable": detectable,
            "data": data, "verdict": verdict, "note": note, "central": central}


def missing_claim(paper: str, ref: str, claim: str, metric: str, paper_value: Any, note: str,
                  data: str = "—") -> dict[str, Any]:
    """A claim with no number of ours: ``not measured`` and why (``note``)."""
    return claim_row(paper, ref, claim, metric, paper_value, None, None, None, data, NOT_MEASURED, note)


def _not_run(experiment: str) -> str:
    return f"experiment {experiment!r} not run ({results.MAKER.get(experiment, 'the notebook that runs it')})"


def ni_bound(ni_margin: tuple[float, str, str] | None, reference: float) -> float:
    """The non-inferiority margin in the metric's units: ``(margin, kind, source)`` of
    :data:`salkd.papers.numbers.NI_MARGINS`, "relative" ones times ``|reference|`` (B's score); 0 for None."""
    if ni_margin is None:
        return 0.0
    m, kind, _ = ni_margin
    if kind not in ("relative", "absolute"):
        raise ValueError(f"non-inferiority margin kind must be 'relative' or 'absolute', got {kind!r}")
    return float(m) * abs(reference) if kind == "relative" else float(m)


def compare_claim(ctx: Any, paper: str, ref: str, claim: str, metric: str, sa: Summary | None, sb: Summary | None,
                  paper_value: Any, task: str, *, not_worse: bool = False, missing: str = "",
                  paper_effect: float | None = None, paper_ref: float | None = None,
                  ni_margin: tuple[float, str, str] | None = None) -> dict[str, Any]:
    """Claim "A beats B" (or "A is as good as B", ``not_worse``) from the two :class:`Summary` objects:
    margin = A - B in the metric's better direction, noise = :func:`salkd.verdicts.diff_stats`, the verdict
    capped by what the data can carry. ``missing``: the note when either side is None.

    ``paper_effect``: the paper's A - B (raw, in the metric's units; the better direction is applied
    here): an undecided row whose paper effect is below the smallest detectable effect is
    ``underpowered``. ``ni_margin``: ``(margin, kind, source)`` of a non-inferiority claim (``not_worse``;
    :data:`salkd.papers.numbers.NI_MARGINS`); with a relative margin the paper's effect is taken relative
    to ``paper_ref`` (the paper's B) and scaled to our B, so that both sit in our units."""
    if sa is None or sb is None:
        return missing_claim(paper, ref, claim, metric, paper_value, missing or "no result of ours",
                             results.data_desc(ctx, task))
    sign = 1.0 if metric not in LOWER_BETTER else -1.0
    margin = (sa.value - sb.value) * sign
    noise = diff_stats(sa, sb, metric)
    ni = ni_margin if not_worse else None
    m = ni_bound(ni, sb.value)
    v = verdict_not_worse(margin, noise.half, m) if not_worse else verdict_better(margin, noise.half)
    effect = None
    if paper_effect is not None:
        effect = sign * float(paper_effect)
        if ni is not None and ni[1] == "relative" and paper_ref:
            effect = effect / abs(paper_ref) * abs(sb.value)
        effect += m
    v = verdict_power(v, effect, noise.detectable)
    v, note = _capped(v, noise, sa, sb)
    if ni is not None:
        note = (f"non-inferiority: reproduced when the 95 % interval of A - B lies above -{m:.3f} "
                f"(margin {ni[0]:.3g}{' of B' if ni[1] == 'relative' else ''}; {ni[2]}); " + note)
    return claim_row(paper, ref, claim, metric, paper_value, f"{sa.value:.3f} vs {sb.value:.3f}", margin, noise.half,
                     results.data_desc(ctx, task), v, note, paper_effect=effect, detectable=noise.detectable)


def better_claim(ctx: Any, paper: str, ref: str, claim: str, df: pd.DataFrame | None, metric: str,
                  a: Mapping[str, Any], b: Mapping[str, Any], pa: float | None, pb: float | None, task: str,
                  experiment: str, not_worse: bool = False,
                  ni_margin: tuple[float, str, str] | None = None) -> dict[str, Any]:
    """Claim "the rows matching ``a`` beat the rows matching ``b``" on one results table (``pa``, ``pb``:
    the paper's values; their difference is the paper's effect). ``ni_margin``: see :func:`compare_claim`."""
    pv = f"{pa:.3f} vs {pb:.3f}" if pa is not None and pb is not None else None
    if df is None:
        return missing_claim(paper, ref, claim, metric, pv, _not_run(experiment))
    sa, sb = results.summarize(ctx, df, metric, **a), results.summarize(ctx, df, metric, **b)
    return compare_claim(ctx, paper, ref, claim, metric, sa, sb, pv, task, not_worse=not_worse,
                         missing=f"no result for {dict(a if sa is None else b)}",
                         paper_effect=None if pv is None else pa - pb, paper_ref=pb, ni_margin=ni_margin)


def best_of_claim(ctx: Any, paper: str, ref: str, claim: str, sums: Mapping[str, Summary | None], claimed: str,
                  metric: str, task: str, paper_value: Any, *, lowest: bool = False,
                  what: str = "setting", paper_effect: float | None = None) -> dict[str, Any]:
    """Claim "``claimed`` is the best (``lowest``: the worst) of the settings in ``sums``" (labels ->
    summaries; None = not run). The margin is over the best (lowest) other setting, the rival; the noise
    that of the difference with the rival. ``paper_effect``: the paper's margin of ``claimed`` over its
    best (lowest) other setting, signed like the margin (positive = the claim holds in the paper)."""
    got = {k: s for k, s in sums.items() if s is not None}
    if claimed not in got:
        return missing_claim(paper, ref, claim, metric, paper_value,
                             f"{claimed} not run here ({what}s run: {', '.join(got) or 'none'})",
                             results.data_desc(ctx, task) if got else "—")
    if len(got) < 2:
        return missing_claim(paper, ref, claim, metric, paper_value, f"only one {what} run ({claimed})",
                             results.data_desc(ctx, task))
    higher = (metric not in LOWER_BETTER) != lowest
    vals = {k: s.value for k, s in got.items()}
    others = {k: v for k, v in vals.items() if k != claimed}
    rival = max(others, key=lambda k: others[k] if higher else -others[k])
    noise = diff_stats(got[claimed], got[rival], metric)
    v, margin = verdict_best(vals, claimed, noise.half, higher)
    v = verdict_power(v, paper_effect, noise.detectable)
    v, noise_note = _capped(v, noise, got[claimed], got[rival])
    top = max(vals, key=lambda k: vals[k] if higher else -vals[k])
    word = "lowest" if lowest else "best"
    return claim_row(paper, ref, claim, metric, paper_value, ", ".join(f"{k}: {vals[k]:.3f}" for k in vals), margin,
                     noise.half, results.data_desc(ctx, task), v,
                     f"{word} {what} here = {top}; margin of {claimed} over the {word} other {what} ({rival}); "
                     f"{noise_note}", paper_effect=paper_effect, detectable=noise.detectable)


def spread_claim(ctx: Any, paper: str, ref: str, claim: str, sums: Mapping[str, Summary | None], tol: float,
                 metric: str, task: str, paper_value: Any, *, what: str = "setting") -> dict[str, Any]:
    """Claim "every setting in ``sums`` is within ``tol`` (absolute, in the metric) of the best of them":
    margin = tol - (best - worst), so it holds when the spread is smaller than ``tol`` by more than the
    noise of the best-minus-worst difference, and fails when it is larger by more than that noise."""
    got = {k: s for k, s in sums.items() if s is not None}
    if len(got) < 2:
        return missing_claim(paper, ref, claim, metric, paper_value,
                             f"fewer than two {what}s in the range run ({', '.join(got) or 'none'})",
                             results.data_desc(ctx, task) if got else "—")
    sign = 1.0 if metric not in LOWER_BETTER else -1.0
    best = max(got, key=lambda k: sign * got[k].value)
    worst = min(got, key=lambda k: sign * got[k].value)
    spread = sign * (got[best].value - got[worst].value)
    noise = diff_stats(got[best], got[worst], metric)
    v, note = _capped(verdict_better(tol - spread, noise.half), noise, got[best], got[worst])
    return claim_row(paper, ref, claim, metric, paper_value, ", ".join(f"{k}: {s.value:.3f}" for k, s in got.items()),
                     tol - spread, noise.half, results.data_desc(ctx, task), v,
                     f"margin = tolerance {tol:.3f} - spread {spread:.3f} (best {best}, worst {worst}); {note}",
                     detectable=noise.detectable)


def _capped(verdict: str, noise: Noise, *sums: Any) -> tuple[str, str]:
    """The verdict weakened to what the data can carry (:func:`salkd.verdicts.cap`) and a note saying
    which noise it measured (:meth:`salkd.verdicts.Noise.text`: interval, test units, seeds) and what it
    misses (clips of one video, one training seed)."""
    from salkd.data.layouts import source_video

    vids = [s.videos for s in sums if s.videos is not None]
    n = min((len(v) for v in vids), default=0)
    sources = len({source_video(str(v)) for v in vids[0].index}) if vids else 0
    seeds = min(s.n_runs for s in sums)
    note = "noise: " + noise.text()
    if n > 1:
        note += f"; units = {n} test videos" if sources >= n else (
            f"; units = {n} test clips of {sources} video(s); clips of one video are correlated, so this "
            f"underestimates the noise")
    if seeds < 2:
        note += "; training-seed noise not measured (one seed)"
    return cap(verdict, seeds, sources), note


def best_claim(ctx: Any, paper: str, ref: str, claim: str, df: pd.DataFrame | None, col: str, claimed: float,
                metric: str, task: str, experiment: str, paper_value: str) -> dict[str, Any]:
    """Claim "``col`` = ``claimed`` is the best value of the sweep in ``df``" (:func:`best_of_claim`)."""
    if df is None or col not in df.columns:
        return missing_claim(paper, ref, claim, metric, paper_value, _not_run(experiment))
    xs = sorted(pd.to_numeric(results.overall(df)[col], errors="coerce").dropna().unique())
    sums = {f"{col} = {float(x):g}": results.summarize(ctx, df, metric, **{col: float(x)}) for x in xs}
    return best_of_claim(ctx, paper, ref, claim, sums, f"{col} = {float(claimed):g}", metric, task, paper_value,
                         what=col)


def variants(df: pd.DataFrame | None) -> list[str]:
    return [] if df is None else list(dict.fromkeys(results.overall(df)["variant"].astype(str)))


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
    "`salkd.papers.numbers.NI_MARGINS`); their paper_effect is the paper's A - B plus m. The ~100 rows are "
    "separate tests at 95 % each, not corrected for multiplicity: expect a few verdicts in a hundred to be "
    "decided by chance. Absolute scores on the papers' datasets (AVS1K, DAVIS-T) are not comparable with "
    "ours (other data, smaller models and training), so they are listed as not measured with our number beside."
)


def _number(v: Any) -> float | None:
    """A finite float, or None (shown as a dash)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def write_claims(df: pd.DataFrame, out_dir: str | Path, ctx: Any = None,
                 failures: Mapping[str, str] | None = None) -> list[Path]:
    """``CLAIMS.md`` (+ ``claims.csv`` and ``HOW-TO-READ.md``, :func:`how_to_read`): the claims table grouped
    by paper, with the verdict rules. Written under the project's ``figures/``, it also refreshes README's
    claim counts (:func:`refresh_readme`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Claims of the papers, checked on our runs", "",
             f"Profile: `{getattr(ctx, 'profile', '?')}`. Generated by `salkd.report.claims` "
             "(notebook 09_figures_tables); do not edit by hand.", ""]
    lines += [tables.to_markdown(_summary(df)), ""] + _central_lines(df) + [""]
    if ctx is not None and getattr(ctx, "runs_root", None) is not None:
        lines += [training_precision_line(Path(ctx.runs_root) / str(ctx.profile)), ""]
    lines += [RULES, ""]
    why = results.dropped(ctx, "sauc") if ctx is not None else None
    if why:
        lines += [f"{why}: no table or claim of this profile reports it.", ""]
    for paper, g in df.groupby("paper", sort=False):
        lines += [f"## {paper}", ""]
        show = g.drop(columns=[c for c in ("paper", "central") if c in g.columns]).copy()
        for c in ("margin", "paper_effect", "detectable"):
            if c in show.columns:
                show[c] = show[c].map(_number)
        lines.append(tables.to_markdown(show))
    if failures:
        lines += ["## Not built", "", "These tables, figures or claims failed (the run was asked to continue past "
                  "failures); their verdicts are missing above.", ""]
        lines += [f"- `{k}`: {v}" for k, v in failures.items()] + [""]
    written = [write_text(out / "CLAIMS.md", "\n".join(lines)), write_text(out / "claims.csv", df.to_csv(index=False)),
               write_text(out / "HOW-TO-READ.md", how_to_read(df, str(getattr(ctx, "profile", "?"))))]
    _refresh_project_readme(out)
    return written


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
}


def _example(df: pd.DataFrame, verdict: str) -> pd.Series | None:
    """One row with ``verdict``: a central claim if any, else a comparison with a margin, else the first."""
    g = df[df["verdict"] == verdict]
    if not len(g):
        return None
    for mask in (g["central"].fillna(False).astype(bool) if "central" in g.columns else None,
                 g["margin"].map(_number).notna() if "margin" in g.columns else None):
        if mask is not None and mask.any():
            return g[mask].iloc[0]
    return g.iloc[0]


def how_to_read(df: pd.DataFrame, profile: str = "?") -> str:
    """The text of ``HOW-TO-READ.md``: each verdict explained, with one example row of ``df`` (the claims
    table at hand) and what its numbers say."""
    lines = ["# How to read CLAIMS.md", "",
             f"Profile: `{profile}`. Generated by `salkd.claims.write_claims` with `CLAIMS.md`; the examples are "
             "rows of that table. Do not edit by hand.", "", "## Columns", ""]
    lines += [f"- **{k}**: {v}." for k, v in COLUMNS.items()] + ["", "## Verdicts", ""]
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
            x = _number(r.get(k))
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
    return ("95 % t interval, seeds + units" if "Welch-Satterthwaite" in text
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