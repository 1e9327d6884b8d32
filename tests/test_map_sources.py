"""Published teachers and fixed baselines as runs: teacher maps for students, test scores, reference rows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_fixtures import make_dhf1k
from salkd import paths, results
from salkd.context import Context, evaluate_run
from salkd.map_sources import baseline_run, center_prior_maps
from salkd.papers import teachers
from salkd.runs import is_complete, read_json


def _need_weights(name: str) -> None:
    from salkd import weights

    if weights.find(name) is None:
        pytest.skip(f"weights of {name} not found in {paths.weights_dir()} or {paths.shared_weights()}")


@pytest.fixture()
def ctx(tmp_path: Path) -> Context:
    data = make_dhf1k(tmp_path / "gaze", n_videos=3, n_frames=20, size=(36, 64))
    return Context(profile="smoke", data={"fixation": str(data)}, runs=tmp_path / "runs", progress=False,
                   overrides={"teacher.spatial": ["tinyhd_m"], "teacher.temporal": "tinyhd_m",
                              "references.fixation": ["center_prior"]})


@pytest.mark.realdata
def test_published_teacher_is_a_run_that_students_and_tables_use(ctx: Context) -> None:
    _need_weights("tinyhd_m")
    runs = teachers.train_teachers(ctx)
    run = runs["tinyhd_m"]
    cfg = read_json(run / "config.json")
    assert is_complete(run) and cfg["pretrained"] == "tinyhd_m" and len(cfg["sha256"]) == 64
    maps = teachers.teacher_knowledge(ctx, run, 32)
    ds = ctx.dataset("fixation", "train")
    assert set(maps) == {v.name for v in ds.videos}
    for v in ds.videos:
        assert maps[v.name].shape == (len(v), 32, 32) and maps[v.name].dtype == np.uint8
        assert maps[v.name].max() > 0
    df = teachers.run(ctx)
    assert df.loc[0, "variant"] == "tinyhd_m" and 500_000 < df.loc[0, "params"] < 530_000
    assert np.isfinite(df.loc[0, "nss"]) and (run / "eval_test.csv").is_file()
    ref = results.load(ctx, "references_fixation")
    assert list(ref["variant"]) == ["center_prior"] and ref.loc[0, "params"] == 0


def test_center_prior_is_a_centred_gaussian_scored_like_a_model(ctx: Context) -> None:
    maps = center_prior_maps(ctx, "fixation", "test")
    m = next(iter(maps.values()))[0].astype(float)
    assert m.argmax() == np.ravel_multi_index((m.shape[0] // 2, m.shape[1] // 2), m.shape) or \
        m[m.shape[0] // 2, m.shape[1] // 2] == m.max()
    assert m[0, 0] < 0.2 * m.max()
    run = baseline_run(ctx, "center_prior", "fixation")
    assert is_complete(run)
    df = evaluate_run(ctx, run, "test")
    assert "overall" in df.index and np.isfinite(df.loc["overall", "nss"])


def test_video_fixation_maps_are_stored_scaled_to_peak_255() -> None:
    """TinyHD's sigmoid maps peak far below 1: stored raw they kept a few grey levels and were weak soft targets.
    A video fixation model's maps are scaled per frame to peak 255; a salient-object model's are kept as they are."""
    import torch

    from salkd.map_sources import video_maps

    class VideoNet(torch.nn.Module):
        def predict_video(self, frames):
            return [np.full((4, 6), 0.01, np.float32) * (np.arange(24).reshape(4, 6) + 1) for _ in frames]

    maps = video_maps(VideoNet(), [np.zeros((8, 8, 3), np.uint8)] * 3)
    assert maps.dtype == np.uint8 and maps.shape == (3, 4, 6)
    assert (maps.reshape(3, -1).max(axis=1) == 255).all() and maps[0, 0, 0] == round(255 / 24)
    zeros = video_maps(type("Z", (torch.nn.Module,), {"predict_video": lambda self, f: [np.zeros((2, 2))] * len(f)})(),
                        [np.zeros((8, 8, 3), np.uint8)])
    assert not zeros.any()   # an all-zero map stays zero (no division by zero)
