"""salkd.distill.vsod: the VSOD side of the distillation test (a fastvsod student on k masked sequences and the
teacher's maps of the rest) and the "at chance" verdict of comparisons between models no better than a Gaussian."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salkd.context import Context
from salkd.data import DatasetError
from salkd.distill import vsod as dv
from salkd.distill import vsod_report as vr


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> Context:
    return Context("smoke", runs=tmp_path_factory.mktemp("distill-vsod-runs"), progress=False)


def test_jobs_give_every_k_and_the_masks_arm_between(ctx):
    n = len(dv.train_set(ctx).videos)
    assert dv.jobs(ctx) == [("teacher", 0), ("teacher", 1), ("masks", n), ("masks", 1)]


def test_labelled_sequences_are_nested_over_k_and_drawn_per_seed(ctx):
    n = len(dv.train_set(ctx).videos)
    one, two, every = dv.labelled_videos(ctx, 1), dv.labelled_videos(ctx, 2), dv.labelled_videos(ctx, n)
    assert len(one) == 1 and set(one) <= set(two) and len(every) == n and dv.labelled_videos(ctx, 0) == []
    draws = {tuple(dv.labelled_videos(ctx.with_seed(s), 2)) for s in range(6)}
    assert len(draws) > 1  # which sequences are labelled is part of the seed noise
    with pytest.raises(ValueError, match="sequences"):
        dv.labelled_videos(ctx, n + 1)


def test_the_test_sequences_must_be_held_out(tmp_path):
    base = Context("smoke", runs=tmp_path, progress=False)
    root = str(base.dataset_root("vsod"))
    ctx = Context("smoke", runs=tmp_path, progress=False,
                  overrides={"distill.vsod.train": root, "distill.vsod.test": root})
    with pytest.raises(DatasetError, match="held out"):
        dv.test_set(ctx)


def test_row_dataset_flags_the_masked_sequences(ctx):
    from salkd import paths
    from salkd.data import cache_lowres

    train = dv.train_set(ctx)
    cache = cache_lowres(train, (16, 16), paths.cache_dir() / "lowres", progress=False)
    names = [v.name for v in train.videos]
    teacher = {n: np.full((cache.n_frames(n), 16, 16), 128, np.uint8) for n in names}
    ds = dv._RowDataset(cache, names, names[:1], teacher, seed=0)
    flags = {(ds.videos[vi], ds.has_label(vi, t)) for vi, t in ds.items}
    assert flags == {(names[0], 1)} | {(n, 0) for n in names[1:]}
    item = ds[0]
    assert "teacher" in item and float(item["teacher"].max()) <= 1.0


def test_a_distilled_row_trains_and_its_loss_falls(tmp_path):
    ctx = Context("smoke", runs=tmp_path, progress=False, overrides={"distill.vsod.iters": 30})
    run = dv.train_row(ctx, "teacher", 0)
    hist = pd.read_csv(run / "history.csv")
    assert (run / "metrics.json").is_file() and hist["train_loss"].iloc[-1] < hist["train_loss"].iloc[0]
    assert dv.train_row(ctx, "teacher", 0) == run  # complete: reused
    with pytest.raises(ValueError, match="k >= 1"):
        dv.train_row(ctx, "masks", 0)


def _scores(level: dict, units: int = 4, seeds: int = 3) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for key, mean in level.items():
        n = 1 if isinstance(key, str) else seeds
        out[key] = [pd.DataFrame({"max_f": mean + 0.01 * rng.standard_normal(units),
                                  "mae": 0.2 + 0.01 * rng.standard_normal(units)}) for _ in range(n)]
    return out


def test_comparisons_of_two_rows_at_chance_are_not_judged(ctx):
    n = len(dv.train_set(ctx).videos)
    chance = _scores({"teacher": 0.7, "centre": 0.37, ("teacher", 0): 0.37, ("teacher", 1): 0.37,
                      ("masks", 1): 0.37, ("masks", n): 0.37})
    rows = {r["claim"][:40]: r for r in vr.verdict_rows(ctx, chance)}
    assert sum(r["verdict"] == vr.AT_CHANCE for r in rows.values()) == 2
    keep = next(r for r in rows.values() if "keeps" in r["claim"])
    assert keep["verdict"] == "fails"  # far below 85 % of the teacher: judged, whatever the level
    good = _scores({"teacher": 0.7, "centre": 0.37, ("teacher", 0): 0.65, ("teacher", 1): 0.68,
                    ("masks", 1): 0.45, ("masks", n): 0.6})
    verdicts = [r["verdict"] for r in vr.verdict_rows(ctx, good)]
    assert vr.AT_CHANCE not in verdicts and verdicts.count("holds") >= 3
    tab = vr.table(ctx, good)
    assert set(tab["level"]) == {"-", "above chance"} and len(tab) == 6


def test_fastvsod_ablations_at_chance_say_so(monkeypatch, ctx):
    from salkd import results
    from salkd.papers import fastvsod_claims as fastvsod
    from salkd.results import Summary

    jitter = {v: 0.05 * np.random.default_rng(i).standard_normal(5) for i, v in enumerate(["center_prior", "BS", "full", "full [csnet]"])}
    videos = lambda v: pd.Series(level[v] + jitter[v], index=[f"v{i}" for i in range(5)])  # noqa: E731
    level = {"center_prior": 0.40, "BS": 0.41, "full": 0.405, "full [csnet]": 0.70}
    monkeypatch.setattr(results, "load_or_none", lambda ctx, name, quiet=False: pd.DataFrame({"variant": list(level)}))
    monkeypatch.setattr(results, "overall", lambda df: df)
    monkeypatch.setattr(results, "summarize",
                        lambda ctx, df, metric, variant: Summary(level[variant], videos(variant), [level[variant]]))
    note = fastvsod._at_chance_note(ctx, {"fastvsod_main": pd.DataFrame({"variant": ["BS", "full", "full [csnet]"]})})
    assert note.startswith("both at chance") and "BS" in note  # the [csnet] rows are not the model trained here
    level["BS"] = 0.6
    assert fastvsod._at_chance_note(ctx, {"fastvsod_main": pd.DataFrame({"variant": ["BS", "full"]})}) == ""
