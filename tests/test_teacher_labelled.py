"""The fixation papers' rows on a teacher-labelled corpus (salkd.distill.labelled) and the train-mean baseline."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from data_fixtures import make_dhf1k
from salkd import paths
from salkd.context import Context, evaluate_run, val_fn
from salkd.data.lowres import reduce
from salkd.map_sources import baseline_run, train_mean_maps
from salkd.runs import read_json


def _need_weights(name: str) -> None:
    from salkd import weights

    if weights.find(name) is None:
        pytest.skip(f"weights of {name} not found in {paths.weights_dir()} or {paths.shared_weights()}")


def test_train_mean_is_the_mean_training_label_and_a_scored_baseline(tmp_path: Path) -> None:
    data = make_dhf1k(tmp_path / "gaze", n_videos=3, n_frames=6, size=(36, 64))
    ctx = Context(profile="smoke", data={"fixation": str(data)}, runs=tmp_path / "runs", progress=False)
    train = ctx.dataset("fixation", "train")
    want = np.mean([reduce(v.read_density(t).astype(np.float32) / 255.0, (90, 160))
                    for v in train.videos for t in v.labeled("density")], axis=0)
    maps = train_mean_maps(ctx, "fixation", "test")
    assert set(maps) == set(ctx.dataset("fixation", "test").names)
    got = next(iter(maps.values()))[0].astype(np.float32) / 255.0
    assert np.abs(got - want / want.max()).max() <= 1.0 / 255.0 + 1e-6
    run = baseline_run(ctx, "train_mean", "fixation")
    assert read_json(run / "config.json")["data_fingerprint"] == ctx.data_fingerprint("fixation")
    df = evaluate_run(ctx, run, "test")
    assert np.isfinite(df.loc["overall", "nss"]) and np.isfinite(df.loc["overall", "cc"])
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_run(ctx, "median_map", "fixation")


def _labelled_ctx(tmp_path: Path, **over) -> Context:
    corpus = make_dhf1k(tmp_path / "corpus", n_videos=2, n_frames=6, size=(36, 64))
    fid = make_dhf1k(tmp_path / "fid", n_videos=1, n_frames=5, size=(36, 64))
    test = make_dhf1k(tmp_path / "test", n_videos=1, n_frames=10, size=(36, 64))
    for v in sorted(p for p in (tmp_path / "test").iterdir() if p.is_dir()):  # unique names across the sources
        v.rename(v.with_name("t" + v.name))
    overrides = {"data.fixation": {"source": "teacher-labelled"},
                 "distill.teacher": "tinyhd_m", "distill.corpus": [{"name": "C", "path": str(corpus)}],
                 "distill.fidelity": [{"name": "F", "path": str(fid)}], "distill.test": str(test),
                 "distill.clip": 2, "distill.block": 2, "teacher.spatial": ["tinyhd_m"],
                 "teacher.temporal": "tinyhd_m", **over}
    return Context(profile="smoke", runs=tmp_path / "runs", progress=False, overrides=overrides)


@pytest.mark.realdata
def test_teacher_labelled_splits_learn_the_teachers_maps_and_test_on_unseen_gaze_video(tmp_path: Path,
                                                                                          monkeypatch) -> None:
    _need_weights("tinyhd_m")
    ctx = _labelled_ctx(tmp_path)
    train, val, test = (ctx.dataset("fixation", s) for s in ("train", "val", "test"))
    assert train.n_frames == 12 and val.n_frames == 5 and test.n_frames == 10
    assert train.n_labeled("fixation") == 0 and train.n_labeled("density") == 12 and val.n_labeled("fixation") == 0
    assert test.n_labeled("fixation") == 10 and [len(v) for v in test.videos] == [4, 6]  # clips of clip x block
    train_frames = {str(f) for v in [*train.videos, *val.videos] for f in v.frames}
    assert not train_frames & {str(f) for v in test.videos for f in v.frames}
    # each density label is the teacher's map (resized to the frame's aspect), not the corpus's own gaze maps
    from salkd.distill.maps import teacher_maps, teacher_run

    v = train.videos[0]
    tm = teacher_maps(ctx, teacher_run(ctx), [v])[v.name]
    lab = v.read_density(3)
    assert lab.shape[0] * 64 == lab.shape[1] * 36 or abs(lab.shape[1] / lab.shape[0] - 64 / 36) < 0.02
    back = cv2.resize(lab, tm.shape[1:][::-1], interpolation=cv2.INTER_AREA).astype(float)
    assert np.corrcoef(back.ravel(), tm[3].astype(float).ravel())[0, 1] > 0.95
    # the students' soft targets come from the same cached maps: the teacher is not run again
    from salkd.models import pretrained
    from salkd.papers.teachers import teacher_knowledge, train_teachers

    run = train_teachers(ctx)["tinyhd_m"]
    monkeypatch.setattr(pretrained, "load", lambda *a, **k: (_ for _ in ()).throw(AssertionError("teacher rerun")))
    know = teacher_knowledge(ctx, run, 32)
    assert set(know) == set(train.names) and know[v.name].shape == (6, 32, 32)
    # validation without fixations selects by CC to the teacher's maps
    from salkd.models import build

    vals = val_fn(ctx, "fixation", 32)(build("skd_spatial"))
    assert np.isfinite(vals["metric"]) and vals["metric"] == vals["cc"]
    # the data's fingerprint includes the teacher (its maps are the labels)
    other = _labelled_ctx(tmp_path / "again")
    assert ctx.data_key("fixation")["data_fingerprint"] != ""
    assert "teacher-labelled" in str(train.root) and other.teacher_labelled("fixation")
    from salkd.results import data_desc

    assert "no gaze" in data_desc(ctx, "fixation")


def test_teacher_labelled_refuses_circular_or_trained_teachers(tmp_path: Path) -> None:
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"data.fixation": {"source": "teacher-labelled"}})
    with pytest.raises(ValueError, match="circular"):
        ctx.dataset("fixation", "train")
    ctx = _labelled_ctx(tmp_path, **{"distill.teacher": "dva"})
    with pytest.raises(ValueError, match="published teacher"):
        ctx.dataset("fixation", "train")


def test_fixation_tables_get_the_reference_rows(tmp_path: Path) -> None:
    import pandas as pd

    from salkd.papers import teachers
    from salkd.reference_rows import REFERENCE_TAG, with_references

    data = make_dhf1k(tmp_path / "gaze", n_videos=3, n_frames=6, size=(36, 64))
    ctx = Context(profile="smoke", data={"fixation": str(data)}, runs=tmp_path / "runs", progress=False,
                  overrides={"references.fixation": ["center_prior", "train_mean"]})
    table = pd.DataFrame({"variant": ["full"], "NSS": [1.0], "CC": [0.5], "maxF": [None]})
    assert with_references(ctx, table).equals(table)  # nothing scored yet: unchanged
    ref = teachers.run_references(ctx, "fixation")
    out = with_references(ctx, table)
    added = out[out["variant"].astype(str).str.startswith(REFERENCE_TAG)]
    assert len(out) == 3 and len(added) == 2
    assert sorted(added["NSS"].round(6)) == sorted(ref["nss"].round(6))
    assert any("train-mean" in v for v in added["variant"]) and any("centred" in v for v in added["variant"])
    vsod = pd.DataFrame({"variant": ["full"], "maxF": [0.5]})
    assert with_references(ctx, vsod).equals(vsod)  # not a fixation table


def test_the_human_ceiling_row_comes_from_the_test_videos_observers(tmp_path: Path) -> None:
    import pandas as pd

    from salkd.reference_rows import reference_rows

    data = make_dhf1k(tmp_path / "gaze", n_videos=3, n_frames=6, size=(60, 80))
    ctx = Context(profile="smoke", data={"fixation": str(data)}, runs=tmp_path / "runs", progress=False)
    assert not any("human" in r["name"] for r in reference_rows(ctx))  # one observer: no split halves
    rng = np.random.default_rng(0)
    for vd in sorted(p for p in data.iterdir() if p.is_dir()):  # 8 observers who all look at one spot
        rows = [{"frame": f, "subject": f"P{s}", "x": 40.0 + rng.normal(0, 1), "y": 30.0 + rng.normal(0, 1)}
                for f in range(1, 7) for s in range(8)]
        pd.DataFrame(rows).to_csv(vd / "fixation_points.csv", index=False)
    ctx = Context(profile="smoke", data={"fixation": str(data)}, runs=tmp_path / "runs", progress=False)
    (row,) = [r for r in reference_rows(ctx) if "human" in r["name"]]
    assert row["cc"] > 0.9 and row["nss"] > 2.0  # observers agree: CC near 1, NSS far above chance (0)


def test_claim_notes_say_what_no_distillation_means_on_teacher_labelled_data(tmp_path: Path) -> None:
    from salkd.papers.fixation_claims import teacher_labelled_notes

    rows = [{"source": "Table IV", "claim": "distilled S_st beats S_st without distillation (Ablation-O)", "note": "x",
             "verdict": "inconclusive"},
            {"source": "Fig. 8", "claim": "mu = 0.5 is the best mu", "note": "not run", "verdict": "not measured"},
            {"source": "Table I", "claim": "params", "note": "y", "verdict": "by construction"}]
    plain = Context(profile="smoke", runs=tmp_path, progress=False)
    assert teacher_labelled_notes(plain, [dict(r) for r in rows]) == rows
    labelled = Context(profile="smoke", runs=tmp_path, progress=False,
                       overrides={"data.fixation": {"source": "teacher-labelled"}})
    out = teacher_labelled_notes(labelled, [dict(r) for r in rows])
    assert "one-step distillation" in out[0]["note"] and out[0]["note"].endswith("x")
    assert "no mu sweep" in out[1]["note"] and out[2]["note"] == "y"
