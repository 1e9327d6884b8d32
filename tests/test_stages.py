"""Integration: every stage runs a few steps on tiny synthetic data (smoke profile), the loss falls,
metrics are produced, and a complete run is reused. The runs land in the test session's runs root,
where the smoke notebooks find and reuse them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salkd.context import Context, evaluate_run
from salkd.data.splits import split_in_time
from salkd.papers.fastvsod import fastvsod_stage1, fastvsod_stage2
from salkd.papers.skd import skd_st, skd_students
from salkd.papers.teachers import teacher_knowledge, train_teacher, train_teachers
from salkd.papers.uvanet import uva_st, uva_student
from salkd.runs import is_complete, read_json


@pytest.fixture(scope="module")
def ctx() -> Context:
    return Context(profile="smoke", progress=False)


@pytest.fixture(scope="module")
def teachers(ctx: Context) -> dict[str, Path]:
    return train_teachers(ctx)


def _losses(run: Path) -> list[float]:
    return pd.read_csv(run / "history.csv")["train_loss"].tolist()


def _assert_trained(run: Path, metric: str = "nss") -> None:
    assert is_complete(run), run
    losses = _losses(run)
    assert len(losses) >= 2 and losses[-1] < losses[0], (run.name, losses)
    m = json.loads((run / "metrics.json").read_text())
    assert np.isfinite(m[metric]), m
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["name"] and cfg["profile"] == "smoke"


def test_teachers_train_and_their_knowledge_is_cached(ctx: Context, teachers: dict[str, Path]) -> None:
    assert set(teachers) == {"dva", "tsnet"}
    for run in teachers.values():
        _assert_trained(run)
    maps = teacher_knowledge(ctx, teachers["dva"], 32)
    cache = ctx.cache("fixation", "train", 32)
    assert set(maps) == set(cache.videos)
    v = cache.videos[0]
    assert maps[v].shape == (cache.n_frames(v), 32, 32) and maps[v].dtype == np.uint8
    again = teacher_knowledge(ctx, teachers["dva"], 32)  # read back from the cache
    assert np.array_equal(again[v], maps[v])


def test_skd_students_and_spatiotemporal_model(ctx: Context, teachers: dict[str, Path]) -> None:
    students = skd_students(ctx, teachers["dva"], teachers["tsnet"])
    for run in students.values():
        _assert_trained(run)
    st = skd_st(ctx, students["spatial"], students["temporal"])
    _assert_trained(st)
    df = evaluate_run(ctx, st, "test")
    assert "overall" in df.index and np.isfinite(df.loc["overall", "nss"])
    scratch = skd_st(ctx, None, None, init="scratch")
    assert is_complete(scratch) and scratch != st


def test_uvanet_student_and_spatiotemporal_net(ctx: Context, teachers: dict[str, Path]) -> None:
    student = uva_student(ctx, teachers["dva"], teachers["tsnet"])
    _assert_trained(student)
    st = uva_st(ctx, student)
    _assert_trained(st)
    df = evaluate_run(ctx, student, "test", output="temporal")
    assert np.isfinite(df.loc["overall", "cc"])


def test_fastvsod_stages(ctx: Context) -> None:
    s1 = fastvsod_stage1(ctx)
    _assert_trained(s1, "max_f")
    full = fastvsod_stage2(ctx, s1)
    assert is_complete(full)
    fe_t = fastvsod_stage2(ctx, s1, td=False, fe="test", fusion="add")
    df = evaluate_run(ctx, fe_t, "test")
    assert 0.0 <= df.loc["overall", "max_f"] <= 1.0


def test_cli_train_reuses_the_complete_stage(ctx: Context, teachers: dict[str, Path]) -> None:
    out = subprocess.run([sys.executable, "-m", "salkd.cli", "train", "teachers", "--profile", "smoke", "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(teachers["dva"]) in out.stdout


def test_unknown_override_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown config key"):
        Context(profile="smoke", overrides={"skd.muu": 0.3})


def test_stage_weights_do_not_depend_on_what_ran_before(ctx: Context, teachers: dict[str, Path],
                                                        tmp_path: Path) -> None:
    """A stage's initial weights come from the seed, not from the process's RNG history (a teacher
    built after other work once started from other weights and trained to a different model)."""
    import torch

    from salkd.models.checkpoints import read_state_dict

    other = Context(profile="smoke", progress=False, runs=tmp_path / "runs")
    torch.rand(12345)  # consume the global RNG differently than the session's first training did
    run = train_teacher(other, "dva")
    a = read_state_dict(teachers["dva"] / "checkpoint.pt")
    b = read_state_dict(run / "checkpoint.pt")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "same seed, same data, different weights"


def test_evaluation_is_recomputed_when_its_settings_change(ctx: Context, teachers: dict[str, Path]) -> None:
    full = evaluate_run(ctx, teachers["dva"], "test")
    fewer = evaluate_run(Context(profile="smoke", runs=ctx.runs, progress=False,
                                     overrides={"eval.max_frames_per_video": 2}), teachers["dva"], "test")
    assert fewer.loc["overall", "n_frames"] < full.loc["overall", "n_frames"]
    again = evaluate_run(ctx, teachers["dva"], "test")
    assert again.loc["overall", "n_frames"] == full.loc["overall", "n_frames"]


def test_shuffle_map_defines_sauc_on_a_one_video_split(tmp_path: Path, teachers: dict[str, Path]) -> None:
    from data_fixtures import make_dhf1k
    from salkd.data import DatasetError, open_dataset
    from salkd.evaluate import evaluate, load_shuffle_map

    root = make_dhf1k(tmp_path / "d", n_videos=1, n_frames=40, size=(36, 64))
    test = split_in_time(open_dataset(root), "test", clip=2)
    no_map = evaluate(teachers["dva"], test, 64, progress=False)
    assert np.isnan(no_map.loc["overall", "sauc"])  # no other video to draw negatives from
    smap = np.zeros((36, 64), np.float32)
    smap[10:26, 20:44] = 1.0
    np.save(tmp_path / "shuffle.npy", smap)
    with_map = evaluate(teachers["dva"], test, 64, progress=False, shuffle_map=load_shuffle_map(tmp_path / "shuffle.npy"))
    assert 0.0 <= with_map.loc["overall", "sauc"] <= 1.0
    assert with_map.loc["overall", "nss"] == pytest.approx(no_map.loc["overall", "nss"])
    with pytest.raises(FileNotFoundError, match="shuffle map"):
        load_shuffle_map(tmp_path / "missing.npy")
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 4), np.float32))
    with pytest.raises(DatasetError, match="2-D"):
        load_shuffle_map(tmp_path / "bad.npy")


@pytest.mark.realdata
def test_fastvsod_from_csnets_released_weights(tmp_path: Path) -> None:
    from salkd import weights

    if weights.find("csnet_x2") is None:
        pytest.skip("CSNet weights not found (salkd weights get csnet_x2)")
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"fastvsod.pretrained_res": 32, "fastvsod.pretrained_backbones": ["csnet"]})
    s1 = fastvsod_stage1(ctx, backbone="csnet")
    cfg = read_json(s1 / "config.json")
    assert s1.name == "csnet-32" and cfg["model"]["kwargs"]["freeze_backbone"] is True and cfg["res"] == 32
    full = fastvsod_stage2(ctx, s1)
    assert full.name.startswith("csnet-SD+TD+FE_o") and is_complete(full)
    assert np.isfinite(evaluate_run(ctx, full, "test").loc["overall", "max_f"])


def test_training_seeds_share_the_data_and_the_teachers(tmp_path: Path) -> None:
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False, overrides={"seeds": 2})
    a, b = ctx.seeds()
    assert (a.seed, b.seed, b.data_seed) == (0, 1, 0) and b.base().seed == 0
    assert b.run_dir("skd_st", "x").name == "x-seed1" and a.run_dir("skd_st", "x").name == "x"
    assert a.dataset_root("fixation") == b.dataset_root("fixation")      # same synthetic data
    assert a.settings().seed == 0 and b.settings().seed == 1              # different training


def test_a_seeds_runs_carry_its_suffix_once(tmp_path: Path) -> None:
    """uvanet's S_sp is named after its student, whose name already ends in -seed<k>: not -seed1-seed1."""
    from salkd.papers import uvanet

    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"seeds": 2, "uvanet.blocks": ["cares"], "uvanet.epochs": 1, "uvanet.st_epochs": 1})
    df = uvanet.run_ablations(ctx)
    names = [Path(r).name for r in df["run"]]
    assert "cares-dva-32-seed1" in names and not any("-seed1-seed1" in n for n in names)
    for stage in ("uva_student", "uva_st"):
        assert not [p.name for p in (tmp_path / "runs" / "smoke" / stage).iterdir() if p.name.count("-seed") > 1]


