"""Resolution reduction R and the low-res cache (reuse, invalidation, atomicity)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_fixtures import make_dhf1k, make_toolkit, real_data, write_img  # noqa: E402

from salkd.data import DatasetError, LowResCache, cache_lowres, open_dataset, reduce  # noqa: E402
from salkd.data import lowres  # noqa: E402
from salkd.data.bench import loader_throughput  # noqa: E402


def test_reduce_shapes_and_values():
    img = np.full((40, 60, 3), 200, np.uint8)
    assert reduce(img, (10, 15)).shape == (10, 15, 3) and reduce(img, (10, 15)).dtype == np.uint8
    assert (reduce(img, (10, 15)) == 200).all()
    g = np.zeros((40, 60), np.float32)
    g[:20] = 1.0
    r = reduce(g, (4, 6))
    assert r.dtype == np.float32 and r.shape == (4, 6)
    assert np.allclose(r[:2], 1) and np.allclose(r[2:], 0)
    # area averaging: a 2x2 checkerboard block reduces to its mean
    cb = (np.indices((8, 8)).sum(0) % 2).astype(np.float32)
    assert np.allclose(reduce(cb, (4, 4)), 0.5)
    assert reduce(np.zeros((8, 8, 6), np.float32), (4, 4)).shape == (4, 4, 6)
    with pytest.raises(ValueError, match="size"):
        reduce(img, (0, 4))


def test_reduce_fixation_keeps_points():
    fix = np.zeros((100, 100), np.uint8)
    fix[5, 5] = fix[50, 99] = fix[99, 0] = 1
    r = lowres.reduce_fixation(fix, (10, 10))
    assert r.sum() == 3 and r[0, 0] == r[5, 9] == r[9, 0] == 1


def test_cache_contents_and_sparse_labels(tmp_path):
    make_toolkit(tmp_path / "ds", n_seq=2, n_frames=6, every=2)
    ds = open_dataset(tmp_path / "ds")
    c = cache_lowres(ds, (12, 16), tmp_path / "cache", progress=False)
    assert (c.size, c.task, c.videos, len(c)) == ((12, 16), "vsod", ["seq0", "seq1"], 2)
    assert c.dataset_root == ds.root and c.labels == ["mask"]
    a = c.video("seq0")
    assert a["frames"].shape == (6, 12, 16, 3) and a["frames"].dtype == np.uint8
    assert isinstance(a["frames"], np.memmap)
    assert a["mask"].shape == (6, 12, 16) and set(np.unique(a["mask"])) <= {0, 255}
    assert a["has_mask"].tolist() == [True, False, True, False, True, False]
    assert not a["mask"][1].any()
    # the red channel carries the mask in the fixture: R of the reduced frame ~ reduced mask
    assert np.abs(a["frames"][0][..., 0].astype(int) - a["mask"][0]).mean() < 40
    # reopen from disk
    c2 = LowResCache(c.path)
    assert c2.videos == c.videos and np.array_equal(c2.video("seq1")["frames"], c.video("seq1")["frames"])


def test_cache_fixation_dataset(tmp_path):
    make_dhf1k(tmp_path / "ds", n_videos=1, n_frames=3, size=(24, 32))
    c = cache_lowres(open_dataset(tmp_path / "ds"), (12, 16), tmp_path / "c", progress=False)
    a = c.video("0001")
    assert c.labels == ["fixation", "density"] and c.task == "fixation"
    assert set(np.unique(a["fixation"])) <= {0, 1} and a["fixation"][0].sum() >= 1
    assert a["density"].dtype == np.uint8 and a["density"].max() > 200


def test_cache_reuse_and_invalidation(tmp_path, monkeypatch):
    make_toolkit(tmp_path / "ds", n_seq=2, n_frames=4)
    ds = open_dataset(tmp_path / "ds")
    built = []
    real_build = lowres._build_video
    monkeypatch.setattr(lowres, "_build_video", lambda v, *a, **k: (built.append(v.name), real_build(v, *a, **k)))
    cache_lowres(ds, (8, 8), tmp_path / "c", progress=False)
    assert built == ["seq0", "seq1"]
    cache_lowres(ds, (8, 8), tmp_path / "c", progress=False)
    assert built == ["seq0", "seq1"]  # reused
    cache_lowres(ds, (4, 4), tmp_path / "c", progress=False)
    assert built[2:] == ["seq0", "seq1"]  # another size: own cache
    # change one source: only that video is recomputed, with the new content
    p = tmp_path / "ds" / "seq1" / "Imgs" / "00000.png"
    write_img(p, np.full((24, 32, 3), 7, np.uint8))
    st = os.stat(p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    c = cache_lowres(open_dataset(tmp_path / "ds"), (8, 8), tmp_path / "c", progress=False)
    assert built[4:] == ["seq1"]
    assert (c.video("seq1")["frames"][0] == 7).all()
    # a subset shares the per-video folders and does not shrink the index
    sub = cache_lowres(open_dataset(tmp_path / "ds").subset(["seq1"]), (8, 8), tmp_path / "c", progress=False)
    assert sub.videos == ["seq1"] and built[5:] == [] and "seq0" not in sub
    assert LowResCache(sub.path).videos == ["seq0", "seq1"]


def test_cache_is_atomic_on_failure(tmp_path, monkeypatch):
    make_toolkit(tmp_path / "ds", n_seq=1, n_frames=4)
    ds = open_dataset(tmp_path / "ds")
    real = lowres.read_rgb
    calls = []

    def flaky(path):
        calls.append(path)
        if len(calls) == 4:
            raise DatasetError(f"boom {path}")
        return real(path)

    monkeypatch.setattr(lowres, "read_rgb", flaky)
    with pytest.raises(DatasetError, match="boom"):
        cache_lowres(ds, (8, 8), tmp_path / "c", progress=False, workers=1)
    base = lowres.cache_root_for(ds, (8, 8), tmp_path / "c")
    assert not (base / "seq0").exists() and not (base / "lowres.json").exists()
    assert not [p for p in base.parent.rglob("*") if ".tmp" in p.name]
    monkeypatch.setattr(lowres, "read_rgb", real)
    assert len(cache_lowres(ds, (8, 8), tmp_path / "c", progress=False)) == 1


def test_cache_size_errors(tmp_path):
    make_toolkit(tmp_path / "ds", n_seq=1, n_frames=3, size=(24, 32))
    write_img(tmp_path / "ds" / "seq0" / "GT_object" / "00001.png", np.zeros((48, 64), np.uint8))  # same aspect: ok
    ds = open_dataset(tmp_path / "ds")
    cache_lowres(ds, (6, 8), tmp_path / "c", progress=False)
    write_img(tmp_path / "ds" / "seq0" / "GT_object" / "00001.png", np.zeros((30, 30), np.uint8))
    with pytest.raises(DatasetError, match="00001.png.*aspect"):
        cache_lowres(open_dataset(tmp_path / "ds"), (6, 8), tmp_path / "c2", progress=False)
    write_img(tmp_path / "ds" / "seq0" / "GT_object" / "00001.png", np.zeros((24, 32), np.uint8))
    write_img(tmp_path / "ds" / "seq0" / "Imgs" / "00002.png", np.zeros((20, 32, 3), np.uint8))
    with pytest.raises(DatasetError, match="00002.png"):
        cache_lowres(open_dataset(tmp_path / "ds"), (6, 8), tmp_path / "c3", progress=False)
    with pytest.raises(DatasetError, match="lowres.json"):
        LowResCache(tmp_path)


def test_loader_throughput_reports_numbers(tmp_path):
    make_toolkit(tmp_path / "ds", n_seq=2, n_frames=6)
    c = cache_lowres(open_dataset(tmp_path / "ds"), (16, 16), tmp_path / "c", progress=False)
    r = loader_throughput(c, batch_size=4, n_batches=5)
    assert r["batches"] == 5 and r["frames"] == 20 and r["frames_per_s"] > 0


@pytest.mark.realdata
def test_real_davis_cache_two_videos(tmp_path):
    ds = open_dataset(real_data("davis2016"), split="train").subset(["bear", "boat"])
    c = cache_lowres(ds, (32, 32), tmp_path, progress=False)
    a = c.video("bear")
    assert a["frames"].shape[1:] == (32, 32, 3) and a["has_mask"].all()
    assert 0 < (a["mask"] > 0).mean() < 0.5
    meta = json.loads((c.path / "lowres.json").read_text())
    assert meta["size"] == [32, 32] and len(meta["videos"]) == 2


def _build_cache(root: str, out: str) -> int:
    return len(cache_lowres(open_dataset(root), (16, 16), out, progress=False).videos)


def test_two_processes_building_one_cache_take_turns(tmp_path):
    """Worker processes (salkd.workers) that need the same low-res cache: both succeed, one builds it."""
    import multiprocessing

    root = make_dhf1k(tmp_path / "dhf1k", n_videos=4, n_frames=6)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        counts = pool.starmap(_build_cache, [(str(root), str(tmp_path / "cache"))] * 4)
    assert counts == [4, 4, 4, 4]
    assert not [p for p in (tmp_path / "cache").rglob(".*") if ".old-" in p.name or p.name.endswith(".tmp")]
