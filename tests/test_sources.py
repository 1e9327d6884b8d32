"""Several training sources per task (fastvsod Sec. 4.1: DUTS-TR + DAVIS + DAVSOD), each split by its own
rule, and the official split folders of DAVSOD, DHF1K and AVS1K."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from salkd.config import get_profile
from salkd.context import Context
from salkd.data import open_dataset
from salkd.data.sources import parse_sources, video_names
from salkd.data.splits import split_dataset

from data_fixtures import (make_avs1k, make_davis_official, make_davsod, make_dhf1k_official, make_duts,
                           make_toolkit)


def _names(ds: Any) -> list[str]:
    return [v.name for v in ds.videos]


# ---- official split folders --------------------------------------------------------------------
def test_davsod_uses_its_training_validation_and_test_folders(tmp_path: Path) -> None:
    root = make_davsod(tmp_path / "DAVSOD")
    parts = {s: _names(split_dataset(root, s)) for s in ("train", "val", "test")}
    assert parts == {"train": ["select_0001", "select_0002"], "val": ["select_0101"],
                     "test": ["Difficult-20/select_0301", "Easy-35/select_0201"]}   # test groups kept in the name


def test_dhf1k_val_is_the_test_set_when_its_test_folder_has_no_labels(tmp_path: Path) -> None:
    root = make_dhf1k_official(tmp_path / "DHF1K")
    parts = {s: split_dataset(root, s) for s in ("train", "val", "test")}
    assert _names(parts["test"]) == ["0601"]                  # DHF1K val (uvanet Table 2 tests on it)
    assert _names(parts["train"]) == ["0001", "0002"] and _names(parts["val"]) == ["0003"]  # carved from train
    assert all(p.task == "fixation" for p in parts.values())


def test_avs1k_uses_its_three_set_folders(tmp_path: Path) -> None:
    root = make_avs1k(tmp_path / "AVS1K", with_test=True)
    parts = {s: _names(split_dataset(root, s)) for s in ("train", "val", "test")}
    assert parts == {"train": ["Human_002", "Vehicle_001"], "val": ["Building_003"], "test": ["Boat_004"]}


def test_duts_release_folders_open_as_still_images(tmp_path: Path) -> None:
    ds = open_dataset(make_duts(tmp_path / "DUTS-TR"))
    assert ds.layout == "sod" and len(ds.videos) == 3 and all(len(v) == 1 for v in ds.videos)
    assert video_names(ds) == []


# ---- several sources -----------------------------------------------------------------------------
def _paper_like(tmp_path: Path) -> list[dict[str, Any]]:
    return [{"name": "DUTS-TR", "path": str(make_duts(tmp_path / "DUTS-TR")), "splits": ["train"]},
            {"name": "DAVIS", "path": str(make_davis_official(tmp_path / "DAVIS"))},
            {"name": "DAVSOD", "path": str(make_davsod(tmp_path / "DAVSOD")), "splits": ["train", "val"]}]


def test_each_source_is_split_by_its_own_rule(tmp_path: Path) -> None:
    ctx = Context(profile="smoke", progress=False, overrides={"data.vsod.source": _paper_like(tmp_path)})
    train, val, test = (ctx.dataset("vsod", s) for s in ("train", "val", "test"))
    assert _names(train) == [f"DUTS-TR/ILSVRC_{i:05d}" for i in range(3)] + [
        "DAVIS/aa", "DAVSOD/select_0001", "DAVSOD/select_0002"]          # DAVIS cc carved for validation
    assert _names(val) == ["DAVIS/cc", "DAVSOD/select_0101"]
    assert _names(test) == ["DAVIS/bb"]                                  # DAVIS val.txt: DAVIS-T only
    assert train.task == "vsod" and train.layout == "DUTS-TR:sod+DAVIS:davis2016+DAVSOD:toolkit"
    assert video_names(train) == ["DAVIS/aa", "DAVSOD/select_0001", "DAVSOD/select_0002"]
    key = ctx.data_key("vsod")
    assert key["dataset"] == [str(tmp_path / n) for n in ("DUTS-TR", "DAVIS", "DAVSOD")]


def test_paper_profile_names_each_missing_dataset_and_its_layout(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SALKD_DATASETS", str(tmp_path / "nowhere"))
    make_duts(tmp_path / "nowhere" / "DUTS-TR")
    ctx = Context(profile="paper", progress=False)
    with pytest.raises(FileNotFoundError) as err:
        ctx.dataset_root("vsod")
    text = str(err.value)
    assert "DUTS-TR:" not in text                             # present: not reported
    for name, layout in (("DAVIS", "JPEGImages/480p"), ("DAVSOD", "'Training Set'/")):
        assert f"{name}: {tmp_path / 'nowhere' / name} does not exist" in text and layout in text
    with pytest.raises(FileNotFoundError, match=r"AVS1K: .* expected layout: trainSet/"):
        ctx.dataset("fixation", "train")


def test_paper_profile_lists_the_papers_training_sets() -> None:
    cfg = get_profile("paper")
    vsod = parse_sources(cfg["data"]["vsod"]["source"])
    assert [s.name for s in vsod] == ["DUTS-TR", "DAVIS", "DAVSOD"]          # fastvsod Sec. 4.1
    assert vsod[0].splits == ("train",) and "test" not in (vsod[2].splits or ())
    assert [s.name for s in parse_sources(cfg["data"]["fixation"]["source"])] == ["AVS1K"]


def test_a_malformed_source_list_is_refused_before_any_work() -> None:
    with pytest.raises(ValueError, match=r"data.vsod.source\[1\].*'splits'"):
        get_profile("smoke", {"data.vsod.source": ["/a", {"path": "/b", "splits": ["tran"]}]})
    with pytest.raises(ValueError, match=r"unknown key"):
        get_profile("smoke", {"data.vsod.source": [{"path": "/a", "flavour": 1}]})
    with pytest.raises(ValueError, match=r"names must differ"):
        get_profile("smoke", {"data.vsod.source": ["/x/DAVIS", "/y/DAVIS"]})


def test_stage1_sees_images_and_videos_stage2_videos_only(tmp_path: Path, monkeypatch) -> None:
    """One image source + one video source: fastvsod stage 1 trains on both, stage 2 (frame pairs and its
    single-frame variants) on the video source only."""
    import salkd.papers.fastvsod as fv

    sources = [{"name": "DUTS-TR", "path": str(make_duts(tmp_path / "DUTS-TR", n=3))},
               {"name": "VID", "path": str(make_toolkit(tmp_path / "VID", n_seq=4, n_frames=4))}]
    monkeypatch.setenv("SALKD_CACHE", str(tmp_path / "cache"))
    ctx = Context(profile="smoke", progress=False, runs=tmp_path / "runs",
                  overrides={"data.vsod.source": sources, "fastvsod.res": 32})
    s1 = fv.fastvsod_stage1(ctx)   # trained for real: stage 2 starts from its checkpoint
    cfg = __import__("json").loads((s1 / "config.json").read_text())
    assert cfg["train"]["effective_batch"] == 4 and cfg["dataset"] == [str(tmp_path / "DUTS-TR"), str(tmp_path / "VID")]
    seen: list[Any] = []
    real_fit = fv.fit

    def spy(model: Any, loss_fn: Any, ds: Any, run: Any, settings: Any, **kw: Any) -> Any:
        seen.append(ds)
        return real_fit(model, loss_fn, ds, run, settings, **kw)

    monkeypatch.setattr(fv, "fit", spy)
    fv.fastvsod_stage1(ctx, name="again")
    stage1_videos = {seen[0].videos[vi] for vi, _ in seen[0].items}
    assert stage1_videos == {f"DUTS-TR/ILSVRC_{i:05d}" for i in range(3)} | {"VID/seq0", "VID/seq1"}
    for kw in ({}, {"sd": True, "td": False, "fe": None}):
        fv.fastvsod_stage2(ctx, s1, **kw)
        assert {seen[-1].videos[vi] for vi, _ in seen[-1].items} == {"VID/seq0", "VID/seq1"}
