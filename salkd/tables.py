"""Table writers: CSV, Markdown and LaTeX from a DataFrame (the report and the benchmark use them)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fmt", "finite_number", "to_markdown", "to_latex", "write_table"]


def finite_number(v: Any) -> float | None:
    """``v`` as a finite float, or None (a table's empty, text or non-finite cell)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def fmt(v: Any) -> str:
    """A table cell: 3 significant decimals for small numbers, thousands separators for large ones, — for missing."""
    if v is None:
        return "—"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "—"
        a = abs(v)
        if a >= 1000:
            return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"
        if a >= 100:
            return f"{v:.1f}"
        if a >= 10:
            return f"{v:.2f}"
        return f"{v:.3f}"
    if isinstance(v, (np.integer,)):
        return str(int(v))
    s = str(v)
    return "—" if s in ("nan", "<NA>", "None") else s


def to_markdown(df: pd.DataFrame, caption: str = "", note: str = "") -> str:
    cols = [str(c) for c in df.columns]
    lines = []
    if caption:
        lines += [f"**{caption}**", ""]
    lines += ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(fmt(v).replace("|", "/") for v in r.values) + " |")
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _tex_escape(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("$", r"\$"), ("{", r"\{"), ("}", r"\}"), ("~", r"\~{}"), ("^", r"\^{}")):
        s = s.replace(a, b)
    return s.replace("—", "--")


def to_latex(df: pd.DataFrame, caption: str = "", label: str = "") -> str:
    cols = [str(c) for c in df.columns]
    lines = [r"\begin{table}[t]", r"\centering", r"\small"]
    if caption:
        lines.append(r"\caption{" + _tex_escape(caption) + "}")
    if label:
        lines.append(r"\label{tab:" + label + "}")
    lines += [r"\begin{tabular}{" + "l" * len(cols) + "}", r"\hline",
              " & ".join(_tex_escape(c) for c in cols) + r" \\", r"\hline"]
    for _, r in df.iterrows():
        lines.append(" & ".join(_tex_escape(fmt(v)) for v in r.values) + r" \\")
    lines += [r"\hline", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, out_dir: str | Path, stem: str, caption: str = "", note: str = "") -> list[Path]:
    """Write ``<stem>.csv``, ``.md`` and ``.tex`` into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts = {"csv": df.to_csv(index=False), "md": to_markdown(df, caption, note), "tex": to_latex(df, caption, stem)}
    written = []
    for ext, text in texts.items():
        p = out / f"{stem}.{ext}"
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
        written.append(p)
    return written
