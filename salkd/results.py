"""Result tables of the experiments: where they live, how they are read and summarized.

Every experiment (``salkd.papers.<paper>.run*``, ``salkd.pipeline.run_data`` / ``run_speed``) writes
``runs/<profile>/results/<experiment>.csv`` with columns ``experiment, variant, paper, teacher, res,
run, split, eval_file`` + the metrics of :mod:`salkd.metrics` + ``params``. ``eval_file`` names the
run's evaluation file (``eval_test.csv``, ``eval_test_spatial.csv``) whose per-video rows give the
error bars. The report reads these files only.

Choice (the papers do not say): one number per variant = the mean over its runs (seeds) of each
run's "overall" row. A configuration run with several seeds in one experiment counts them all wherever it
appears (:func:`with_seeds`, applied by :func:`load_or_none`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from salkd.atomic import write_text

__all__ = ["results_dir", "save", "load", "load_or_none", "with_seeds", "dropped", "row", "Summary", "summarize", "res_int", "overall",
           "run_path", "runs_of", "data_desc", "is_real", "speed_at", "MAKER"]

#: which notebook makes each experiment
MAKER = {"teachers": "01_teachers", "skd_table3": "02_skd_students / 03_skd_spatiotemporal",
         "skd_table4": "06_ablations", "skd_mu": "06_ablations", "uva_table3": "04_uvanet",
         "uva_fig6": "06_ablations", "skd_unlabeled": "06_ablations", "uva_unlabeled": "06_ablations",
         "fastvsod_main": "05_fastvsod", "fastvsod_table3": "06_ablations",
         "fastvsod_fig6": "06_ablations", "fastvsod_fig7": "06_ablations", "speed": "08_speed_memory",
         "data": "00_data"}


def results_dir(ctx: Any) -> Path:
    """``<runs_root>/<profile>/results``."""
    return Path(ctx.runs_root) / str(ctx.profile) / "results"


def save(ctx: Any, name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Write ``df`` as the results of experiment ``name`` (atomically) and return it."""
    write_text(results_dir(ctx) / f"{name}.csv", df.to_csv(index=False))
    return df


def load(ctx: Any, experiment: str) -> pd.DataFrame:
    """Read ``runs/<profile>/results/<experiment>.csv`` as written (FileNotFoundError naming the notebook)."""
    p = results_dir(ctx) / f"{experiment}.csv"
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist: run notebook {MAKER.get(experiment, '?')} "
                                f"(or `salkd reproduce --profile {ctx.profile}`) first")
    return pd.read_csv(p)


_NOTED: set[str] = set()


def load_or_none(ctx: Any, experiment: str, *, quiet: bool = False) -> pd.DataFrame | None:
    """The results of ``experiment`` normalized for the report (``res`` as int, ``variant`` / ``teacher``
    as strings), or None with a printed note when the experiment has not been run."""
    try:
        df = load(ctx, experiment)
    except FileNotFoundError as e:
        if not quiet and experiment not in _NOTED:
            _NOTED.add(experiment)
            print(f"[salkd.report] skipped: experiment {experiment!r} has no results: {e}")
        return None
    if "res" in df.columns:
        df["res"] = df["res"].map(res_int)
    for c in ("variant", "teacher"):
        if c in df.columns:
            df[c] = df[c].astype("string").fillna("")
    return with_seeds(ctx, df, experiment)


#: the columns that name a configuration in a results table, besides its training seed and run folder
CONFIG_COLS = ("variant", "teacher", "res", "mu", "alpha", "split", "eval_file")
#: the columns of a row that label it in its own table (kept when a row of another table lends its seed)
_LABEL_COLS = ("experiment", "variant", "paper", "teacher", "res", "mu", "alpha")


def _same(a: Any, b: Any, col: str) -> bool:
    """Two cells of a configuration column are equal (``res`` as int; missing equals missing)."""
    if col == "res":
        a, b = res_int(a), res_int(b)
    na = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    nb = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    return (na and nb) or (not na and not nb and str(a) == str(b))


def _eval_name(row: pd.Series) -> str:
    """The evaluation file a result row reads (rows written before rows named it: ``eval_<split>.csv``)."""
    name = row.get("eval_file")
    if isinstance(name, str) and name:
        return name
    split = row.get("split")
    return f"eval_{split if isinstance(split, str) and split else 'test'}.csv"


def _seeded_tables(ctx: Any, experiment: str) -> dict[str, pd.DataFrame]:
    """The "overall" rows of every other results table of the profile that has ``seed`` and ``run`` columns."""
    out = {}
    for p in sorted(results_dir(ctx).glob("*.csv")):
        if p.stem == experiment:
            continue
        try:
            o = pd.read_csv(p)
        except (OSError, ValueError, pd.errors.EmptyDataError):
            continue
        if {"seed", "run"} <= set(o.columns):
            out[p.stem] = overall(o)
    return out


