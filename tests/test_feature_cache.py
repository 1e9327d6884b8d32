"""fastvsod on CSNet: the frozen stages cached once per frame (salkd.data.features), partial fine-tuning
of CSNet's last stages (BatchNorm frozen) and per-prefix learning-rate groups."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from _toy import ToyDataset, toy_loss, toy_model
from salkd.context import Context
from salkd.runs import read_json
from salkd.train_state import TrainSettings, make_optimizer


def _need_csnet() -> None:
    from salkd import weights

    if weights.find("csnet_x2") is None:
        pytest.skip("CSNet weights not found (salkd weights get csnet_x2)")


def _csnet_model(stages: int = 0) -> torch.nn.Module:
    from salkd.models import build

    torch.manual_seed(0)
    kw = {"backbone_train_stages": stages} if stages else {}
    return build("fastvsod", backbone="csnet", width=0.25, freeze_backbone=True, encoder=False, **kw)


def _is_bn(name: str) -> bool:
    return ".bns." in name or name.split(".")[-2] == "bn"


def test_lr_groups_scale_the_policy_per_prefix(tmp_path: Path) -> None:
    model = toy_model()
    s = TrainSettings(epochs=1, batch_size=8, lr=1e-2, optimizer="sgd", lr_policy="poly", progress=False,
                      param_lr={"0.": 0.1})
    opt = make_optimizer(model, s)
    groups = {g["prefix"]: g for g in opt.param_groups}
    assert set(groups) == {"0.", ""}
    assert {id(p) for p in groups["0."]["params"]} == {id(p) for p in model[0].parameters()}
    assert {id(p) for p in groups[""]["params"]} == {id(p) for p in model[2].parameters()}
    assert groups["0."]["lr"] == pytest.approx(1e-3) and groups[""]["lr"] == pytest.approx(1e-2)
    assert "param_lr" not in TrainSettings().to_dict()      # runs without groups keep their config
    with pytest.raises(ValueError, match="multiplier"):
        make_optimizer(model, TrainSettings(param_lr={"0.": 0.0}))
    # in training, each group follows the poly policy at its own multiple
    from salkd.train import Trainer

    seen: list[tuple[float, ...]] = []

    class Recording(Trainer):
        def _optimizer_step(self, loss: torch.Tensor) -> None:
            seen.append(tuple(g["lr"] for g in self.optimizer.param_groups))
            super()._optimizer_step(loss)

    Recording(model, toy_loss, ToyDataset(32), tmp_path / "run", s).run()
    assert len(seen) == 4 and all(a == pytest.approx(0.1 * b) for a, b in seen)
    assert seen[0][1] == pytest.approx(1e-2) and seen[-1][1] < seen[0][1]


@pytest.mark.realdata
@pytest.mark.parametrize("stages", [0, 1, 2])
def test_unfrozen_params_are_exactly_the_chosen_stages(stages: int) -> None:
    _need_csnet()
    m = _csnet_model(stages)
    bb = m.backbone
    chosen = [f"net.stage{s}." for s in range(5 - stages, 5)]
    trainable = {n for n, p in bb.named_parameters() if p.requires_grad}
    expected = {n for n, _ in bb.named_parameters() if n.startswith(tuple(chosen)) and not _is_bn(n)}
    assert trainable == expected and bb.trainable_stages() == list(range(5 - stages, 5))
    assert (len(trainable) > 0) == (stages > 0)
    assert not any(n.startswith(("net.oct_fuse", "net.cls_layer")) for n in trainable)
    # a training step: gradients reach exactly the chosen stages, BatchNorm statistics stay the released ones
    before = {k: v.clone() for k, v in bb.state_dict().items()}
    m.train()
    x = torch.rand(2, 3, 32, 32)
    out = m.forward_train(x)
    sum(v.mean() for v in out.values()).backward()
    with_grad = {n for n, p in bb.named_parameters() if p.grad is not None}
    assert with_grad == expected
    after = bb.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "running" in k or "num_batches" in k)
    # the split forward is the forward: from_prefix(prefix(x)) == backbone(x)
    m.eval()
    with torch.no_grad():
        a = bb(m.norm(x))
        b = bb.from_prefix(bb.prefix(m.norm(x)))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    with pytest.raises(ValueError, match="train_stages"):
        _csnet_model(6)


@pytest.mark.realdata
def test_cache_hit_gives_the_features_of_a_fresh_forward(tmp_path: Path) -> None:
    _need_csnet()
    from salkd.data.features import cache_features

    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False)
    lowres = ctx.cache("vsod", "train", 32)
    m = _csnet_model(0).eval()
    fp32 = cache_features(lowres, m, tmp_path / "feat", dtype="float32", flip=True, batch=8)
    v = lowres.videos[0]
    frames = torch.from_numpy(np.asarray(lowres.video(v)["frames"], np.float32) * np.float32(1 / 255))
    frames = frames.permute(0, 3, 1, 2).contiguous()   # as FrameDataset makes them
    assert len(frames) <= 8  # one build batch: the fresh forward sees the same batch
    with torch.no_grad():
        fresh = m.cache_inputs(frames)
        fresh_flip = m.cache_inputs(frames.flip(-1).contiguous())
    assert set(fresh) == set(fp32.names) == {"in.0", "s3", "p2"}
    meta = fp32.path / v / "meta.json"
    stamp = meta.stat().st_mtime_ns
    hit = cache_features(lowres, m, tmp_path / "feat", dtype="float32", flip=True, batch=8)   # a cache hit
    assert meta.stat().st_mtime_ns == stamp
    for n, t in fresh.items():
        assert torch.equal(torch.from_numpy(np.array(hit.video(v)[n])), t)
        assert torch.equal(torch.from_numpy(np.array(hit.video(v, flipped=True)[n])), fresh_flip[n])
    half = cache_features(lowres, m, tmp_path / "feat", dtype="float16", batch=8)
    assert half.path != fp32.path
    for n, t in fresh.items():
        assert torch.equal(torch.from_numpy(np.array(half.video(v)[n])), t.half())
    # the head on cached features = the head on a fresh forward (fp32 exactly; fp16 within its rounding)
    with torch.no_grad():
        ref = m.forward_train(frames)["P2"]
        got = m.forward_train(frames, cached={n: torch.from_numpy(np.array(a)) for n, a in hit.video(v).items()})["P2"]
        got16 = m.forward_train(frames, cached={n: torch.from_numpy(np.asarray(a, np.float32))
                                                for n, a in half.video(v).items()})["P2"]
    assert torch.equal(ref, got)
    assert float((torch.sigmoid(ref) - torch.sigmoid(got16)).abs().max()) < 2e-3
    # other frozen weights (here: fewer frozen stages) -> another cache
    other = cache_features(lowres, _csnet_model(1).eval(), tmp_path / "feat", dtype="float32", batch=8)
    assert other.path != fp32.path and set(other.names) == {"in.0", "p2"}


@pytest.mark.realdata
def test_stage1_with_cached_features_trains_and_its_loss_falls(tmp_path: Path) -> None:
    _need_csnet()
    from salkd.papers.fastvsod import fastvsod_stage1

    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"fastvsod.pretrained_res": 32, "fastvsod.pretrained_stage1_epochs": 4,
                             "fastvsod.pretrained_train_stages": 1, "fastvsod.feature_cache_flip": True})
    s1 = fastvsod_stage1(ctx, backbone="csnet")
    cfg = read_json(s1 / "config.json")
    assert s1.name == "csnet-32-ft1" and cfg["model"]["kwargs"]["backbone_train_stages"] == 1
    assert cfg["feature_cache"] == {"dtype": "float16", "flip": True}
    assert cfg["train"]["param_lr"] == {"backbone.": 0.1}
    hist = [float(r["train_loss"]) for r in __import__("csv").DictReader(open(s1 / "history.csv"))]
    assert len(hist) == 4 and hist[-1] < hist[0]
    # stage-1 weights of the fine-tuned stage moved, the frozen ones did not
    from salkd.models import read_state_dict

    state = read_state_dict(s1 / "checkpoint.pt")
    ref = _csnet_model(1).state_dict()
    assert not torch.equal(state["backbone.net.stage4.0.conv1x1.conv.weight"], ref["backbone.net.stage4.0.conv1x1.conv.weight"])
    assert torch.equal(state["backbone.net.stage3.0.conv1x1.conv.weight"], ref["backbone.net.stage3.0.conv1x1.conv.weight"])
    assert all(torch.equal(state[k], ref[k]) for k in ref if k.startswith("backbone.") and "running" in k)


def test_frame_pairs_on_cached_features_equal_a_fresh_forward(tmp_path: Path) -> None:
    """fastvsod stage 2 on a frozen CSNet: both frames of a pair come from the cache, and the pair's training
    outputs (P0-P2 of both frames and P3) are those of running the backbone on the two frames."""
    _need_csnet()
    from salkd.data import FramePairDataset
    from salkd.data.features import CachedFrameDataset, cache_features, cached_inputs
    from salkd.models import build

    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False)
    lowres = ctx.cache("vsod", "train", 32)
    torch.manual_seed(0)
    m = build("fastvsod", backbone="csnet", width=0.25, freeze_backbone=True, encoder=True).eval()
    feats = cache_features(lowres, m, tmp_path / "feat", dtype="float32", flip=True, batch=8)
    pairs = FramePairDataset(lowres, label="mask", max_offset=2, augment=False, seed=3)
    ds = CachedFrameDataset(pairs, feats, flip=True, seed=3)
    flipped = [i for i in range(len(ds)) if ds.flipped(i)]
    plain = [i for i in range(len(ds)) if not ds.flipped(i)]
    assert flipped and plain
    batch = torch.utils.data.default_collate([ds[i] for i in flipped[:3] + plain[:3]])
    assert (batch["t_next"] != batch["t"]).all()
    with torch.no_grad():
        ref = m.forward_train(batch["frame"], batch["next"])
        got = m.forward_train(batch["frame"], batch["next"], cached=cached_inputs(batch),
                              cached_next=cached_inputs(batch, "next"))
    assert set(ref) == set(got) >= {"P0", "P1", "P2", "P0_next", "P2_next", "P3"}
    for k in ref:
        assert torch.allclose(ref[k], got[k], atol=1e-5), k
    # a mirrored item mirrors both frames and both labels
    i = flipped[0]
    raw = pairs[i]
    assert torch.equal(ds[i]["next"], raw["next"].flip(-1)) and torch.equal(ds[i]["label_next"], raw["label_next"].flip(-1))
    with pytest.raises(ValueError, match="both frames"):
        m.forward_train(batch["frame"], batch["next"], cached=cached_inputs(batch))
    with pytest.raises(ValueError, match="'frame' or 'next'"):
        cached_inputs(batch, "prev")


@pytest.mark.realdata
def test_stage2_on_a_frozen_csnet_trains_from_the_feature_cache(tmp_path: Path) -> None:
    _need_csnet()
    from salkd.papers.fastvsod import fastvsod_stage1, fastvsod_stage2

    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"fastvsod.pretrained_res": 32, "fastvsod.pretrained_stage1_epochs": 1,
                             "fastvsod.stage2_epochs": 3, "fastvsod.pretrained_width": 0.5})
    s1 = fastvsod_stage1(ctx, backbone="csnet")
    s2 = fastvsod_stage2(ctx, s1)
    cfg = read_json(s2 / "config.json")
    # a head of another width than the profile's (pretrained_width) lives in its own run folders
    assert s1.name == "csnet-32-w0.5" and s2.name.startswith("csnet-w0.5-")
    assert cfg["model"]["kwargs"]["width"] == 0.5 and cfg["feature_cache"] == {"dtype": "float16", "flip": False}
    hist = [float(r["train_loss"]) for r in __import__("csv").DictReader(open(s2 / "history.csv"))]
    assert len(hist) == 3 and hist[-1] < hist[0]


@pytest.mark.realdata
def test_published_teacher_maps_over_several_sources(tmp_path: Path) -> None:
    """real-cpu's vsod data is DAVIS + DUTS: CSNet's reference maps run on the combined test split (no one
    root folder to reopen), each video once."""
    _need_csnet()
    from salkd.map_sources import source_maps

    one = Context(profile="smoke", runs=tmp_path / "runs", progress=False)
    root = one.dataset_root("vsod")
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False,
                  overrides={"data.vsod.source": [{"name": "A", "path": str(root)}]})
    test = ctx.dataset("vsod", "test")
    maps = source_maps(ctx, "csnet_x2", "vsod", "test")
    assert sorted(maps) == sorted(test.names) and all(n.startswith("A/") for n in maps)
    assert all(maps[v.name].shape[0] == len(v) for v in test.videos)
