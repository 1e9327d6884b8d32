"""Layout detection and readers of salkd.data (tiny tmp fixtures + the shared real data)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_fixtures import (  # noqa: E402
    make_avs1k, make_davis_official, make_dhf1k, make_sod, make_toolkit, real_data, write_img)

from salkd.data import DatasetError, open_dataset  # noqa: E402


def test_toolkit_layout_reads_frames_and_masks(tmp_path):
    make_toolkit(tmp_path, n_seq=2, n_frames=6)
    ds = open_dataset(tmp_path)
    assert (ds.layout, ds.task, len(ds)) == ("toolkit", "vsod", 2)
    v = ds["seq1"]
    assert v is ds[1] and len(v.frames) == 6 and v.fixations is None and v.density is None
    f, m = v.read_frame(2), v.read_mask(2)
    assert f.shape == (24, 32, 3) and f.dtype == np.uint8
    assert m.dtype == np.uint8 and set(np.unique(m)) == {0, 255}
    assert np.array_equal(f[..., 0], m)  # RGB order: red channel carries the mask
    assert v.labeled("mask") == list(range(6))
    assert [x.name for x in ds] == ["seq0", "seq1"]
    assert ds.subset(["seq1"]).names == ["seq1"]
    with pytest.raises(DatasetError):
        ds.subset(["nope"])
    with pytest.raises(KeyError):
        ds["nope"]


def test_sparse_labels_align_by_stem(tmp_path):
    make_toolkit(tmp_path, n_seq=1, n_frames=11, every=5)
    v = open_dataset(tmp_path)[0]
    assert v.labeled("mask") == [0, 5, 10]
    assert v.masks[1] is None and v.masks[5].stem == v.frames[5].stem
    with pytest.raises(DatasetError, match="no mask label"):
        v.read_mask(1)


def test_labels_align_by_frame_number_when_stems_differ(tmp_path):
    rng = np.random.default_rng(0)
    for t in range(3):
        write_img(tmp_path / "v" / "frames" / f"frame_{t + 1:03d}.png", rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
        write_img(tmp_path / "v" / "masks" / f"{t + 1}.png", np.zeros((8, 8), np.uint8))
    v = open_dataset(tmp_path)[0]
    assert [p.name for p in v.masks] == ["1.png", "2.png", "3.png"]


def test_generic_and_frames_only_layouts(tmp_path):
    make_toolkit(tmp_path / "g", n_seq=1, frame_dir="frames", mask_dir="masks")
    ds = open_dataset(tmp_path / "g")
    assert (ds.layout, ds.task) == ("generic", "vsod")
    make_toolkit(tmp_path / "u", n_seq=2, frame_dir="frames", mask_dir="")
    ds = open_dataset(tmp_path / "u")
    assert (ds.layout, ds.task) == ("frames", "frames")
    assert ds[0].masks is None and ds[0].labeled("mask") == []


def test_dhf1k_layout_with_points(tmp_path):
    make_dhf1k(tmp_path, n_videos=2, n_frames=5)
    ds = open_dataset(tmp_path)
    assert (ds.layout, ds.task, ds.n_frames) == ("dhf1k", "fixation", 10)
    v = ds["0002"]
    fix, den = v.read_fixation(3), v.read_density(3)
    assert fix.dtype == np.uint8 and set(np.unique(fix)) <= {0, 1} and fix.sum() >= 1
    assert den.dtype == np.float32 and 0 <= den.min() and den.max() == pytest.approx(1.0)
    pts = v.fixation_points(3)
    assert pts.shape == (3, 2)
    assert all(fix[int(y), int(x)] == 1 for x, y in pts)
    # a single video folder opens as a one-video dataset
    assert open_dataset(tmp_path / "0001").names == ["0001"]


def test_fixation_counts_are_clipped(tmp_path):
    make_dhf1k(tmp_path, n_videos=1, n_frames=1)
    fix = np.zeros((24, 32), np.uint8)
    fix[3, 4], fix[5, 6] = 3, 1
    write_img(tmp_path / "0001" / "fixation" / "0001.png", fix)
    out = open_dataset(tmp_path)[0].read_fixation(0)
    assert out[3, 4] == 1 and out[5, 6] == 1 and out.sum() == 2


def test_nested_categories_and_fixation_maps_subfolder(tmp_path):
    make_dhf1k(tmp_path / "Vehicle", n_videos=1, n_frames=2, with_points=False)
    make_dhf1k(tmp_path / "Human", n_videos=1, n_frames=2, with_points=False)
    fd = tmp_path / "Human" / "0001" / "fixation"
    (fd / "maps").mkdir()
    for p in list(fd.glob("*.png")):
        p.rename(fd / "maps" / p.name)
    ds = open_dataset(tmp_path)
    assert ds.names == ["Human/0001", "Vehicle/0001"]
    assert ds["Human/0001"].labeled("fixation") == [0, 1]


def test_sod_layout(tmp_path):
    make_sod(tmp_path, n=3)
    ds = open_dataset(tmp_path)
    assert (ds.layout, ds.task, len(ds)) == ("sod", "sod", 3)
    assert all(len(v) == 1 for v in ds)
    assert ds["img_2"].read_mask(0).shape == ds["img_2"].read_frame(0).shape[:2] == (28, 30)


def test_davis_official_layout_and_splits(tmp_path):
    make_davis_official(tmp_path)
    assert open_dataset(tmp_path).names == ["aa", "bb", "cc"]
    tr = open_dataset(tmp_path, split="train")
    assert (tr.layout, tr.names, tr.split) == ("davis2016", ["aa", "cc"], "train")
    assert open_dataset(tmp_path, split="val").names == ["bb"]
    with pytest.raises(DatasetError, match="test"):
        open_dataset(tmp_path, split="test")


def test_avs1k_layout_and_split_folders(tmp_path):
    make_avs1k(tmp_path)
    tr = open_dataset(tmp_path, split="train")
    assert (tr.layout, tr.task, tr.names) == ("avs1k", "fixation", ["Human_002", "Vehicle_001"])
    assert tr[0].density is not None and tr[0].read_density(0).dtype == np.float32
    assert open_dataset(tmp_path, split="val").names == ["Building_003"]


def test_split_subfolders_and_splits_json(tmp_path):
    make_toolkit(tmp_path / "train", n_seq=2)
    make_toolkit(tmp_path / "val", n_seq=1)
    assert open_dataset(tmp_path, split="val").names == ["seq0"]
    assert open_dataset(tmp_path).names == ["train/seq0", "train/seq1", "val/seq0"]
    (tmp_path / "splits.json").write_text(json.dumps({"train": ["train/seq1"], "test": ["val/seq0"]}))
    assert open_dataset(tmp_path, split="test").names == ["val/seq0"]
    with pytest.raises(DatasetError, match="split 'val'"):
        open_dataset(tmp_path, split="val")


def test_a_sequence_named_like_a_split_is_a_video_not_a_split(tmp_path):
    # DAVIS-2016 has a sequence called "train"
    make_toolkit(tmp_path, n_seq=2)
    (tmp_path / "seq1").rename(tmp_path / "train")
    assert open_dataset(tmp_path).names == ["seq0", "train"]
    with pytest.raises(DatasetError, match="no split 'train'"):
        open_dataset(tmp_path, split="train")


def test_unknown_layout_and_missing_path(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DatasetError, match="no known dataset layout"):
        open_dataset(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        open_dataset(tmp_path / "missing")
    with pytest.raises(DatasetError, match="no split"):
        open_dataset(tmp_path, split="train")


def test_image_folder_is_one_unlabeled_video(tmp_path):
    for t in range(3):
        write_img(tmp_path / f"{t}.jpg", np.full((8, 8, 3), t * 50, np.uint8))
    ds = open_dataset(tmp_path)
    assert (ds.layout, ds.task, ds.n_frames) == ("image-folder", "frames", 3)


def test_empty_video_is_an_error(tmp_path):
    make_toolkit(tmp_path, n_seq=1)
    (tmp_path / "seq_empty" / "Imgs").mkdir(parents=True)
    with pytest.raises(DatasetError, match="seq_empty"):
        open_dataset(tmp_path)


def test_corrupt_image_names_the_file(tmp_path):
    make_toolkit(tmp_path, n_seq=1)
    bad = tmp_path / "seq0" / "Imgs" / "00002.png"
    bad.write_bytes(b"not a png")
    v = open_dataset(tmp_path)[0]
    with pytest.raises(DatasetError, match="00002.png"):
        v.read_frame(2)


def test_non_binary_mask_is_thresholded_with_warning(tmp_path):
    make_toolkit(tmp_path, n_seq=1, n_frames=2)
    m = np.zeros((24, 32), np.uint8)
    m[:, :10], m[:, 10:20] = 200, 100
    write_img(tmp_path / "seq0" / "GT_object" / "00001.png", m)
    v = open_dataset(tmp_path)[0]
    with pytest.warns(UserWarning, match="00001.png"):
        out = v.read_mask(1)
    assert (out[:, :10] == 255).all() and (out[:, 10:] == 0).all()
    m01 = (m > 0).astype(np.uint8)
    write_img(tmp_path / "seq0" / "GT_object" / "00001.png", m01)
    assert set(np.unique(v.read_mask(1))) == {0, 255}


def test_nan_density_is_an_error(tmp_path):
    make_dhf1k(tmp_path, n_videos=1, n_frames=2)
    d = np.full((24, 32), 0.5, np.float32)
    d[0, 0] = np.nan
    p = tmp_path / "0001" / "maps" / "0002.tiff"
    assert cv2.imwrite(str(p), d)
    (tmp_path / "0001" / "maps" / "0002.png").unlink()
    v = open_dataset(tmp_path)[0]
    with pytest.raises(DatasetError, match="0002.tiff"):
        v.read_density(1)


def test_validate_sizes(tmp_path):
    make_toolkit(tmp_path, n_seq=1, n_frames=3, size=(24, 32))
    v = open_dataset(tmp_path)[0]
    v.validate()
    # a mask at twice the frame size (DAVIS sample: 427x240 frames, 854x480 masks) is fine
    write_img(tmp_path / "seq0" / "GT_object" / "00001.png", np.zeros((48, 64), np.uint8))
    v.validate()
    write_img(tmp_path / "seq0" / "GT_object" / "00001.png", np.zeros((48, 40), np.uint8))
    with pytest.raises(DatasetError, match="00001.png"):
        v.validate()
    write_img(tmp_path / "seq0" / "GT_object" / "00001.png", np.zeros((24, 32), np.uint8))
    write_img(tmp_path / "seq0" / "Imgs" / "00002.png", np.zeros((20, 32, 3), np.uint8))
    with pytest.raises(DatasetError, match="00002.png"):
        v.validate()


def test_orphan_labels_warn(tmp_path):
    make_toolkit(tmp_path, n_seq=1, n_frames=2)
    write_img(tmp_path / "seq0" / "GT_object" / "00009.png", np.zeros((24, 32), np.uint8))
    with pytest.warns(UserWarning, match="00009.png"):
        open_dataset(tmp_path)


# ----------------------------------------------------------------------------- real data

@pytest.mark.realdata
def test_real_davis_train():
    root = real_data("davis2016")
    ds = open_dataset(root, split="train")
    assert (len(ds), ds.n_labeled("mask"), ds.task) == (30, 2079, "vsod")
    v = ds["bear"]
    assert v.read_frame(0).shape == (240, 427, 3) and v.read_mask(0).shape == (480, 854)
    v.validate()


@pytest.mark.realdata
def test_real_dhf1k_sample():
    ds = open_dataset(real_data("dhf1k_sample"))
    assert (ds.task, ds.n_frames, ds.n_labeled("fixation"), ds.n_labeled("density")) == ("fixation", 783, 783, 783)
    v = ds[0]
    pts, fix = v.fixation_points(0), v.read_fixation(0)
    assert len(pts) >= 5 and fix.shape == (360, 640)
    assert v.read_density(0).max() == pytest.approx(1.0)


@pytest.mark.realdata
def test_real_other_samples():
    st = open_dataset(real_data("segtrackv2_bmx"))
    assert (st.layout, st.task, st.n_labeled("mask")) == ("generic", "vsod", 36)
    duts = open_dataset(real_data("duts_tr_part000"))
    assert (duts.task, len(duts), duts.n_labeled("mask")) == ("sod", 499, 499)
    un = open_dataset(real_data("unlabeled_video"))
    assert un.task == "frames" and all(v.masks is None and v.density is None for v in un)
    assert "aerial_vehicle_00083" in un.names and un["aerial_vehicle_00083"].read_frame(0).ndim == 3
