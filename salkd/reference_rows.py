"""The rows that expose what a fixation score means, appended to every fixation table of the report (issue 26,
item 2): the teacher(s), the centred Gaussian, the train-mean map (the mean label map of the training split: what
memorising the labels gives) and, where the test video's raw gaze allows it, the human ceiling.

They come from the results the notebooks already saved (``teachers``, ``references_fixation``); the human
ceiling is computed from the test videos' per-observer gaze (``fixation_points.csv`` with a ``subject`` column)
where they have it. Each appended row names itself in the table's first
column as ``[reference] <name>`` and fills the metric columns the table has.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from salkd import results

__all__ = ["reference_rows", "with_references", "REFERENCE_TAG"]

#: how an appended row is marked in the table's first column
REFERENCE_TAG = "[reference]"

_NAMES = {"center_prior": "centred Gaussian", "train_mean": "train-mean map (memorised training labels)"}


def reference_rows(ctx: Any) -> list[dict[str, Any]]:
    """``[{"name", "note", <metric>: value}]``: the teachers, fixed baselines and the human ceiling, as scored
    on the fixation test split (empty when none was run)."""
    from salkd.map_sources import is_pretrained

    out: list[dict[str, Any]] = []
    for exp in ("teachers", "references_fixation"):
        df = results.load_or_none(ctx, exp, quiet=True)
        if df is None:
            continue
        for _, r in results.overall(df).iterrows():
            name = str(r["variant"])
            if exp == "teachers":
                note = "published teacher" if is_pretrained(name) else "teacher trained here"
                label = f"teacher {name}"
            else:
                note, label = "fixed baseline", _NAMES.get(name, name)
            out.append({"name": label, "note": note, **{m: r.get(m) for m in ("auc_judd", "sauc", "nss", "sim",
                                                                            "cc", "kld")}})
    ceiling = _human_ceiling(ctx)
    if ceiling is not None:
        out.append(ceiling)
    return out


def _human_ceiling(ctx: Any) -> dict[str, Any] | None:
    """The human ceiling on the fixation test split (:func:`salkd.distill.maps.human_ceiling`: split-half
    observers, ``distill.ceiling_splits`` random splits), averaged over the test videos weighted by frames; None
    when no test video has per-observer gaze. Cached under ``<cache>/human-ceiling/``."""
    import hashlib
    import json

    from salkd import paths
    from salkd.atomic import write_text
    from salkd.distill.maps import human_ceiling

    try:
        videos = ctx.dataset("fixation", "test").videos
    except Exception:  # no fixation data in this profile / context: nothing to compute
        return None
    if not any(v.points_csv is not None for v in videos):
        return None
    splits, seed = int((ctx.cfg.get("distill") or {}).get("ceiling_splits", 5)), int(ctx.data_seed)
    def gaze(v: Any) -> str:  # the observers' file: its size and time (edited gaze, new ceiling)
        if v.points_csv is None or not v.points_csv.is_file():
            return "-"
        st = v.points_csv.stat()
        return f"{v.points_csv}:{st.st_size}:{st.st_mtime_ns}"

    key = hashlib.sha256(("|".join(f"{v.name}:{v.frames[0]}:{len(v)}:{gaze(v)}" for v in videos)
                          + f"|{splits}|{seed}").encode()).hexdigest()[:16]
    path = paths.cache_dir() / "human-ceiling" / f"{key}.json"
    if path.is_file():
        per = json.loads(path.read_text())
    else:
        per = human_ceiling(videos, splits=splits, seed=seed)
        write_text(path, json.dumps(per))
    if not per:
        return None
    w = {k: float(v.get("frames", 1)) for k, v in per.items()}
    mean = lambda key: sum(per[k][key] * w[k] for k in per) / sum(w.values())  # noqa: E731
    return {"name": "human ceiling (split-half observers)",
            "note": f"half the observers' gaze scored on the other half's, {splits} random splits; CC corrected to "
                    f"all observers by Spearman-Brown, NSS uncorrected", "nss": mean("nss"), "cc": mean("cc_sb")}


def with_references(ctx: Any, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (a fixation table with an ``NSS`` column) with :func:`reference_rows` appended; unchanged when
    it has no such column or no reference was run."""
    from salkd.papers.common import FIX_LABELS

    if table is None or "NSS" not in table.columns or not len(table.columns):
        return table
    refs = reference_rows(ctx)
    if not refs:
        return table
    first = table.columns[0]
    rows = []
    for ref in refs:
        row: dict[str, Any] = {first: f"{REFERENCE_TAG} {ref['name']}"}
        if "data" in table.columns:
            row["data"] = f"the same test frames ({ref['note']})"
        for metric, label in FIX_LABELS.items():
            if label in table.columns and ref.get(metric) is not None and not results.dropped(ctx, metric):
                row[label] = ref[metric]
        rows.append(row)
    out = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
    out.attrs.update(table.attrs)
    return out
