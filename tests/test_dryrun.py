"""salkd.dryrun: the derived profile keeps the paper's models and resolutions; the dry run itself (slow)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from salkd.config import get_profile
from salkd.dryrun import DryRunSettings, changed_keys, dry_run_overrides, write_random_backbone

#: the last part of every key a dry run may change outside data / eval / bench
BUDGET = {"batch", "seeds", "pretrained"}


def _is_budget(key: str) -> bool:
    name = key.split(".")[-1]
    return name in BUDGET or name.endswith("epochs") or "iters" in name or "steps" in name


@pytest.mark.parametrize("profile", ["paper", "quick"])
def test_dry_run_changes_only_the_budget(profile: str) -> None:
    base = get_profile(profile)
    ov = dry_run_overrides(base, DryRunSettings(), pretrained="/weights/resnet50.pt")
    derived = get_profile(profile, ov)   # every override is a valid --set
    changed = changed_keys(base, derived)
    other = [k for k in changed if not k.startswith(("data.", "eval.", "bench."))]
    assert other and all(_is_budget(k) for k in other), other
    for sec in ("teacher", "skd", "uvanet", "fastvsod"):   # models and resolutions are the profile's
        for key in ("res", "resolutions", "backbone", "width", "teachers", "mu_sweep", "alpha_sweep", "fusions"):
            assert derived[sec].get(key) == base[sec].get(key)
    assert derived["fastvsod"]["batch"] == 2 and derived["teacher"]["epochs"] == 1
    for key, value in derived["fastvsod"].items():
        if "iters" in key and base["fastvsod"][key] is not None:
            assert value == 2
    vsod = derived["data"]["vsod"]
    assert vsod["source"] == "synthetic" and min(vsod["size"]) >= derived["fastvsod"]["res"]
    assert derived["data"]["fixation"]["size"][0] >= max(derived["skd"]["resolutions"])


def test_random_backbone_has_torchvision_keys(tmp_path: Path) -> None:
    import torch

    from salkd.models import build

    path = write_random_backbone(tmp_path / "r18.pt", "resnet18", 0.25)
    sd = torch.load(path, weights_only=True)
    assert {"conv1.weight", "layer1.0.conv1.weight", "fc.weight", "fc.bias"} <= set(sd)
    build("fastvsod", backbone="resnet18", width=0.25, pretrained_path=str(path))   # loads, fc ignored


@pytest.mark.slow
def test_paper_dry_run(tmp_path: Path, capsys) -> None:
    """``salkd reproduce --profile paper --dry-run``: every notebook and stage at the paper's sizes, one stage under
    torchrun; and the GPU plan's list of runs is the list of run folders the notebooks made."""
    from salkd.bench.plan import jobs
    from salkd.cli import main

    assert main(["reproduce", "--profile", "paper", "--dry-run", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("dry run ok: ") and int(out[-1].split()[-2]) == 8
    root = tmp_path / "paper"
    made = {(p.parent.name, p.name) for p in root.glob("*/*") if (p / "metrics.json").is_file()}
    made.discard(("fastvsod_stage2", DryRunSettings().ddp_name))
    derived = get_profile("paper", json.loads((tmp_path / "dry_run_overrides.json").read_text()))
    planned = {(j.stage, j.name) for j in jobs(derived) if j.kind == "train"}   # names carry epochs (Ablation-O)
    assert planned == made
