"""Splitting a dataset: by video, and in time for datasets with one or two long videos."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from salkd.context import Context
from salkd.data.splits import split_in_time
from salkd.data import DatasetError, open_dataset

from data_fixtures import make_dhf1k


def _frames(ds) -> list[list[str]]:
    return [[p.name for p in v.frames] for v in ds.videos]


def test_split_in_time_is_disjoint_ordered_and_keeps_labels(tmp_path: Path) -> None:
    ds = open_dataset(make_dhf1k(tmp_path / "d", n_videos=1, n_frames=40))
    parts = {s: split_in_time(ds, s, train=0.7, gap=2, clip=10) for s in ("train", "val", "test")}
    train, val, test = (sum(_frames(parts[s]), []) for s in ("train", "val", "test"))
    names = [p.name for p in ds.videos[0].frames]
    # 28 train frames in clips of 10 (the short remainder joins the last clip), val 30..33, test 36..39
    assert train == names[:28] and val == names[30:34] and test == names[36:40]
    assert [len(v) for v in parts["train"].videos] == [10, 18]
    assert parts["train"].videos[0].name == f"{ds.videos[0].name}@0000-0009"
    assert parts["test"].split == "test"
    seg = parts["val"].videos[0]
    assert [p.name for p in seg.density] == [p.name for p in ds.videos[0].density[30:34]]
    # the fixation points are looked up by the frame number in the file name, so they survive the cut
    assert np.array_equal(seg.fixation_points(0), ds.videos[0].fixation_points(30))


def test_split_in_time_rejects_too_short_videos_naming_them(tmp_path: Path) -> None:
    ds = open_dataset(make_dhf1k(tmp_path / "d", n_videos=1, n_frames=6))
    with pytest.raises(DatasetError, match=r"too few to split in time"):
        split_in_time(ds, "test", train=0.7, gap=1)


def test_one_video_dataset_is_split_in_time_with_a_warning(tmp_path: Path) -> None:
    root = make_dhf1k(tmp_path / "d", n_videos=1, n_frames=30)
    ctx = Context(profile="smoke", data={"fixation": str(root)}, progress=False)
    with pytest.warns(UserWarning, match="splitting each video in time"):
        train = ctx.dataset("fixation", "train")
    with pytest.warns(UserWarning):
        test = ctx.dataset("fixation", "test")
    assert train.n_frames == 20 and test.n_frames == 5
    assert not set(_frames(train)[0]) & set(_frames(test)[0])


def test_split_by_time_can_be_asked_for_per_task(tmp_path: Path) -> None:
    root = make_dhf1k(tmp_path / "d", n_videos=3, n_frames=20)
    ctx = Context(profile="smoke", data={"fixation": str(root)}, progress=False,
                    overrides={"data.fixation.split": {"by": "time", "train": 0.5}})
    val = ctx.dataset("fixation", "val")
    assert len(val.videos) == 3 and all(len(v) == 5 for v in val.videos)
    by_video = Context(profile="smoke", data={"fixation": str(root)}, progress=False)
    assert len(by_video.dataset("fixation", "val").videos) == 1


def test_segments_of_the_same_video_are_not_other_videos_for_shuffled_auc(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from salkd.data.layouts import source_video
    from salkd.evaluate import _other_fixations

    assert source_video("0002@0030-0059") == "0002" and source_video("a@b") == "a@b"
    one = split_in_time(open_dataset(make_dhf1k(tmp_path / "one", n_videos=1, n_frames=40)), "test", clip=2)
    assert len(one.videos) == 3
    cache = SimpleNamespace(videos=one.names)
    assert _other_fixations(one, cache, one.names[0], False, seed=0) is None  # sAUC undefined, not 0.5

    two = split_in_time(open_dataset(make_dhf1k(tmp_path / "two", n_videos=2, n_frames=40)), "test", clip=2)
    cache = SimpleNamespace(videos=two.names)
    pool = _other_fixations(two, cache, two.names[0], False, seed=0)
    assert pool is not None
    other_frames = [two[v].read_fixation(i) for v in two.names if v.startswith("0002") for i in range(len(two[v]))]
    assert np.all(pool <= np.max(other_frames, axis=0))  # pooled only from video 0002


def test_reports_say_what_the_test_split_is() -> None:
    from salkd.results import data_desc

    ctx = Context(profile="real-cpu", progress=False)
    # DAVIS-2016's val sequences (its test split), trained on DAVIS train and the DUTS sample (stage 1)
    assert data_desc(ctx, "vsod") == "real-cpu: test split of DAVIS (trained on DAVIS + DUTS)"
    # the fixation rows learn from the teacher-labelled corpus and are scored on all of the gaze video
    assert "no frame of the test video" in data_desc(ctx, "fixation")
    old = Context(profile="real-cpu", progress=False, overrides={"data.fixation": {
        "source": "shared:dhf1k_sample", "split": {"by": "time", "train": 0.7, "gap": 15, "clip": 30}}})
    assert "split in time" in data_desc(old, "fixation")
    assert data_desc(Context(profile="quick", progress=False), "fixation").endswith("(test split)")


def test_davis_val_is_the_test_set_and_validation_is_carved_from_train(tmp_path: Path) -> None:
    from data_fixtures import make_davis_official
    from salkd.data.splits import split_dataset

    root = make_davis_official(tmp_path / "DAVIS")
    names = {s: [v.name for v in split_dataset(root, s).videos] for s in ("train", "val", "test")}
    assert names == {"train": ["aa"], "val": ["cc"], "test": ["bb"]}   # ImageSets val.txt = the benchmark's test


def test_a_separate_test_source_never_selects_checkpoints(tmp_path: Path) -> None:
    from data_fixtures import make_toolkit
    from salkd.data.splits import split_dataset

    train = make_toolkit(tmp_path / "train", n_seq=7)
    test = make_toolkit(tmp_path / "test", n_seq=2)
    parts = {s: split_dataset(train, s, val_source=test) for s in ("train", "val", "test")}
    assert parts["test"].root == test
    tr, va = [v.name for v in parts["train"].videos], [v.name for v in parts["val"].videos]
    assert va and tr and not set(tr) & set(va) and len(tr) + len(va) == 7      # validation carved by video
    assert not {v.name for v in parts["test"].videos} & set(va) or parts["test"].root != parts["val"].root
