"""salkd.bench.plan: the runs of a profile, training FLOPs, the training-memory tracker and the plan table."""
from __future__ import annotations

from collections import Counter

import torch
from torch import nn

from salkd.bench import plan as P
from salkd.config import get_profile


def test_training_peak_counts_saved_activations_and_gradients(monkeypatch) -> None:
    """4 bias-free Linear(1000, 1000) at batch 1000: backward keeps each layer's 4 MB input and makes a 4 MB
    gradient per weight: 8 x 3.81 MB live at the peak (parameters themselves are not counted)."""
    net = nn.Sequential(*[nn.Linear(1000, 1000, bias=False) for _ in range(4)])
    monkeypatch.setattr(P, "_inputs", lambda kind, res, batch, seed=0: (torch.rand(batch, 1000),))
    job = P.Job("toy", "toy", "toy", (), 0, "frame")
    mb = P.train_peak_bytes(net, job, 1000) / 2**20
    assert abs(mb - 8 * 1000 * 1000 * 4 / 2**20) < 0.5
    assert all(p.grad is None for p in net.parameters())   # left as found
    forward_only = P.train_peak_bytes(net, P.Job("toy", "toy", "toy", (), 0, "frame", kind="maps"), 1000) / 2**20
    assert forward_only < 3 * 3.82 + 0.5   # no graph: the held input, the layer input and its output at most


def test_jobs_of_the_paper_profile_cover_every_sweep() -> None:
    cfg = get_profile("paper")
    jobs = P.jobs(cfg)
    by_stage = Counter(j.stage for j in jobs)
    assert set(by_stage) == {"teachers", "teacher maps", "skd_students", "skd_st", "uva_student", "uva_st",
                             "fastvsod_stage1", "fastvsod_stage2"}
    skd = {j.res for j in jobs if j.stage == "skd_st"}
    assert skd == set(cfg["skd"]["resolutions"])
    assert {j.res for j in jobs if j.stage == "uva_st"} == set(cfg["uvanet"]["resolutions"])
    s1 = [j for j in jobs if j.stage == "fastvsod_stage1"]
    assert len(s1) == 1 and s1[0].res == 473 and dict(s1[0].kwargs)["backbone"] == "resnet50"
    assert s1[0].max_iters == cfg["fastvsod"].get("stage1_max_iters")
    # one mu-sweep S_st per mu, the main runs and Ablation-O, each once
    mus = {j.name for j in jobs if j.stage == "skd_st" and j.res == cfg["skd"]["res"]}
    assert len(mus) >= len(cfg["skd"]["mu_sweep"]) + 1
    assert len({(j.stage, j.name) for j in jobs}) == len(jobs)


def test_plan_of_the_smoke_profile() -> None:
    cfg = get_profile("smoke")
    rows, per_job = P.plan(cfg, frames={"fixation": 100, "vsod_videos": 40}, progress=False, max_measure_gb=0.5,
                          max_measure_gflop=20.0)
    assert [r.stage for r in rows][0] == "teachers"
    assert sum(r.runs for r in rows) == len(per_job) == len(P.jobs(cfg))
    for j in per_job:
        assert j["flop_step"] > 0 and j["steps"] >= 1 and j["mem_1gpu"] > 0
        expected = (3 if j["stage"] != "teacher maps" else 1) * 2 * j["macs"] * j["batch"]
        assert j["flop_step"] == expected
    teachers = next(r for r in rows if r.stage == "teachers")
    assert teachers.hours_8 <= teachers.hours_1
    text = P.markdown(rows)
    assert text.splitlines()[0].startswith("| stage | runs |") and "**total**" in text
