"""Prose from the tables: HOW-TO-READ.md explains each verdict with a row of the table at hand, and README's
claim counts are the counts of the committed CLAIMS.md files (a generated block, checked here)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from salkd import claims, verdicts
from salkd.claims import claim_row

ROOT = Path(__file__).resolve().parents[1]


def _df() -> pd.DataFrame:
    return pd.DataFrame([
        claim_row("skd", "Table IV", "full beats Ablation-S", "nss", "2.100 vs 2.085", "3.4 vs 2.9", 0.47, 0.9,
                  "unit", verdicts.UNDERPOWERED, "noise: 95 % CI = ±t(0.975, df 3.1) x SE 0.3 = 0.9",
                  paper_effect=0.015, detectable=1.2),
        claim_row("skd", "Table IV", "full beats Ablation-O", "nss", "2.100 vs 1.943", "3.4 vs 4.1", -0.7, 0.9,
                  "unit", verdicts.INCONCLUSIVE, "", paper_effect=0.157, detectable=0.15),
        claim_row("skd", "Table I", "keeps its teacher's accuracy", "nss", "+2.7%", "3.5 vs 3.3", 0.2, 0.1, "unit",
                  verdicts.CONSISTENT, "non-inferiority", central=True),
        claim_row("skd", "Table I", "other row", "nss", None, None, None, None, "—", verdicts.NOT_MEASURED, "why"),
    ])


def test_how_to_read_explains_every_verdict_with_a_row_of_the_table(tmp_path):
    text = claims.how_to_read(_df(), "unit")
    for v in verdicts.VERDICTS:
        assert f"### {v}" in text and claims.EXPLAIN[v]
    part = text.split("### underpowered")[1].split("###")[0]
    assert "full beats Ablation-S" in part and "paper's effect 0.015" in part and "detectable 1.200" in part
    assert "keeps its teacher's accuracy" in text.split("### consistent")[1].split("###")[0]
    assert "No row of this table has this verdict" in text.split("### reproduced")[1].split("###")[0]
    out = claims.write_claims(_df(), tmp_path, SimpleNamespace(profile="unit"))
    assert (tmp_path / "HOW-TO-READ.md") in out and "full beats Ablation-S" in (tmp_path / "HOW-TO-READ.md").read_text()
    md = (tmp_path / "CLAIMS.md").read_text()
    assert "**underpowered**" in md and "t(0.975, df)" in md and "Welch-Satterthwaite" in md
    assert "| inconclusive | underpowered |" in md                      # a column of the summary


def test_counts_are_read_back_from_a_written_claims_md(tmp_path):
    claims.write_claims(_df(), tmp_path, SimpleNamespace(profile="unit"))
    profile, counts = claims.read_counts(tmp_path / "CLAIMS.md")
    assert profile == "unit" and counts["claims"] == 4
    assert counts[verdicts.UNDERPOWERED] == 1 and counts[verdicts.INCONCLUSIVE] == 1 and counts[verdicts.REPRODUCED] == 0


def test_refresh_readme_rewrites_only_the_block(tmp_path):
    fig = tmp_path / "figures"
    claims.write_claims(_df(), fig, SimpleNamespace(profile="unit"))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{claims.README_BEGIN}\nstale 118 claims\n{claims.README_END}\noutro\n")
    assert claims.refresh_readme(readme, tmp_path, ("figures/CLAIMS.md",))
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "stale" not in text
    assert "| `figures/CLAIMS.md` (unit) | 95 % t interval, seeds + units | 4 | 0 | 1 | 1 | 1 |" in text
    assert not claims.refresh_readme(readme, tmp_path, ("figures/CLAIMS.md",))   # already fresh: unchanged
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no block\n")
    assert not claims.refresh_readme(plain, tmp_path) and plain.read_text() == "no block\n"


def test_readme_counts_equal_the_committed_claims_md():
    """README quotes the claim counts of figures/CLAIMS.md and figures/real-cpu/CLAIMS.md as they are committed
    (`salkd.claims.refresh_readme` rewrites the block; the report does it when it writes under figures/)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert claims.README_BEGIN in readme, "README lost its generated claim-count block"
    block = claims.README_BEGIN + readme.split(claims.README_BEGIN, 1)[1].split(claims.README_END, 1)[0] + claims.README_END
    assert block == claims.counts_block(ROOT), "README's claim counts differ from CLAIMS.md: run salkd.claims.refresh_readme"


def test_sauc_is_dropped_when_the_shuffle_map_marks_most_pixels(tmp_path, capsys):
    """DHF1K's aggregate map marks 74 % of the pixels: sAUC then measures centre bias; the report drops it."""
    import numpy as np

    from salkd import results
    from salkd.results import summarize

    dense, sparse = tmp_path / "dense.npy", tmp_path / "sparse.npy"
    m = np.zeros((20, 20), np.float32)
    m[:, :15] = 1.0                                                      # 75 % of the pixels
    np.save(dense, m)
    m[:, 4:] = 0.0                                                       # 20 %
    np.save(sparse, m)
    df = pd.DataFrame([{"variant": "a", "run": "", "sauc": 0.9, "nss": 2.0}])
    ctx = SimpleNamespace(profile="unit", cfg={"eval": {"shuffle_map": str(dense)}}, data=None, runs_root=tmp_path)
    why = results.dropped(ctx, "sauc")
    assert why and "75%" in why and "centre bias" in why
    assert summarize(ctx, df, "sauc", variant="a") is None and summarize(ctx, df, "nss", variant="a").value == 2.0
    assert "sAUC dropped" in capsys.readouterr().out
    claims.write_claims(_df(), tmp_path / "out", ctx)
    assert "sAUC dropped" in (tmp_path / "out" / "CLAIMS.md").read_text()
    ctx.cfg["eval"]["shuffle_map"] = str(sparse)
    assert results.dropped(ctx, "sauc") is None and summarize(ctx, df, "sauc", variant="a").value == 0.9
    ctx.cfg["eval"]["shuffle_map"] = None
    assert results.dropped(ctx, "sauc") is None
