"""Frame and frame-pair torch datasets: items, pair offsets, joint augmentation, determinism."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_fixtures import make_dhf1k, make_toolkit  # noqa: E402

from salkd.data import DatasetError, FrameDataset, FramePairDataset, cache_lowres, open_dataset  # noqa: E402
from salkd.data.samples import warp  # noqa: E402


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    make_toolkit(root / "ds", n_seq=3, n_frames=9, every=1, size=(32, 32))
    make_toolkit(root / "sparse", n_seq=1, n_frames=11, every=5, size=(32, 32))
    return (cache_lowres(open_dataset(root / "ds"), (32, 32), root / "c", progress=False),
            cache_lowres(open_dataset(root / "sparse"), (32, 32), root / "c", progress=False))


def test_frame_items(cache):
    c, _ = cache
    ds = FrameDataset(c, label="mask")
    assert len(ds) == 27
    it = ds[4]
    assert it["frame"].shape == (3, 32, 32) and it["frame"].dtype == torch.float32
    assert it["label"].shape == (1, 32, 32) and float(it["label"].max()) == 1.0
    assert (it["video"], it["t"]) == (0, 4)
    assert 0 <= float(it["frame"].min()) and float(it["frame"].max()) <= 1
    assert torch.equal(it["label"][0], it["frame"][0])  # red channel == mask in the fixture
    assert len(FrameDataset(c, label="mask", videos=["seq2"])) == 9
    assert "label" not in FrameDataset(c, label=None)[0]


def test_augmentation_is_joint_and_deterministic(cache):
    c, _ = cache
    extra = {"soft": {v: np.ascontiguousarray(c.video(v)["frames"][..., 0]) for v in c.videos}}
    ds = FramePairDataset(c, label="mask", augment=True, seed=3, extra=extra)
    changed = 0
    for i in range(len(ds)):
        it = ds[i]
        for s in ("", "_next"):
            fr = it["frame" if s == "" else "next"][0]
            assert torch.allclose(it["label" + s][0], fr, atol=1e-6)
            assert torch.allclose(it["soft" + s][0], fr, atol=1e-6)
        plain = FramePairDataset(c, label="mask", seed=3)[i]
        changed += not torch.equal(plain["frame"], it["frame"])
    assert changed > len(ds) // 2
    again = FramePairDataset(c, label="mask", augment=True, seed=3, extra=extra)
    a, b = ds[7], again[7]
    assert all(torch.equal(a[k], b[k]) for k in ("frame", "next", "label", "soft_next"))
    again.set_epoch(1)
    assert not torch.equal(again[7]["frame"], a["frame"])


def test_pair_offsets_within_bounds(cache):
    c, sparse = cache
    ds = FramePairDataset(c, label="mask", max_offset=3)
    seen = set()
    for e in range(3):
        ds.set_epoch(e)
        for i in range(len(ds)):
            it = ds[i]
            d = it["t_next"] - it["t"]
            assert 0 < abs(d) <= 3 and 0 <= it["t_next"] < 9 and it["has_label_next"] == 1
            seen.add(d)
    assert seen == {-3, -2, -1, 1, 2, 3}
    fwd = FramePairDataset(c, label="mask", offsets=[1])
    assert all(fwd[i]["t_next"] - fwd[i]["t"] == 1 for i in range(len(fwd)) if fwd[i]["t"] < 8)
    assert (fwd[8]["t"], fwd[8]["t_next"]) == (8, 7)  # last frame: mirrored offset
    # sparse labels (every 5th frame) and max_offset 3: partner frame is unlabeled but in range
    sp = FramePairDataset(sparse, label="mask", max_offset=3)
    assert len(sp) == 3
    for i in range(3):
        it = sp[i]
        assert 0 < abs(it["t_next"] - it["t"]) <= 3 and it["has_label_next"] == 0
        assert float(it["label_next"].sum()) == 0
    with pytest.raises(ValueError):
        FramePairDataset(c, offsets=[0, 1])


def test_dataloader_batches(cache):
    c, _ = cache
    dl = torch.utils.data.DataLoader(FramePairDataset(c, label="mask", augment=True), batch_size=8)
    b = next(iter(dl))
    assert b["frame"].shape == (8, 3, 32, 32) and b["label_next"].shape == (8, 1, 32, 32)
    assert b["t"].shape == (8,)


def test_pickles_without_copying_arrays(cache):
    import pickle

    c, _ = cache
    ds = FramePairDataset(c, label="mask", augment=True, seed=4)
    blob = pickle.dumps(ds)
    assert len(blob) < 50_000  # the cached frames are not inside
    ds2 = pickle.loads(blob)
    assert torch.equal(ds2[3]["frame"], ds[3]["frame"])


def test_flow_extra_is_transformed():
    flow = np.zeros((16, 16, 2), np.float32)
    flow[..., 0] = 1.0  # one pixel to the right everywhere
    flip = np.array([[-1, 0, 15], [0, 1, 0]], np.float64)
    out = warp(flow, flip, vectors=True)
    assert np.allclose(out[..., 0], -1) and np.allclose(out[..., 1], 0)
    a = math.radians(10)
    rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0]])
    out = warp(flow, rot, vectors=True)
    assert np.allclose(out[8, 8], [math.cos(a), math.sin(a)], atol=1e-5)


def test_flow_and_extra_validation(cache):
    c, _ = cache
    flows = {v: np.zeros((9, 32, 32, 2), np.float32) for v in c.videos}
    it = FramePairDataset(c, label="mask", augment=True, extra={"flow": flows})[0]
    assert it["flow"].shape == (2, 32, 32) and it["flow_next"].shape == (2, 32, 32)
    with pytest.raises(DatasetError, match="flow"):
        FrameDataset(c, extra={"flow": {v: np.zeros((9, 16, 16, 2), np.float32) for v in c.videos}})
    with pytest.raises(DatasetError, match="seq1"):
        FrameDataset(c, extra={"soft": {"seq0": np.zeros((9, 32, 32), np.uint8)}})
    with pytest.raises(ValueError, match="clashes"):
        FrameDataset(c, extra={"label": flows})
    with pytest.raises(DatasetError, match="density"):
        FrameDataset(c, label="density")


def test_fixation_label_stays_binary_under_augmentation(tmp_path):
    make_dhf1k(tmp_path / "ds", n_videos=1, n_frames=4, size=(32, 32))
    c = cache_lowres(open_dataset(tmp_path / "ds"), (32, 32), tmp_path / "c", progress=False)
    ds = FrameDataset(c, label="fixation", augment=True)
    for i in range(len(ds)):
        assert set(torch.unique(ds[i]["label"]).tolist()) <= {0.0, 1.0}
    d = FrameDataset(c, label="density")[0]["label"]
    assert 0 <= float(d.min()) and float(d.max()) == pytest.approx(1.0)
