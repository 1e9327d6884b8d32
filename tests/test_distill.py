"""salkd.distill: the distillation test's data (no student sees a test frame), its rows, baselines and verdicts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salkd.context import Context
from salkd.data import Video
from salkd.distill import data as dd
from salkd.distill import maps as dm
from salkd.distill import rows as dr
from salkd.distill.report import FAILS, HOLDS, NO_NOISE, UNDECIDED, verdict_above, verdict_at_least
from salkd.noise import difference, estimate


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> Context:
    return Context("smoke", runs=tmp_path_factory.mktemp("distill-runs"), progress=False)


def _video(n: int, name: str = "v") -> Video:
    return Video(name, [Path(f"/x/{name}/{i + 1:04d}.jpg") for i in range(n)])


def test_spread_and_clips():
    assert dd.spread(10, 3) == [0, 4, 9] and dd.spread(5, 10) == [0, 1, 2, 3, 4] and dd.spread(5, 0) == []
    names = [c.name for c in dd.clips([_video(10)], 4)]
    assert names == ["v@0000-0003", "v@0004-0009"]  # the short remainder joins the last clip
    assert [c.name for c in dd.clips([_video(10)], 4, start=0.5, gap=1)] == ["v@0006-0009"]


def _frames(ds) -> set[str]:
    return {str(f) for v in ds.videos for f in v.frames}


def test_no_corpus_or_fidelity_frame_is_a_test_frame(ctx):
    test, corpus, fid = _frames(dd.test_set(ctx)), _frames(dd.corpus(ctx)), _frames(dd.fidelity_set(ctx))
    assert test and corpus and fid
    assert not (test & corpus) and not (test & fid) and not (corpus & fid)
    # the label-scarcity rows train on the pool only, which the scarcity test does not overlap
    pool = {str(f) for v in dd.scarcity_pool(ctx) for f in v.frames}
    assert pool and not (pool & _frames(dd.scarcity_test(ctx)))


def test_row_datasets_keep_k_labelled_frames_and_the_corpus(ctx):
    from salkd import paths
    from salkd.data import cache_lowres

    train = dd.training_set(ctx)
    cache = cache_lowres(train, (16, 16), paths.cache_dir() / "lowres", progress=False)
    pool = [n for n in train.names if n.startswith("labelled/")]
    corpus = [n for n in train.names if n not in pool]
    labelled = dr.labelled_frames(ctx, 2)
    teacher = {n: np.zeros((cache.n_frames(n), 16, 16), np.uint8) for n in train.names}
    both = dr.RowDataset(cache, corpus + pool, labelled, teacher, seed=0)
    n_corpus = sum(cache.n_frames(n) for n in corpus)
    assert len(both) == n_corpus + sum(len(v) for v in labelled.values())
    flags = [both[i]["has_label"] for i in range(len(both))]
    assert sum(flags) == sum(len(v) for v in labelled.values()) and set(flags) == {0, 1}
    alone = dr.RowDataset(cache, pool, labelled, teacher, seed=0)
    assert len(alone) == 2 * len(pool) and all(alone[i]["has_label"] == 1 for i in range(len(alone)))
    with pytest.raises(ValueError, match="no training frames"):
        dr.RowDataset(cache, pool, {}, teacher, seed=0)


def test_jobs_cover_every_k_with_both_arms(ctx):
    jobs = dr.jobs(ctx)
    sec = ctx.cfg["distill"]
    assert jobs[0] == ("corpus", 0, sec["res"], sec["iters"])
    ks = sorted({k for arm, k, _, _ in jobs if arm == "labels"})
    assert ks and all(("labels+corpus", k, sec["scarcity_res"], sec["scarcity_iters"]) in jobs for k in ks)


def test_a_corpus_row_trains_and_its_loss_falls(tmp_path):
    ctx = Context("smoke", runs=tmp_path, progress=False, overrides={"distill.iters": 40})
    run = dr.train_row(ctx, "corpus", 0, 32, 40)
    hist = pd.read_csv(run / "history.csv")
    assert (run / "metrics.json").is_file() and hist["train_loss"].iloc[-1] < hist["train_loss"].iloc[0]
    assert dr.train_row(ctx, "corpus", 0, 32, 40) == run  # complete: reused, not retrained
    with pytest.raises(ValueError, match="k >= 1"):
        dr.train_row(ctx, "labels", 0, 32, 40)


def _points_csv(path: Path, same: bool, n_frames: int = 4, n_obs: int = 8) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for f in range(1, n_frames + 1):
        for s in range(n_obs):
            x, y = (40.0, 30.0) if same else (rng.uniform(0, 79), rng.uniform(0, 59))
            rows.append({"frame": f, "subject": f"P{s:02d}", "x": x, "y": y})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_human_ceiling_is_high_when_observers_agree_and_low_when_they_do_not(tmp_path):
    import cv2

    frames = []
    for i in range(4):
        p = tmp_path / f"{i + 1:04d}.png"
        cv2.imwrite(str(p), np.zeros((60, 80, 3), np.uint8))
        frames.append(p)
    agree = Video("a", frames, points_csv=_points_csv(tmp_path / "a.csv", True))
    apart = Video("b", frames, points_csv=_points_csv(tmp_path / "b.csv", False))
    out = dm.human_ceiling([agree, apart], splits=3, sigma=3.0)
    assert out["a"]["cc"] > 0.99 and out["a"]["cc_sb"] > 0.99 and out["a"]["nss"] > 5
    assert out["b"]["cc"] < 0.5 and out["b"]["cc_sb"] == pytest.approx(2 * out["b"]["cc"] / (1 + out["b"]["cc"]))


def test_mean_map_and_centre():
    m = dm.mean_map([np.zeros((10, 10), np.float32), np.pad(np.ones((2, 2), np.float32), 4)], size=(10, 10))
    assert m.max() == 255 and m[0, 0] == 0 and m[5, 5] == 255
    g = dm.center_gaussian()
    assert g.shape == (90, 160) and g[45, 80] == 255 and g[0, 0] < 20
    with pytest.raises(ValueError):
        dm.mean_map([])


def test_verdicts_read_the_interval():
    assert verdict_above(difference([[2.0, 2.1, 2.2]], [[0.0, 0.1, 0.0]])) == HOLDS
    assert verdict_above(difference([[0.0, 0.1, 0.0]], [[2.0, 2.1, 2.2]])) == FAILS
    assert verdict_above(difference([[0.0, 1.0, -1.0]], [[0.1, 0.0, 0.0]])) == UNDECIDED
    assert verdict_above(difference([[1.0]], [[0.0]])) == NO_NOISE  # one seed, one unit
    e = estimate([[0.9, 0.91, 0.92], [0.9, 0.9, 0.93]])
    assert verdict_at_least(e, 0.85) == HOLDS and verdict_at_least(e, 0.95) == FAILS


def test_the_goals_become_claim_rows_of_the_report(tmp_path):
    from salkd.distill import claims as dc
    from salkd import verdicts

    ctx = Context("smoke", runs=tmp_path, progress=False)
    (row,) = dc.claims(ctx)
    assert row["verdict"] == verdicts.NOT_MEASURED and "07_distillation_test" in row["note"]
    out = ctx.figures_dir()
    out.mkdir(parents=True)
    pd.DataFrame([
        {"claim": "k = 0 student at 64x64 keeps >= 85% of the teacher's NSS", "value": "0.5 ± 0.1", "seeds": 3,
         "units": 12, "verdict": "holds", "note": "", "margin": 0.5, "noise": 0.1},
        {"claim": "k = 30: the corpus adds to 30 labelled frames (CC, with - without)", "value": "-0.5 ± 0.1",
         "seeds": 3, "units": 3, "verdict": "fails", "note": "trained on frames of the test video's first part",
         "margin": -0.5, "noise": 0.1},
        {"claim": "k = 0 student above the centred Gaussian in NSS", "value": "0.1", "seeds": 1, "units": 1,
         "verdict": "no noise measured", "note": "", "margin": 0.1, "noise": 0.0}]).to_csv(
        out / "distill_verdicts.csv", index=False)
    rows = dc.claims(ctx)
    # one test video: at most consistent / inconsistent (salkd.verdicts.cap)
    assert [r["verdict"] for r in rows] == [verdicts.CONSISTENT, verdicts.INCONSISTENT, verdicts.INCONCLUSIVE]
    assert rows[0]["central"] and rows[1]["metric"] == "cc" and "first part trained on" in rows[1]["data"]
    assert "never trained on" in rows[0]["data"]
