"""fastvsod: outputs of forward / forward_train, deploy(), fusion variants, torchvision layout."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from salkd.models import build
from salkd.models.fastvsod import InterFrameEncoder

KEYS = Path(__file__).parent / "data" / "resnet50_torchvision_keys.txt"
TINY = dict(backbone="resnet18", width=0.125)


def read_keys() -> dict[str, tuple[int, ...]]:
    out = {}
    for line in KEYS.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, _, s = line.partition(" ")
        out[k] = tuple(int(v) for v in s.split(",")) if s.strip() else ()
    return out


def test_resnet50_layout_matches_torchvision():
    ref = {k: v for k, v in read_keys().items() if not k.startswith("fc.")}
    bb = build("fastvsod").backbone
    mine = {k: tuple(v.shape) for k, v in bb.state_dict().items()}
    assert mine == ref


def test_pretrained_path_loads_and_rejects(tmp_path):
    torch.manual_seed(0)
    sd = {k: (torch.randn(s) if s else torch.tensor(0)) for k, s in read_keys().items()}
    p = tmp_path / "r50.pth"
    torch.save(sd, p)
    m = build("fastvsod", pretrained_path=str(p))
    assert torch.equal(m.backbone.conv1.weight, sd["conv1.weight"])
    assert torch.equal(m.backbone.layer4[2].bn3.running_var, sd["layer4.2.bn3.running_var"])
    with pytest.raises(ValueError, match=r"(?s)fastvsod resnet18.*backbone.*unexpected keys.*layer1\.0\.conv3"):
        build("fastvsod", backbone="resnet18", pretrained_path=str(p))


def test_forward_train_keys_and_deploy():
    torch.manual_seed(0)
    m = build("fastvsod", **TINY)
    x, y = torch.rand(2, 3, 32, 48), torch.rand(2, 3, 32, 48)
    single = m.forward_train(x)
    assert set(single) == {"P0", "P1", "P2"}
    pair = m.forward_train(x, y)
    assert set(pair) == {"P0", "P1", "P2", "P0_next", "P1_next", "P2_next", "P3"}
    assert all(v.shape == (2, 1, 32, 48) for v in pair.values())
    m.eval()
    with torch.no_grad():
        p2 = m(x)
        d = m.deploy()
        assert d.encoder is None and d.unit3 is None and d.input_kind == "frame"
        assert torch.allclose(d(x), p2, atol=1e-6)
        # eval-mode P2 of forward_train equals forward; the pair's t-branch equals the single-frame one
        assert torch.allclose(m.forward_train(x)["P2"], p2, atol=1e-6)
        assert torch.allclose(m.forward_train(x, y)["P2"], p2, atol=1e-5)
    nd = sum(p.numel() for p in d.parameters())
    assert nd < sum(p.numel() for p in m.parameters())
    assert d.salkd_spec["kwargs"]["encoder"] is False
    rebuilt = build(d.salkd_spec["name"], **d.salkd_spec["kwargs"])
    rebuilt.load_state_dict(d.state_dict())  # strict


@pytest.mark.parametrize("fusion", ["attention", "add", "concat", "multiply"])
def test_fusions_and_fe_t(fusion):
    torch.manual_seed(0)
    m = build("fastvsod", fusion=fusion, keep_encoder_at_test=True, **TINY).eval()
    assert m.input_kind == "pair"
    x, y = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        out = m(x, y)
        assert out.shape == (1, 1, 32, 32)
        # FE_t prediction for x equals forward_train's P3 with x in the role of frame t+t0
        assert torch.allclose(out, m.forward_train(y, x)["P3"], atol=1e-5)
        assert m.deploy().encoder is not None


def test_mutual_attention_eq5():
    torch.manual_seed(0)
    enc = InterFrameEncoder(4, "attention")
    ht, hn = torch.randn(1, 4, 2, 3), torch.randn(1, 4, 2, 3)
    a_t, a_n = ht.reshape(4, 6), hn.reshape(4, 6)
    a = torch.softmax(a_t.T @ a_n / 2.0, dim=0)
    assert torch.allclose(a.sum(0), torch.ones(6))
    tilde = (a_n @ a).reshape(1, 4, 2, 3)
    expect = enc.conv(torch.cat([tilde, hn], 1))
    assert torch.allclose(enc(ht, hn), expect, atol=1e-6)
    assert torch.equal(InterFrameEncoder(4, "multiply")(ht, hn), ht * hn)
    assert torch.equal(InterFrameEncoder(4, "add")(ht, hn), ht + hn)


def test_bad_inputs_and_kwargs():
    m = build("fastvsod", **TINY)
    assert m.eval()(torch.rand(1, 3, 40, 33)).shape == (1, 1, 40, 33)   # padded to 16 inside, cropped back
    with pytest.raises(ValueError, match="fastvsod.*positive"):
        m(torch.rand(1, 3, 0, 32))
    with pytest.raises(ValueError, match="fastvsod.*3 channels"):
        m(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match="fusion"):
        build("fastvsod", fusion="sum", **TINY)
    with pytest.raises(ValueError, match="backbone"):
        build("fastvsod", backbone="resnet101")


@pytest.mark.realdata
def test_csnet_backbone_is_frozen_and_keeps_its_statistics() -> None:
    from salkd import weights
    from salkd.models import build

    if weights.find("csnet_x2") is None:
        pytest.skip("CSNet weights not found (salkd weights get csnet_x2)")
    torch.manual_seed(0)
    m = build("fastvsod", backbone="csnet", width=0.25, freeze_backbone=True)
    before = {k: v.clone() for k, v in m.backbone.state_dict().items()}
    m.train()
    out = m.forward_train(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    assert set(out) >= {"P0", "P1", "P2", "P0_next", "P2_next", "P3"} and out["P2"].shape == (2, 1, 64, 64)
    sum(v.mean() for v in out.values()).backward()
    assert all(p.grad is None for p in m.backbone.parameters())
    assert any(p.grad is not None for p in m.aspp.parameters())
    after = m.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)   # running means / vars untouched
    m.eval()
    x = torch.rand(1, 3, 64, 64)
    assert torch.allclose(m(x), m.deploy()(x))


@pytest.mark.realdata
def test_csnet_prior_starts_exactly_at_csnet_and_then_learns() -> None:
    """FastVSOD(csnet_prior=True): untrained, every output is CSNet's own logits (the head is a zero residual);
    one SGD step moves the head, CSNet stays as released; the cached path gives the same outputs."""
    from salkd import weights
    from salkd.models import build
    from salkd.models.blocks import ImageNetNorm

    if weights.find("csnet_x2") is None:
        pytest.skip("CSNet weights not found (salkd weights get csnet_x2)")
    torch.manual_seed(0)
    m = build("fastvsod", backbone="csnet", width=0.25, freeze_backbone=True, csnet_prior=True).eval()
    x, nxt = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    ref = m.backbone.net(ImageNetNorm(1)(x))          # CSNet alone on the same input
    assert torch.allclose(m(x), ref, atol=1e-5)
    assert torch.allclose(m.deploy()(x), ref, atol=1e-5)
    out = m.forward_train(x, nxt)
    assert all(torch.allclose(out[k], ref, atol=1e-5) for k in ("P0", "P1", "P2"))
    assert torch.allclose(out["P3"], m.backbone.net(ImageNetNorm(1)(nxt)), atol=1e-5)
    cached = m.forward_train(x, nxt, cached=m.cache_inputs(x), cached_next=m.cache_inputs(nxt))
    assert all(torch.allclose(cached[k], out[k], atol=1e-6) for k in out)
    m.train()
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1)
    before = {k: v.clone() for k, v in m.backbone.state_dict().items()}
    loss = sum(torch.nn.functional.binary_cross_entropy_with_logits(v, torch.ones_like(v)) for v in
               m.forward_train(x).values())
    loss.backward()
    opt.step()
    m.eval()
    assert not torch.allclose(m(x), ref, atol=1e-4)           # the head learned something
    assert all(torch.equal(before[k], v) for k, v in m.backbone.state_dict().items())
    assert m.feature_cache_key() != build("fastvsod", backbone="csnet", width=0.25,
                                          freeze_backbone=True).feature_cache_key()
    with pytest.raises(ValueError, match="csnet_prior"):
        build("fastvsod", backbone="resnet18", csnet_prior=True)


def test_any_input_size_is_padded_to_the_stride_and_cropped_back() -> None:
    torch.manual_seed(0)
    m = build("fastvsod", backbone="resnet18", width=0.25).eval()
    for h, w in ((473, 473), (65, 97)):
        x = torch.rand(1, 3, h, w)
        assert m(x).shape == (1, 1, h, w)
        assert m.forward_train(x, x)["P3"].shape == (1, 1, h, w)
    x = torch.rand(1, 3, 64, 64)            # a multiple of 16: no padding, the same computation as before
    low, high = m._features(x)
    assert torch.equal(m(x), torch.nn.functional.interpolate(m._embed(low, high)[2], size=(64, 64), mode="bilinear",
                                                             align_corners=False))