def with_seeds(ctx: Any, df: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """``df`` with every existing seed of its configurations: a row whose run folder is also a row of another
    table that ran several seeds (e.g. skd Table III's S_st / DVA / 64x64 is seed 0 of Table IV's "full")
    gains that table's other seeds of the same configuration (same :data:`CONFIG_COLS`, evaluated on the
    same output file), each a copy of the row with the other seed's scores, run folder and seed."""
    if "run" not in df.columns or ("video" in df.columns and (df["video"].astype(str) != "overall").any()):
        return df
    others = _seeded_tables(ctx, experiment)
    if not others:
        return df
    have = set(df["run"].astype(str))
    extra: list[pd.Series] = []
    seeds: dict[int, Any] = {}
    for i, r in df.iterrows():
        run = str(r["run"])
        if run in ("", "nan", "<NA>"):
            continue
        for o in others.values():
            for _, h in o[o["run"].astype(str) == run].iterrows():
                if _eval_name(r) != _eval_name(h):   # another output of the same run (e.g. its spatial branch)
                    continue
                seeds.setdefault(i, h["seed"])
                same = o[[all(_same(x[c], h[c], c) for c in CONFIG_COLS if c in o.columns) for _, x in o.iterrows()]]
                for _, sib in same.iterrows():
                    if str(sib["run"]) in have:
                        continue
                    have.add(str(sib["run"]))
                    new = r.copy()
                    for c in sib.index:
                        if c not in _LABEL_COLS:
                            new[c] = sib[c]
                    extra.append(new)
    if not extra:
        return df
    out = df.copy()
    if "seed" not in out.columns:
        out["seed"] = pd.NA
    for i, sd in seeds.items():
        if pd.isna(out.at[i, "seed"]):
            out.at[i, "seed"] = sd
    return pd.concat([out, pd.DataFrame(extra)], ignore_index=True)


def row(ctx: Any, experiment: str, variant: str, paper: str, run: Path, *, teacher: str | None = None,
        output: str | None = None, task: str | None = None, **extra: Any) -> dict[str, Any]:
    """One result row: the run's "overall" test scores (:func:`salkd.context.evaluate_run`) and its size."""
    from salkd.bench.cost import count_params
    from salkd.context import evaluate_run, eval_file
    from salkd.models import load_for_inference
    from salkd.runs import read_json

    df = evaluate_run(ctx, run, "test", output=output, task=task)
    cfg = read_json(run / "config.json")
    res = cfg.get("res")
    res = res[0] if isinstance(res, list) else res
    out = {"experiment": experiment, "variant": variant, "paper": paper, "teacher": teacher, "res": res,
           "run": str(run), "split": "test", "eval_file": eval_file("test", output).name, **extra}
    out.update(df.loc["overall"].to_dict())
    out["params"] = 0 if cfg.get("baseline") else count_params(load_for_inference(run)[0])
    return out


def res_int(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    s = str(v).strip("[]() ")
    try:
        return int(float(s.split(",")[0].split("x")[0]))
    except ValueError:
        return v


def overall(df: pd.DataFrame) -> pd.DataFrame:
    if "video" in df.columns:
        return df[df["video"].astype(str) == "overall"]
    return df


def run_path(ctx: Any, run: Any) -> Path | None:
    if run is None or (isinstance(run, float) and math.isnan(run)):
        return None
    p = Path(str(run))
    if p.is_absolute():
        return p
    from salkd import paths

    for base in (paths.home(), Path(ctx.runs_root), Path(ctx.runs_root).parent):
        if (base / p).exists():
            return base / p
    return paths.home() / p


def _videos_of(ctx: Any, df: pd.DataFrame, row: pd.Series, metric: str) -> pd.Series | None:
    """Per-video values of ``metric`` for one result row (None when unknown): the rows of its own
    evaluation file (``eval_file``), or rows with a ``video`` column in the results themselves."""
    if "video" in df.columns and "run" in df.columns:
        sub = df[(df["run"] == row.get("run")) & (df["video"].astype(str) != "overall")]
        if len(sub) and metric in sub:
            return sub.set_index("video")[metric].astype(float)
    run = run_path(ctx, row.get("run"))
    name = row.get("eval_file")
    if not isinstance(name, str):  # results written before rows named their evaluation file
        name = f"eval_{row.get('split') if isinstance(row.get('split'), str) else 'test'}.csv"
    if run is None or not (run / name).is_file():
        return None
    ev = pd.read_csv(run / name, index_col=0)
    if metric not in ev.columns:
        return None
    return ev.loc[ev.index.astype(str) != "overall", metric].astype(float)


@dataclass
class Summary:
    """One variant's number on one metric: mean over runs, per-video values, seed spread."""

    value: float
    videos: pd.Series | None = None
    run_values: list[float] = field(default_factory=list)

    @property
    def n_runs(self) -> int:
        return len(self.run_values)

    def se(self) -> float | None:
        """Standard error of the value: the square root of (variance over videos) / videos + (variance over
        seeds) / seeds, each part present only with two or more (the rule of :mod:`salkd.noise`)."""
        parts = []
        if self.videos is not None and len(self.videos.dropna()) > 1:
            v = self.videos.dropna()
            parts.append(float(v.var(ddof=1)) / len(v))
        if len(self.run_values) > 1:
            parts.append(float(np.var(self.run_values, ddof=1)) / len(self.run_values))
        return math.sqrt(sum(parts)) if parts else None

    def half(self) -> float | None:
        """The 95 % half-width of the value: ``t(0.975, df) x`` :meth:`se`, df by Welch-Satterthwaite over the
        video and seed parts (:func:`salkd.noise.combine`); None without an error bar."""
        from salkd.noise import combine

        parts = []
        if self.videos is not None and len(self.videos.dropna()) > 1:
            v = self.videos.dropna()
            parts.append((float(v.var(ddof=1)) / len(v), len(v) - 1))
        if len(self.run_values) > 1:
            parts.append((float(np.var(self.run_values, ddof=1)) / len(self.run_values), len(self.run_values) - 1))
        if not parts:
            return None
        n_units = 0 if self.videos is None else len(self.videos.dropna())
        return combine(self.value, parts, max(1, self.n_runs), n_units).half


_COVERAGE: dict[str, float] = {}
_DROPPED_SAID: set[str] = set()


def dropped(ctx: Any, metric: str) -> str | None:
    """Why the report leaves ``metric`` out in this profile, or None. Shuffled AUC is dropped when the
    profile's shuffle map (``eval.shuffle_map``) marks more than
    :data:`salkd.evaluate.SHUFFLE_MAP_MAX_COVERAGE` of the pixels as negatives: they are then nearly
    uniform, and sAUC rewards the centre bias it is meant to discount (the evaluation files keep it)."""
    if metric != "sauc":
        return None
    cfg = getattr(ctx, "cfg", None) or {}
    src = (cfg.get("eval") or {}).get("shuffle_map")
    data = getattr(ctx, "data", None)
    if not src or (isinstance(data, Mapping) and data.get("fixation")):
        return None
    from salkd.context import profile_path
    from salkd.evaluate import SHUFFLE_MAP_MAX_COVERAGE, load_shuffle_map, shuffle_map_coverage

    path = profile_path(src)
    if str(path) not in _COVERAGE:
        try:
            _COVERAGE[str(path)] = shuffle_map_coverage(load_shuffle_map(path))
        except (OSError, ValueError):
            return None
    cov = _COVERAGE[str(path)]
    if cov <= SHUFFLE_MAP_MAX_COVERAGE:
        return None
    return (f"sAUC dropped: the shuffle map {path.name} marks {cov:.0%} of the pixels as negatives (more than "
            f"{SHUFFLE_MAP_MAX_COVERAGE:.0%}), so its negatives are nearly uniform and sAUC rewards the centre "
            f"bias it is meant to discount")


def summarize(ctx: Any, df: pd.DataFrame | None, metric: str, **where: Any) -> Summary | None:
    """The :class:`Summary` of the rows matching ``where`` (column == value), or None (also for a metric the
    profile drops, :func:`dropped`, whose reason is printed once)."""
    if df is None or metric not in df.columns:
        return None
    why = dropped(ctx, metric)
    if why is not None:
        if why not in _DROPPED_SAID:
            _DROPPED_SAID.add(why)
            print(f"[salkd.report] {why}")
        return None
    sel = overall(df)
    for k, v in where.items():
        if k not in sel.columns:
            return None
        col = sel[k]
        if isinstance(v, float) or k in ("mu", "alpha"):
            sel = sel[np.isclose(pd.to_numeric(col, errors="coerce"), float(v))]
        elif k == "res":
            sel = sel[col.map(res_int) == int(v)]
        else:
            sel = sel[col.astype(str).str.lower() == str(v).lower()]
    sel = sel[pd.to_numeric(sel[metric], errors="coerce").notna()]
    if not len(sel):
        return None
    vals = [float(x) for x in sel[metric]]
    vids = [_videos_of(ctx, df, r, metric) for _, r in sel.iterrows()]
    vids = [v for v in vids if v is not None and len(v)]
    videos = pd.concat(vids, axis=1).mean(axis=1) if vids else None
    return Summary(float(np.mean(vals)), videos, vals)


def data_desc(ctx: Any, task: str) -> str:
    """A short description of the data ours was measured on: profile + dataset (test split)."""
    cfg = getattr(ctx, "cfg", None) or {}
    spec = (cfg.get("data") or {}).get(task) or {}
    data_override = getattr(ctx, "data", None)
    if getattr(ctx, "teacher_labelled", None) is not None and ctx.teacher_labelled(task):
        from salkd.distill.labelled import describe

        return describe(ctx)
    if isinstance(data_override, Mapping) and data_override.get(task):
        src = f"user data {Path(str(data_override[task])).name}"
    else:
        s = spec.get("source")
        if s == "synthetic":
            src = f"synthetic {spec.get('style', '')} {spec.get('n_videos', '?')}x{spec.get('n_frames', '?')} frames"
        elif isinstance(s, str) and s.startswith("shared:"):
            src = s.split(":", 1)[1]
        elif isinstance(s, (list, dict)):  # several training sources (salkd.data.sources)
            from salkd.data.sources import parse_sources

            parsed = parse_sources(s, f"data.{task}.source")
            src = " + ".join(x.name for x in parsed)
            tests = [x.name for x in parsed if x.splits is None or "test" in x.splits]
            if tests and len(tests) < len(parsed):  # some sources only train (e.g. DUTS still images)
                return f"{getattr(ctx, 'profile', '?')}: test split of {' + '.join(tests)} (trained on {src})"
        else:
            src = str(s)
        if spec.get("val_source"):  # the test split is read from the separate validation source
            vs = str(spec["val_source"])
            return f"{getattr(ctx, 'profile', '?')}: {vs.split(':', 1)[-1]} (trained on {src.strip()})"
    split = spec.get("split") or cfg.get("data", {}).get("split") or {}
    if isinstance(split, Mapping) and split.get("by") == "time":
        return f"{getattr(ctx, 'profile', '?')}: {src.strip()} (test split: last frames of each video, split in time)"
    return f"{getattr(ctx, 'profile', '?')}: {src.strip()} (test split)"


def is_real(ctx: Any, task: str, name: str) -> bool:
    cfg = getattr(ctx, "cfg", None) or {}
    spec = (cfg.get("data") or {}).get(task) or {}
    text = " ".join(str(v) for v in spec.values()).lower()
    if spec.get("source") == "teacher-labelled":  # scored on the distillation test's video (salkd.distill.labelled)
        text += " " + str((cfg.get("distill") or {}).get("test", "")).lower()
    data_override = getattr(ctx, "data", None)
    if isinstance(data_override, Mapping) and data_override.get(task):
        text += " " + str(data_override[task]).lower()
    return name.lower() in text


def speed_at(speed: pd.DataFrame | None, model: str, res: int) -> dict[str, Any] | None:
    """Cost and best accurate FPS of ``model`` at ``res`` from the benchmark table."""
    if speed is None or "model" not in speed.columns:
        return None
    s = speed[(speed["model"].astype(str) == model) & (speed["res"].map(res_int) == int(res))]
    if not len(s):
        return None
    mem_col = "mem_mb" if "mem_mb" in s.columns else ("memory_mb" if "memory_mb" in s.columns else None)
    out: dict[str, Any] = {
        "params": float(s["params"].dropna().iloc[0]) if "params" in s and s["params"].notna().any() else None,
        "mem_mb": float(s[mem_col].dropna().iloc[0]) if mem_col and s[mem_col].notna().any() else None,
        "fps": None, "runtime": None, "batch": None,
    }
    ok = s
    if "status" in s.columns:
        ok = ok[ok["status"].astype(str).str.lower().isin(["ok", "nan", ""]) | ok["status"].isna()]
    if "accurate" in ok.columns:
        acc = ok["accurate"].astype(str).str.lower().isin(["true", "1", "nan"]) | ok["accurate"].isna()
        ok = ok[acc]
    if "fps" in ok.columns and ok["fps"].notna().any():
        best = ok.loc[pd.to_numeric(ok["fps"], errors="coerce").idxmax()]
        out.update(fps=float(best["fps"]), runtime=best.get("runtime"), batch=best.get("batch"),
                   threads=best.get("threads"))
    return out


def runs_of(ctx: Any, experiment: str, pick: Sequence[Mapping[str, Any]]) -> dict[str, Path]:
    """``{label: run folder}`` for result rows matching each ``pick`` dict (label key "label")."""
    df = load_or_none(ctx, experiment, quiet=True)
    out: dict[str, Path] = {}
    if df is None or "run" not in df.columns:
        return out
    ov = overall(df)
    for p in pick:
        sel = ov
        for k, v in p.items():
            if k == "label" or k not in sel.columns:
                continue
            sel = sel[sel[k].map(res_int) == v] if k == "res" else sel[sel[k].astype(str).str.lower() == str(v).lower()]
        if len(sel):
            run = run_path(ctx, sel.iloc[0]["run"])
            if run is not None and (run / "config.json").is_file():
                out[p["label"]] = run
    return out