def test_everything_a_run_writes_stays_under_its_out_folder(tmp_path: Path, monkeypatch) -> None:
    from salkd import paths

    monkeypatch.delenv("SALKD_FIGURES", raising=False)
    assert Context(profile="quick", runs=tmp_path / "x").figures_dir() == tmp_path / "x" / "quick" / "figures"
    assert Context(profile="quick").figures_dir() == paths.figures_dir("quick")    # make reproduce: figures/


def test_fastvsod_starts_from_a_torchvision_layout_backbone(tmp_path: Path) -> None:
    import torch

    from salkd.models.resnet import resnet

    torch.manual_seed(1)
    path = tmp_path / "resnet18-imagenet.pth"
    torch.save(resnet("resnet18", 0.25).state_dict(), path)      # torchvision's key layout
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"fastvsod.pretrained": str(path)})
    s1 = fastvsod_stage1(ctx)
    assert read_json(s1 / "config.json")["model"]["kwargs"]["pretrained_path"] == str(path) and is_complete(s1)
    bad = Context(profile="smoke", runs=tmp_path / "runs2", progress=False,
                  overrides={"fastvsod.pretrained": str(tmp_path / "missing.pth")})
    with pytest.raises(FileNotFoundError, match="missing.pth does not exist"):
        fastvsod_stage1(bad)


def test_students_distil_from_an_external_teacher_checkpoint(tmp_path: Path) -> None:
    import torch

    from salkd.models import build

    torch.manual_seed(2)
    sd = build("teacher_dva", width=0.25).state_dict()
    path = tmp_path / "my-dva.pth"
    torch.save(sd, path)
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"teacher.checkpoints": {"dva": str(path)}})
    run = train_teacher(ctx, "dva")
    assert run.name == "dva-fixation-external" and is_complete(run)
    saved = torch.load(run / "checkpoint.pt")["model"]
    assert all(torch.equal(saved[k], v) for k, v in sd.items())          # the user's weights, unchanged
    maps = teacher_knowledge(ctx, run, 32)
    assert all(m.shape[1:] == (32, 32) for m in maps.values())
    torch.save(build("teacher_salnet", width=0.25).state_dict(), tmp_path / "wrong.pth")
    bad = Context(profile="smoke", runs=tmp_path / "runs3", progress=False,
                  overrides={"teacher.checkpoints": {"dva": str(tmp_path / "wrong.pth")}})
    with pytest.raises(ValueError):
        train_teacher(bad, "dva")
