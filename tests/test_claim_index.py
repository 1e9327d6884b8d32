"""The checklist of the papers' quantitative claims (salkd/papers/claim_index.csv): every entry quotes its paper
verbatim and has a row in both committed claims tables (issue 22, item 7: coverage >= 90 %)."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from salkd import verdicts
from salkd.claims import claim_row
from salkd.papers import coverage

ROOT = Path(__file__).resolve().parents[1]
PAPERS = ROOT.parent / "shared" / "papers"
FILES = {"skd": ["002_2805ffd5d45385b9.txt", "003_ac8c8612e9347c1c.txt"], "uvanet": ["004_40c1b766ef9a2f55.txt"],
         "fastvsod": ["000_070e2882c5df2745.txt"]}
TABLES = ("figures/claims.csv", "figures/real-cpu/claims.csv")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"</?[bu]>", "", text)).strip()


def test_entries_are_well_formed():
    idx = coverage.load_index()
    assert len(idx) >= 120 and idx["id"].is_unique
    assert set(idx["paper"]) == set(FILES)
    for _, e in idx.iterrows():
        assert bool(e["row"]) != bool(e["reason"]), f"{e['id']}: give a row pattern or a reason, not both"
        assert e["claim"] or e["row"], e["id"]
        if e["row"] and e["claim"]:
            assert re.fullmatch(e["row"], e["claim"]), f"{e['id']}: its placeholder claim must match its row pattern"


@pytest.mark.skipif(not PAPERS.is_dir(), reason="the papers' texts are not beside the project")
def test_every_quote_is_verbatim_in_its_paper():
    texts = {p: " ".join(_norm((PAPERS / f).read_text(encoding="utf-8")) for f in fs) for p, fs in FILES.items()}
    bad = [e["id"] for _, e in coverage.load_index().iterrows() if _norm(e["quote"]) not in texts[e["paper"]]]
    assert not bad, f"quotes not found in the papers' texts: {bad}"


@pytest.mark.parametrize("table", TABLES)
def test_every_entry_has_a_row_in_the_committed_claims(table):
    claims = pd.read_csv(ROOT / table)
    share, missing = coverage.coverage(claims)
    assert share >= 0.9 and not missing, f"{table}: coverage {share:.0%}, entries without a row: {missing}"


def test_real_cpu_rows_are_built_not_placeholders():
    """The real-cpu table is rebuilt from its runs by the current code: every entry with a row pattern is
    answered by a builder, not by the placeholder for tables older than the row."""
    assert coverage.unbuilt(pd.read_csv(ROOT / "figures/real-cpu/claims.csv")) == []


def test_complete_adds_the_missing_entries_once():
    idx = pd.DataFrame([
        {"id": "a", "paper": "skd", "source": "T", "quote": "q1", "metric": "nss", "row": r"x beats y", "claim": "x beats y",
         "reason": ""},
        {"id": "b", "paper": "skd", "source": "T", "quote": "q2", "metric": "nss", "row": "", "claim": "on AVS1K",
         "reason": "AVS1K is not here"},
        {"id": "c", "paper": "skd", "source": "T", "quote": "q3", "metric": "nss", "row": r"z .*", "claim": "z 1",
         "reason": ""}])
    rows = pd.DataFrame([claim_row("skd", "T", "z beats w", "nss", None, "1", 1.0, 0.1, "d", verdicts.REPRODUCED, "")])
    out = coverage.complete(rows, index=idx)
    assert list(out["claim"]) == ["z beats w", "x beats y", "on AVS1K"]
    assert list(out["verdict"][1:]) == [verdicts.NOT_MEASURED] * 2
    assert out.loc[1, "note"] == coverage.NOT_BUILT and out.loc[2, "note"] == "AVS1K is not here"
    assert coverage.coverage(out, idx) == (1.0, []) and coverage.unbuilt(out, idx) == ["a"]
    assert coverage.coverage(rows, idx) == (pytest.approx(1 / 3), ["a", "b"])
    assert len(coverage.complete(out, index=idx)) == 3
