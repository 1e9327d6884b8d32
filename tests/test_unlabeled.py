"""Video only the teacher labels (issue 16): frames without gaze data train with mu = 1 (skd eq. 1-2, uvanet
eq. 5-6: the hard term is off on them), the ``<paper>.unlabeled`` config key, the with / without rows and their
claim; and the teacher rows of skd Table I / uvanet Table 1."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from data_fixtures import make_dhf1k, make_toolkit
from salkd.config import get_profile
from salkd.context import Context
from salkd.data import DatasetError, FrameDataset, FramePairDataset, cache_lowres, open_dataset
from salkd.data.sources import open_unlabeled, parse_sources, with_unlabeled
from salkd.losses import distillation_terms, skd_student_loss, uva_coupled_loss
from salkd.train import collate
from salkd.verdicts import VERDICTS


def _clips(root: Path, n: int = 2, frames: int = 3, size: tuple[int, int] = (24, 32)) -> Path:
    """``<clip>/frames/*.png`` with no label folder: video only a teacher can label."""
    return make_toolkit(root, n_seq=n, n_frames=frames, size=size, frame_dir="frames", mask_dir="")


@pytest.fixture()
def mixed_cache(tmp_path: Path):
    lab = make_dhf1k(tmp_path / "lab", n_videos=1, n_frames=4)
    unl = open_unlabeled(parse_sources([str(_clips(tmp_path / "clips", n=1))], "skd.unlabeled"), Path)
    return cache_lowres(with_unlabeled(open_dataset(lab), unl), (12, 16), tmp_path / "cache", progress=False)


def test_unlabeled_sources_drop_labels_and_name_their_videos(tmp_path: Path) -> None:
    lab = make_dhf1k(tmp_path / "lab", n_videos=2, n_frames=3)
    clips = _clips(tmp_path / "clips")
    # a labelled source listed as unlabeled gives its frames only (its labels are ignored)
    unl = open_unlabeled(parse_sources([str(clips), {"name": "gaze", "path": str(lab)}], "x"), Path)
    assert unl.task == "frames" and unl.names == ["clips/seq0", "clips/seq1", "gaze/0001", "gaze/0002"]
    assert all(v.density is None and v.fixations is None and v.masks is None for v in unl.videos)
    both = with_unlabeled(open_dataset(lab), unl)
    assert both.task == "fixation" and both.n_frames == 6 + 12 and both.n_labeled("density") == 6
    with pytest.raises(DatasetError, match="also training videos"):
        with_unlabeled(both, unl)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        open_unlabeled(parse_sources([{"name": "nowhere", "path": str(tmp_path / "nowhere")}], "x"), Path)


def test_frames_without_gaze_are_items_with_has_label_0(mixed_cache) -> None:
    assert len(FrameDataset(mixed_cache, label="density")) == 4  # default: labelled frames only, as before
    ds = FrameDataset(mixed_cache, label="density", unlabeled=True)
    assert [ds[i]["has_label"] for i in range(len(ds))] == [1, 1, 1, 1, 0, 0, 0]
    assert float(ds[5]["label"].abs().sum()) == 0.0 and float(ds[0]["label"].sum()) > 0
    pairs = FramePairDataset(mixed_cache, label="density", offsets=[1], unlabeled=True, augment=True, seed=3)
    assert len(pairs) == 7 and [pairs[i]["has_label"] for i in range(7)] == [1, 1, 1, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="needs a label"):
        FrameDataset(mixed_cache, label=None, unlabeled=True)


def test_a_clip_without_fixations_trains_with_mu_1(mixed_cache) -> None:
    """Eq. 1-2 per frame: on the unlabeled frames mu = 1, so their hard term is zero and their (zero) label has
    no effect on the loss or its gradient; on the labelled frames the paper's mu applies."""
    ds = FrameDataset(mixed_cache, label="density", unlabeled=True)
    b = collate([ds[i] for i in (0, 1, 4, 5)], torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    teacher = torch.rand(4, 1, 12, 16, generator=gen)
    logits = torch.randn(4, 1, 12, 16, generator=gen, requires_grad=True)
    t = distillation_terms(logits, teacher, b["label"], 0.5, b["has_label"])
    assert t["mu"].tolist() == [0.5, 0.5, 1.0, 1.0]
    hard_weighted = (1 - t["mu"]) * t["hard"]
    assert torch.all(hard_weighted[2:] == 0) and torch.all(hard_weighted[:2] > 0)
    loss = skd_student_loss(logits, teacher, b["label"], mu=0.5, has_label=b["has_label"])
    per = (t["mu"] * t["soft"] + (1 - t["mu"]) * t["hard"])
    assert torch.isclose(loss, per.mean())
    other = b["label"].clone()
    other[2:] = torch.rand(2, 1, 12, 16, generator=gen)  # any label on the unlabeled frames: same loss
    assert torch.equal(loss, skd_student_loss(logits, teacher, other, mu=0.5, has_label=b["has_label"]))
    g_label = torch.autograd.grad(skd_student_loss(logits, teacher, b["label"], 0.5, b["has_label"]), logits)[0]
    g_soft = torch.autograd.grad(((torch.sigmoid(logits[2:]) - teacher[2:]) ** 2).mean(dim=(1, 2, 3)).sum() / 4,
                                 logits)[0]
    assert torch.allclose(g_label[2:], g_soft[2:], atol=1e-7)  # teacher-only gradient on the unlabeled frames
    # all frames labelled: the per-frame form equals the batch formula of eq. 1-2
    ones = torch.ones(4, dtype=torch.long)
    assert torch.isclose(skd_student_loss(logits, teacher, b["label"], 0.5, ones),
                         skd_student_loss(logits, teacher, b["label"], 0.5))
    # uvanet eq. 5-6, both branches: the labels of the unlabeled frames have no effect either
    outs = (logits, logits * 0.5)
    assert torch.equal(uva_coupled_loss(outs, teacher, teacher, b["label"], 0.5, b["has_label"]),
                       uva_coupled_loss(outs, teacher, teacher, other, 0.5, b["has_label"]))


def test_unlabeled_config_key() -> None:
    for name in ("smoke", "quick", "paper"):
        cfg = get_profile(name)
        assert cfg["skd"]["unlabeled"] == [] and cfg["uvanet"]["unlabeled"] == []
    real = get_profile("real-cpu")  # its fixation rows train on the teacher-labelled corpus (the clips are in it)
    for section in ("skd", "uvanet"):
        assert real[section]["unlabeled"] == [] and real["data"]["fixation"]["source"] == "teacher-labelled"
        assert "shared:unlabeled_video" in [s.path for s in parse_sources(real["distill"]["corpus"], "corpus")]
    with pytest.raises(ValueError, match="skd.unlabeled"):
        get_profile("smoke", {"skd.unlabeled": [{"paht": "x"}]})
    with pytest.raises(ValueError, match="expected list"):
        get_profile("smoke", {"skd.unlabeled": "shared:unlabeled_video"})
    assert Context(profile="smoke", progress=False).unlabeled("skd") is None


def test_rows_with_and_without_unlabeled_video_and_their_claims(tmp_path: Path) -> None:
    """skd and uvanet on smoke: the students with the video only the teacher labels are other runs (named
    ``-unl``, their config names the video), the tables show both rows and the claims compare them."""
    from salkd.papers import fixation_claims, skd, uvanet
    from salkd.runs import read_json

    clips = _clips(tmp_path / "clips", n=2, frames=4, size=(64, 64))
    src = [{"name": "clips", "path": str(clips)}]
    ctx = Context(profile="smoke", progress=False, overrides={"skd.unlabeled": src, "uvanet.unlabeled": src})
    df = skd.run_unlabeled(ctx)
    assert list(df["variant"]) == [fixation_claims.LABELLED_ONLY, fixation_claims.WITH_UNLABELED]
    assert list(df["unlabeled_frames"]) == [0, 8]
    plain, unl = (Path(r) for r in df["run"])
    assert unl != plain and unl.name.endswith("-unl")
    spatial = read_json(unl.parent.parent / "skd_students" / f"{unl.name}-spatial" / "config.json")
    assert spatial["unlabeled"] and spatial["unlabeled_videos"]
    table = skd.TABLES["skd_unlabeled"][1](ctx)
    assert list(table["variant"]) == [fixation_claims.LABELLED_ONLY, fixation_claims.WITH_UNLABELED]
    assert list(table["unlabeled frames (teacher only)"]) == [0, 8]
    claim = fixation_claims.unlabeled_claim(ctx, "skd", "skd_unlabeled", "S_st")
    assert claim["verdict"] in VERDICTS and "8 frames only the teacher labels" in claim["note"]
    assert any(r["claim"].startswith("adding video only the teacher labels") for r in skd.claims(ctx))

    du = uvanet.run_unlabeled(ctx)
    assert list(du["variant"]) == [fixation_claims.LABELLED_ONLY, fixation_claims.WITH_UNLABELED]
    assert Path(du["run"].iloc[1]).name.endswith("-unl")
    assert fixation_claims.unlabeled_claim(ctx, "uvanet", "uva_unlabeled", "S_sp")["verdict"] in VERDICTS
    # a profile without unlabeled video: no rows, the claim says why
    none = Context(profile="smoke", progress=False)
    assert skd.run_unlabeled(none) is None
    assert "lists no unlabeled video" in fixation_claims.unlabeled_claim(none, "skd", "no_such_experiment", "S_st")["note"]
    assert "no step-matched control" in fixation_claims.unlabeled_step_claim(ctx, "skd", "skd_unlabeled", "S_st")["note"]


def test_step_matched_control_of_the_unlabeled_rows(tmp_path: Path) -> None:
    """``<paper>.unlabeled_control``: a third row trains the students on the labelled frames alone for exactly the
    optimizer steps the students with the unlabeled video took (more than the plain row's), and a claim compares
    the unlabeled-video row with it."""
    from salkd.papers import fixation_claims as fc, skd, uvanet
    from salkd.papers.unlabeled import steps_of

    clips = _clips(tmp_path / "clips", n=2, frames=4, size=(64, 64))
    src = [{"name": "clips", "path": str(clips)}]
    ctx = Context(profile="smoke", progress=False, runs=tmp_path / "runs",
                  overrides={"skd.unlabeled": src, "uvanet.unlabeled": src, "skd.unlabeled_control": True,
                             "uvanet.unlabeled_control": True, "skd.epochs": 2, "uvanet.epochs": 2})
    for mod, exp, students in ((skd, "skd_unlabeled", "skd_students"), (uvanet, "uva_unlabeled", "uva_student")):
        df = mod.run_unlabeled(ctx)
        assert list(df["variant"]) == [fc.LABELLED_ONLY, fc.WITH_UNLABELED, fc.STEP_MATCHED]
        plain, more, matched = (int(x) for x in df["student_steps"])
        assert matched == more > plain
        root = tmp_path / "runs" / "smoke" / students
        ctl = sorted(p for p in root.iterdir() if p.is_dir() and "-it" in p.name)
        assert ctl and all(steps_of(p) == int(p.name.split("-it")[1].split("-")[0]) for p in ctl)
        table = mod.TABLES[exp][1](ctx)
        assert list(table["student steps (mean over seeds)"]) == [plain, more, matched]
        paper = "skd" if mod is skd else "uvanet"
        claim = fc.unlabeled_step_claim(ctx, paper, exp, "S")
        assert claim["verdict"] in VERDICTS and claim["verdict"] != "not measured"
    with pytest.raises(FileNotFoundError, match="metrics.json"):
        steps_of(tmp_path)


def test_teacher_rows_in_table1(tmp_path: Path) -> None:
    """skd Table I / uvanet Table 1 list each teacher beside the students: accuracy on the test split,
    parameters, MACs per frame, its input and frames/s on one thread."""
    from salkd import results
    from salkd.papers import skd, teachers, uvanet

    ctx = Context(profile="smoke", progress=False, runs=tmp_path / "runs")
    teachers.run(ctx)
    for key, mod in (("skd_table1", skd), ("uva_table1", uvanet)):
        t = mod.TABLES[key][1](ctx)
        ours = t[t["model"].str.endswith("teacher (ours)")]
        assert set(ours["model"]) == {"dva teacher (ours)", "tsnet teacher (ours)"}, t["model"].tolist()
        for _, r in ours.iterrows():
            assert r["NSS"] == pytest.approx(results.summarize(ctx, results.load(ctx, "teachers"), "nss",
                                                               variant=r["model"].split()[0]).value)
            assert r["params (M)"] > 0 and r["MMACs/frame"] > 0 and r["CPU FPS (1 thread, batch 1)"] > 0
            assert r["input"] == "64x64" and r["note"] == "trained here on the training split"
        assert (t["source"] == "paper").sum() >= 5  # the paper's rows stay


def test_published_teacher_rows_use_their_recorded_cost(tmp_path: Path) -> None:
    """A published teacher's row takes its recorded MACs and one-thread frames/s and names its clip input."""
    from salkd.papers import common

    run = tmp_path / "tinyhd_m-fixation"
    run.mkdir()
    (run / "config.json").write_text('{"pretrained": "tinyhd_m", "res": [192, 256], "task": "fixation"}')
    df = pd.DataFrame([{"experiment": "teachers", "variant": "tinyhd_m", "teacher": "tinyhd_m", "res": 192,
                        "run": str(run), "nss": 3.3, "cc": 0.56, "params": 515281, "macs_per_frame": 2.2e8,
                        "fps_1thread": 22.0}])
    ctx = Context(profile="real-cpu", progress=False, runs=tmp_path / "runs")
    common._COSTS[(str(run), "mem_mb")] = 12.5  # not measured here (no weights needed)
    (r,) = common.teacher_comparison_rows(ctx, df)
    assert r["model"] == "tinyhd_m teacher (published)" and r["input"] == "16 x 192x256 clip"
    assert r["MMACs/frame"] == pytest.approx(220.0) and r["CPU FPS (1 thread, batch 1)"] == 22.0
    assert r["params (M)"] == pytest.approx(0.515281) and r["NSS"] == pytest.approx(3.3)
    assert "optimistic" in r["note"] and np.isclose(r["memory (MB)"], 12.5)


def test_rows_at_another_input_size_than_the_papers_say_so() -> None:
    """skd Table IV / Fig. 8 and uvanet Fig. 6 are the papers' 64x64 students: a measured row made at 32x32
    says so; rows at 64x64 and unmeasured rows are left as they are."""
    from salkd.papers.fixation_claims import input_size_note

    rows = [{"verdict": "inconclusive", "note": "noise ..."}, {"verdict": "not measured", "note": "not run"}]
    input_size_note(rows, 32, "skd.res")
    assert rows[0]["note"].startswith("every compared run at 32x32, the paper's at 64x64 (set skd.res") and "noise" in rows[0]["note"]
    assert rows[1]["note"] == "not run"
    same = [{"verdict": "consistent", "note": "n"}]
    assert input_size_note(same, 64, "skd.res")[0]["note"] == "n"
