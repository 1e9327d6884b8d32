"""The checklist of the three papers' quantitative claims (``claim_index.csv`` beside this module) and the
coverage of CLAIMS.md against it (issue 22, item 7: every quantitative claim has a row).

Each entry of the checklist: ``id``, ``paper`` (skd / uvanet / fastvsod), ``source`` (section, table or
figure), ``quote`` (verbatim from the paper's text in ``../shared/papers``: 002/003 for skd, 004 for
uvanet, 000 for fastvsod), ``metric``, and either

* ``row``: a regular expression the ``claim`` of the row a builder makes must match in full (the row is
  built by ``salkd.papers.<paper>.claims``), or
* ``reason``: why salkd has no number for it (the dataset, the other models or the hardware are not
  here); :func:`complete` then adds a ``not measured`` row with ``claim`` as its text and the reason as
  its note.

An entry with a ``row`` that no row matches (a CLAIMS.md written before the builder existed) also gets a
``not measured`` row saying so (:data:`NOT_BUILT`); :func:`coverage` counts it as covered but
:func:`unbuilt` lists it, and the tests require none in the committed real-cpu table.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

__all__ = ["INDEX", "NOT_BUILT", "load_index", "row_of", "coverage", "unbuilt", "complete"]

INDEX = Path(__file__).with_name("claim_index.csv")
#: the note of a row :func:`complete` adds for an entry whose builder made no row in this table
NOT_BUILT = "no row built for this claim in this profile's report (its results predate the row: rebuild the report)"


def load_index(path: str | Path = INDEX) -> pd.DataFrame:
    """The checklist (strings; empty cells as "")."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def row_of(entry: pd.Series, claims: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``claims`` that answer ``entry``: same paper, and the claim matching ``row`` in full
    (``claim`` verbatim for an entry without ``row``)."""
    g = claims[claims["paper"].astype(str) == entry["paper"]]
    text = g["claim"].astype(str)
    if entry["row"]:
        pat = re.compile(entry["row"])
        return g[text.map(lambda c: pat.fullmatch(c) is not None)]
    return g[text == entry["claim"]]


def coverage(claims: pd.DataFrame, index: pd.DataFrame | None = None) -> tuple[float, list[str]]:
    """The fraction of checklist entries with at least one row in ``claims``, and the ids without one."""
    index = load_index() if index is None else index
    missing = [e["id"] for _, e in index.iterrows() if not len(row_of(e, claims))]
    return (1.0 - len(missing) / len(index)) if len(index) else 1.0, missing


def unbuilt(claims: pd.DataFrame, index: pd.DataFrame | None = None) -> list[str]:
    """Ids of entries with a ``row`` pattern whose only rows are :func:`complete`'s placeholders."""
    index = load_index() if index is None else index
    out = []
    for _, e in index[index["row"] != ""].iterrows():
        got = row_of(e, claims)
        if not len(got) or (got["note"].astype(str) == NOT_BUILT).all():
            out.append(e["id"])
    return out


def complete(claims: pd.DataFrame, profile: str = "?", index: pd.DataFrame | None = None) -> pd.DataFrame:
    """``claims`` with a ``not measured`` row for every checklist entry that has none: the entry's reason as
    the note, or :data:`NOT_BUILT` for an entry a builder should have answered. Rows are appended after
    their paper's last row; a table without a paper of the checklist is returned as it is."""
    from salkd.claims import missing_claim

    index = load_index() if index is None else index
    if not len(claims) or "paper" not in claims.columns:
        return claims
    out = claims.copy()
    for _, e in index.iterrows():
        if e["paper"] not in set(out["paper"].astype(str)) or len(row_of(e, out)):
            continue
        text = e["claim"] or e["quote"]
        new = missing_claim(e["paper"], e["source"], text, e["metric"], e["quote"], e["reason"] or NOT_BUILT)
        if e["row"] and not e["reason"]:
            new["claim"] = text
        last = out.index[out["paper"].astype(str) == e["paper"]][-1]
        pos = list(out.index).index(last) + 1
        out = pd.concat([out.iloc[:pos], pd.DataFrame([new]), out.iloc[pos:]], ignore_index=True)
    return out
