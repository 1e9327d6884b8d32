"""Run folders can be moved: configs name upstream runs relative to the runs root and data by a reference
plus a content fingerprint, so a moved runs root or dataset keeps every run (issue 14, item 6)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from salkd import paths
from salkd.context import Context
from salkd.runs import comparable, config_matches, data_fingerprint, data_ref, is_complete, read_json, run_ref


def _no_training(*args, **kwargs):
    raise AssertionError("a complete run was retrained")


def test_a_moved_runs_root_and_dataset_keep_their_runs(tmp_path: Path, monkeypatch) -> None:
    import salkd.papers.fastvsod as fv
    from salkd.models import from_run

    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False)
    s1 = fv.fastvsod_stage1(ctx)
    s2 = fv.fastvsod_stage2(ctx, s1)
    cfg = read_json(s2 / "config.json")
    assert cfg["stage1"] == s1.relative_to(tmp_path / "runs").as_posix()
    assert cfg["dataset"].startswith("data:") and cfg["data_fingerprint"]
    weights = (s2 / "checkpoint.pt").read_bytes()

    shutil.move(tmp_path / "runs", tmp_path / "moved")                 # mv runs moved
    data = tmp_path / "dataset-copy"
    shutil.copytree(ctx.dataset_root("vsod"), data)                    # the same data somewhere else
    monkeypatch.setattr(fv, "fit", _no_training)
    for moved in (Context(profile="smoke", runs=tmp_path / "moved", progress=False),
                  Context(profile="smoke", runs=tmp_path / "moved", progress=False, data={"vsod": str(data)})):
        m1 = fv.fastvsod_stage1(moved)
        m2 = fv.fastvsod_stage2(moved, m1)
        assert m2 == tmp_path / "moved" / s2.relative_to(tmp_path / "runs")
        assert (m2 / "checkpoint.pt").read_bytes() == weights
        up = moved.upstream(read_json(m2 / "config.json")["stage1"])
        assert up == m1 and is_complete(up)
        assert sum(p.numel() for p in from_run(up).parameters()) > 0
        assert config_matches(m2, read_json(m2 / "config.json"))

    (data / "extra.png").write_bytes(b"x")                             # other contents: retrained
    changed = Context(profile="smoke", runs=tmp_path / "moved", progress=False, data={"vsod": str(data)})
    with pytest.raises(AssertionError, match="retrained"):
        fv.fastvsod_stage1(changed)


def test_configs_of_older_salkd_with_absolute_paths_still_match(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    up = root / "smoke" / "skd_students" / "dva-32-spatial"
    ds = paths.data_dir() / "synthetic-fixation-x"
    new = {"stage": "skd_st", "spatial": run_ref(up, root), "temporal": None, "dataset": data_ref(ds),
           "data_fingerprint": "abc", "train_videos": "123"}
    old = {"stage": "skd_st", "spatial": str(up), "temporal": "None", "dataset": str(ds), "train_videos": "123"}
    assert new["spatial"] == "smoke/skd_students/dva-32-spatial" and new["dataset"] == "data:synthetic-fixation-x"
    have, want = comparable(old, new, root)
    assert have == want
    run = root / "smoke" / "skd_st" / "x"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(old))
    assert config_matches(run, new)                                    # the runs root is found from the run
    assert not config_matches(run, {**new, "train_videos": "456"})


def test_data_fingerprint_follows_names_and_sizes(tmp_path: Path) -> None:
    a = tmp_path / "a"
    (a / "v1").mkdir(parents=True)
    (a / "v1" / "0001.png").write_bytes(b"12345")
    (a / ".hidden").write_text("ignored")
    fp = data_fingerprint([a])
    shutil.copytree(a, tmp_path / "b", ignore=shutil.ignore_patterns(".*"))
    assert data_fingerprint([tmp_path / "b"]) == fp
    (a / "v1" / "0001.png").write_bytes(b"123456")
    assert data_fingerprint([a]) != fp
