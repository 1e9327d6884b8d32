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

:func:`write_claims` (:mod:`salkd.claims_md`, re-exported here) writes ``CLAIMS.md``, ``claims.csv`` and
``HOW-TO-READ.md``. A judged row carries its two-sided ``p_value`` (:func:`salkd.multiplicity.p_value`), which
the multiplicity correction reads.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from salkd import results
from salkd.multiplicity import p_value
from salkd.results import Summary
from salkd.verdicts import (LOWER_BETTER, NOT_MEASURED, Noise, cap, diff_stats, verdict_best, verdict_better,
                            verdict_not_worse, verdict_power)

__all__ = ["claim_row", "missing_claim", "ni_bound", "compare_claim", "better_claim", "best_of_claim", "best_claim",
           "spread_claim", "variants", "write_claims", "how_to_read", "read_counts", "counts_block", "refresh_readme",
           "RULES", "EXPLAIN", "README_BEGIN", "README_END", "COLUMNS", "COUNTED", "noise_rule", "training_precision_line"]


def claim_row(paper: str, ref: str, claim: str, metric: str, paper_value: Any, ours: Any, margin: Any, noise: Any,
              data: str, verdict: str, note: str = "", central: bool = False, *, paper_effect: float | None = None,
              detectable: float | None = None, p: float | None = None, parts: str = "") -> dict[str, Any]:
    """One claim. ``central``: one of the paper's central claims (listed in the CLAIMS.md header).
    ``paper_effect``: the paper's own margin (same sign convention as ``margin``); ``detectable``: the
    smallest effect our design detects (:attr:`salkd.verdicts.Noise.detectable`); ``p``: the row's two-sided
    p-value (judged comparisons only: the family of :mod:`salkd.multiplicity`); ``parts``: the claims a
    composite row combines, joined by " && " (re-combined after the correction)."""
    return {"paper": paper, "source": ref, "claim": claim, "metric": metric, "paper_value": paper_value,
            "ours": ours, "margin": margin, "noise": noise, "paper_effect": paper_effect, "detectable": detectable,
            "data": data, "verdict": verdict, "note": note, "central": central, "p_value": p, "parts": parts}


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
                     results.data_desc(ctx, task), v, note, paper_effect=effect, detectable=noise.detectable,
                     p=p_value(margin + m, noise.half, noise.est.df))


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
                     f"{noise_note}", paper_effect=paper_effect, detectable=noise.detectable,
                     p=p_value(margin, noise.half, noise.est.df))


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
                     detectable=noise.detectable, p=p_value(tol - spread, noise.half, noise.est.df))


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


# the writers of CLAIMS.md and README's block live in salkd.claims_md; re-exported here (their old home)
from salkd.claims_md import (COLUMNS, COUNTED, EXPLAIN, README_BEGIN, README_END, RULES, counts_block,  # noqa: E402
                             how_to_read, noise_rule, read_counts, refresh_readme, training_precision_line,
                             write_claims)
