"""Teachers, optical flow, checkpoint loading (from_run / load_teacher)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from salkd.models import build, from_run, load_teacher
from salkd.models.flow import flow_batch, optical_flow
from salkd.models.teachers import normalize_flow


@pytest.mark.parametrize("name", ["teacher_dva", "teacher_salnet", "teacher_ssnet", "teacher_tsnet"])
def test_teacher_shapes(name):
    m = build(name, width=0.0625).eval()
    x = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        out = m(x, torch.randn(2, 2, 32, 48)) if m.input_kind == "flow" else m(x)
    assert out.shape == (2, 1, 32, 48)
    assert m.input_kind == ("flow" if name == "teacher_tsnet" else "frame")


def test_dva_side_outputs():
    m = build("teacher_dva", width=0.0625).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        d = m.forward_train(x)
        assert set(d) == {"out", "side1", "side2", "side3"}
        assert torch.equal(d["out"], m(x))
        assert all(v.shape == (1, 1, 32, 32) for v in d.values())


def test_tsnet_flow_used_and_normalized():
    torch.manual_seed(0)
    m = build("teacher_tsnet", width=0.0625).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(m(x, torch.zeros(1, 2, 32, 32)), m(x, torch.full((1, 2, 32, 32), 3.0)))
    f = torch.full((1, 2, 40, 80), 4.0)
    assert torch.allclose(normalize_flow(f), torch.full_like(f, 1.0))
    with pytest.raises(ValueError, match="teacher_tsnet.*2 channels"):
        m(x, torch.zeros(1, 3, 32, 32))


def _textured(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((64, 64, 3)).astype(np.float32), (0, 0), 2)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_optical_flow_recovers_shift(method):
    a = _textured()
    b = np.roll(a, (1, 2), axis=(0, 1))  # content moves +2 in x, +1 in y
    f = optical_flow(a, b, method)
    assert f.shape == (64, 64, 2) and f.dtype == np.float32
    assert abs(np.median(f[16:48, 16:48, 0]) - 2) < 0.3
    assert abs(np.median(f[16:48, 16:48, 1]) - 1) < 0.3
    assert np.array_equal(f, optical_flow(a, b, method))
    with pytest.raises(ValueError):
        optical_flow(a.astype(np.float32), b)
    t = flow_batch(torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255,
                   torch.from_numpy(b).permute(2, 0, 1)[None].float() / 255, method)
    assert t.shape == (1, 2, 64, 64)


def _run(tmp_path, name, kwargs, which="checkpoint.pt", extra=None):
    m = build(name, **kwargs)
    run = tmp_path / name
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": {"name": name, "kwargs": kwargs}}))
    torch.save({"model": m.state_dict(), "optimizer": {}, "epoch": 1}, run / which)
    return m, run


def test_from_run_best_and_checkpoint(tmp_path):
    torch.manual_seed(0)
    m, run = _run(tmp_path, "uva_st", {"block": "mb", "width": 0.5})
    loaded = from_run(run)
    assert loaded.salkd_spec == {"name": "uva_st", "kwargs": {"block": "mb", "width": 0.5}}
    assert not loaded.training
    for k, v in m.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    other = build("uva_st", block="mb", width=0.5)
    torch.save({"model": other.state_dict()}, run / "best.pt")
    w = "shared.0.0.weight"
    assert torch.equal(from_run(run)._parameters.get(w, from_run(run).state_dict()[w]), other.state_dict()[w])
    assert torch.equal(from_run(run, which="last").state_dict()[w], m.state_dict()[w])
    with pytest.raises(FileNotFoundError):
        from_run(tmp_path)


def test_load_teacher_file_and_errors(tmp_path):
    torch.manual_seed(0)
    t = build("teacher_ssnet", width=0.0625)
    bare = tmp_path / "t.pt"
    torch.save(t.state_dict(), bare)
    lt = load_teacher(bare, name="teacher_ssnet", width=0.0625)
    assert not any(p.requires_grad for p in lt.parameters())
    assert torch.equal(lt.state_dict()["body.0.0.weight"], t.state_dict()["body.0.0.weight"])
    wrapped = tmp_path / "w.pt"
    torch.save({"model": t.state_dict(), "epoch": 3}, wrapped)
    load_teacher(wrapped, name="teacher_ssnet", width=0.0625)
    with pytest.raises(ValueError, match="name="):
        load_teacher(bare)
    with pytest.raises(ValueError, match=r"(?s)teacher_salnet.*(missing|unexpected|shape)"):
        load_teacher(bare, name="teacher_salnet", width=0.0625)
    with pytest.raises(ValueError, match="shape mismatches"):
        load_teacher(bare, name="teacher_ssnet", width=0.125)
    _, run = _run(tmp_path, "teacher_dva", {"width": 0.0625})
    assert load_teacher(run).salkd_spec["name"] == "teacher_dva"
    with pytest.raises(ValueError, match="teacher_dva"):
        load_teacher(run, name="teacher_ssnet")
