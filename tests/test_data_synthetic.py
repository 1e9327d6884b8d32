"""Synthetic generator: determinism, layouts, label consistency (masks, distractors, fixations)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from salkd.data import make_dataset, open_dataset, render_video
from salkd.data import synthetic


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def videos():
    """A few rendered videos of both styles (in memory)."""
    return [render_video(s, i, n_frames=12, size=(96, 96), style=st)
            for s, i, st in [(0, 0, "aerial"), (0, 1, "aerial"), (1, 2, "aerial"), (0, 3, "ground"), (2, 4, "ground")]]


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    kw = dict(kind="fixation", n_videos=2, n_frames=3, size=(48, 64), progress=False)
    a = _digest(make_dataset(tmp_path / "a", seed=5, **kw))
    b = _digest(make_dataset(tmp_path / "b", seed=5, workers=1, **kw))
    c = _digest(make_dataset(tmp_path / "c", seed=6, **kw))
    assert a == b
    assert a.keys() == c.keys()
    assert a["0001/images/0001.png"] != c["0001/images/0001.png"]


def test_vsod_layout_opens_with_splits(tmp_path):
    root = make_dataset(tmp_path / "v", kind="vsod", n_videos=6, n_frames=3, size=(32, 48), seed=1,
                        progress=False)
    ds = open_dataset(root)
    assert (ds.layout, ds.task, len(ds), ds.n_labeled("mask")) == ("toolkit", "vsod", 6, 18)
    assert ds[0].read_frame(0).shape == (32, 48, 3)
    assert set(np.unique(ds[0].read_mask(0))) <= {0, 255}
    info = json.loads((root / "salkd_synthetic.json").read_text())
    assert info["kind"] == "vsod" and info["seed"] == 1 and info["size"] == [32, 48]
    assert ds.info["n_videos"] == 6
    parts = {s: open_dataset(root, split=s).names for s in ("train", "val", "test")}
    assert sum(len(v) for v in parts.values()) == 6 and all(parts.values())
    assert set().union(*parts.values()) == set(ds.names)
    assert open_dataset(root, split="train").split == "train"


def test_fixation_layout_and_same_scene_as_vsod(tmp_path):
    fx = make_dataset(tmp_path / "f", kind="fixation", n_videos=1, n_frames=3, size=(32, 32), seed=2,
                      progress=False)
    vs = make_dataset(tmp_path / "s", kind="vsod", n_videos=1, n_frames=3, size=(32, 32), seed=2,
                      progress=False)
    ds = open_dataset(fx)
    assert (ds.layout, ds.task, ds.n_labeled("fixation"), ds.n_labeled("density")) == ("dhf1k", "fixation", 3, 3)
    v = ds[0]
    pts = v.fixation_points(1)
    fix = v.read_fixation(1)
    assert len(pts) >= 1 and all(fix[int(round(y)), int(round(x))] == 1 for x, y in pts)
    assert (fx / "0001" / "images" / "0002.png").read_bytes() == (vs / "0001" / "Imgs" / "00001.png").read_bytes()


def test_masks_cover_moving_objects(videos):
    for v in videos:
        T = v.frames.shape[0]
        assert v.masks.any(axis=(1, 2)).mean() > 0.8
        # objects move: the mask changes over time
        assert (v.masks[0] != v.masks[-1]).any()
        near = cv2.dilate(v.masks, np.ones((3, 3), np.uint8))  # tiny aerial shapes: 1 px tolerance
        inside = [near[t, int(round(c[1])), int(round(c[0]))] > 0 for t in range(T) for c in v.centers[t]
                  if 0 <= c[0] < v.masks.shape[2] - 0.5 and 0 <= c[1] < v.masks.shape[1] - 0.5]
        assert np.mean(inside) > 0.6


def test_distractors_present_but_not_in_masks(videos):
    for v in videos:
        assert v.distractors.any()
        assert not (v.distractors & (v.masks > 0)).any()


def test_distractors_are_salient_looking(videos):
    """Distractors have at least the colour contrast of the salient objects (appearance alone is ambiguous)."""
    ratios = []
    for v in videos:
        f = v.frames.astype(np.float32)
        sat = f.max(-1) - f.min(-1)
        m, d = v.masks > 0, v.distractors
        ratios.append(sat[d].mean() / sat[m].mean())
    assert np.median(ratios) > 0.6


def test_fixations_fall_on_salient_objects(videos):
    near = []
    k = np.ones((9, 9), np.uint8)
    for v in videos:
        for t, s, x, y in v.points:
            m = cv2.dilate(v.masks[int(t)], k)
            near.append(m[int(round(y)), int(round(x))] > 0)
    assert np.mean(near) > 0.5


def test_density_is_blurred_fixation_scaled_to_255(videos):
    v = videos[0]
    for t in range(v.frames.shape[0]):
        if v.fixation[t].any():
            assert v.density[t].max() == 255
            ys, xs = np.nonzero(v.fixation[t])
            assert (v.density[t][ys, xs] > 0).all()
        else:
            assert not v.density[t].any()


def test_camera_moves_in_aerial_style(videos):
    """Aerial cameras pan/rotate: the scene point under the image centre drifts over the clip."""
    import cv2 as _cv2

    def centre_in_scene(cam):
        inv = _cv2.invertAffineTransform(cam)
        return inv[:, :2] @ np.array([48.0, 48.0]) + inv[:, 2]

    for v in videos[:3]:
        drift = np.linalg.norm(centre_in_scene(v.cameras[-1]) - centre_in_scene(v.cameras[0]))
        turn = abs(np.arctan2(v.cameras[-1][1, 0], v.cameras[-1][0, 0]) - np.arctan2(v.cameras[0][1, 0], v.cameras[0][0, 0]))
        assert drift > 3 or turn > 0.02


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        make_dataset(tmp_path / "x", kind="sod", n_videos=1, n_frames=1, progress=False)
    with pytest.raises(ValueError, match="style"):
        make_dataset(tmp_path / "x", kind="vsod", n_videos=1, n_frames=1, style="space", progress=False)
    with pytest.raises(ValueError, match="size"):
        make_dataset(tmp_path / "x", kind="vsod", n_videos=1, n_frames=1, size=(8, 8), progress=False)
    assert not (tmp_path / "x").exists()
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "precious.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="refusing"):
        make_dataset(tmp_path / "x", kind="vsod", n_videos=1, n_frames=1, size=(16, 16), progress=False)
    assert (tmp_path / "x" / "precious.txt").read_text() == "keep"


def test_written_atomically(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "d", kind="vsod", n_videos=1, n_frames=2, size=(32, 32), progress=False)
    before = _digest(root)
    real = synthetic.render_video

    def failing(seed, index, **kw):
        if index == 1:
            raise RuntimeError("boom")
        return real(seed, index, **kw)

    monkeypatch.setattr(synthetic, "render_video", failing)
    with pytest.raises(RuntimeError, match="boom"):
        make_dataset(root, kind="vsod", n_videos=3, n_frames=2, size=(32, 32), seed=9, progress=False, workers=1)
    assert _digest(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no temporary folder or lock file left
