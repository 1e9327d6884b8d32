"""Loss functions: values on hand-computed tensors and gradient flow (skd, uvanet, fastvsod)."""
from __future__ import annotations

import math

import pytest
import torch

from salkd import losses as L


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_normalized_l2_hand_value():
    # sigmoid(0) = 0.5 everywhere; target 1 on 1 pixel of 4 -> (0.25 + 3*0.25)/4 = 0.25
    s = torch.zeros(1, 1, 2, 2)
    t = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert L.normalized_l2(s, t).item() == pytest.approx(0.25)
    s2 = torch.full((1, 1, 2, 2), logit(0.8))
    # (0.2^2 + 3*0.8^2)/4 = (0.04 + 1.92)/4 = 0.49
    assert L.skd_hard_loss(s2, t).item() == pytest.approx(0.49, rel=1e-5)
    # batch: per-image normalized, averaged over the batch
    both = torch.cat([s, s2]), torch.cat([t, t])
    assert L.normalized_l2(*both).item() == pytest.approx((0.25 + 0.49) / 2, rel=1e-5)


def test_reduction_R_area():
    s = torch.zeros(1, 1, 1, 1)
    t = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])  # area mean 0.5 -> loss 0
    assert L.skd_soft_loss(s, t).item() == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError):
        L.skd_soft_loss(torch.zeros(1, 1, 4, 4), t)


def test_skd_student_loss_mu_and_grad():
    s = torch.zeros(1, 1, 2, 2, requires_grad=True)
    teacher = torch.full((1, 1, 2, 2), 0.5, requires_grad=True)  # soft = 0
    gt = torch.ones(1, 1, 2, 2)  # hard = 0.25
    loss = L.skd_student_loss(s, teacher, gt, mu=0.3)
    assert loss.item() == pytest.approx(0.7 * 0.25)
    loss.backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert teacher.grad is None
    assert L.skd_student_loss(s, teacher, gt, mu=1.0).item() == pytest.approx(0.0)
    assert L.skd_st_loss(s, gt).item() == pytest.approx(0.25)


def test_uva_losses():
    sp = torch.zeros(1, 1, 2, 2, requires_grad=True)
    tp = torch.full((1, 1, 2, 2), logit(0.75), requires_grad=True)
    t_spa = torch.zeros(1, 1, 2, 2)  # soft spa: 0.25
    t_tem = torch.full((1, 1, 2, 2), 0.75, requires_grad=True)  # soft tem: 0
    gt = torch.ones(1, 1, 2, 2)  # hard spa 0.25, hard tem 0.0625
    assert L.uva_spatial_loss(sp, t_spa, gt, 0.5).item() == pytest.approx(0.25)
    assert L.uva_temporal_loss(tp, t_tem, gt, 0.5).item() == pytest.approx(0.5 * 0.0625, rel=1e-5)
    tot = L.uva_coupled_loss((sp, tp), t_spa, t_tem, gt, mu=0.5)
    assert tot.item() == pytest.approx(0.25 + 0.03125, rel=1e-5)
    L.uva_coupled_loss((sp, tp), t_spa, t_tem, gt, mu=0.3).backward()  # mu=0.5 cancels sp's gradient
    assert sp.grad.abs().sum() > 0 and tp.grad.abs().sum() > 0 and t_tem.grad is None
    assert L.uva_st_loss(sp, gt).item() == pytest.approx(0.25)


def bce_val(p: float, y: float) -> float:
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_fastvsod_spatial_loss_value_and_detach():
    g = torch.ones(1, 1, 2, 2)
    p0 = torch.zeros(1, 1, 2, 2, requires_grad=True)  # 0.5
    p1 = torch.full((1, 1, 2, 2), logit(0.6), requires_grad=True)
    p2 = torch.full((1, 1, 2, 2), logit(0.9), requires_grad=True)
    out = {"P0": p0, "P1": p1, "P2": p2}
    a = 0.7
    expect = bce_val(0.5, 1) + bce_val(0.6, 1) + bce_val(0.9, 1) + a * (bce_val(0.5, 0.9) + bce_val(0.6, 0.9))
    loss = L.fastvsod_spatial_loss(out, g, alpha=a)
    assert loss.item() == pytest.approx(expect, rel=1e-5)
    # gradient of P2 comes only from L_g(P2, G): d/dz BCE = (sigmoid(z) - 1) / numel
    loss.backward()
    assert torch.allclose(p2.grad, torch.full_like(p2, (0.9 - 1.0) / 4), atol=1e-6)
    # not detached: P2 gets extra gradient from L_d
    p2b = p2.detach().clone().requires_grad_(True)
    L.fastvsod_spatial_loss({"P0": p0, "P1": p1, "P2": p2b}, g, alpha=a, detach_teacher=False).backward()
    assert not torch.allclose(p2b.grad, p2.grad)


def test_fastvsod_temporal_loss_eq4_eq6():
    g = torch.zeros(1, 1, 2, 2)
    p2t = torch.full((1, 1, 2, 2), logit(0.2), requires_grad=True)
    nxt = {f"P{i}_next": torch.zeros(1, 1, 2, 2, requires_grad=True) for i in range(3)}
    out = {"P2": p2t, **nxt}
    a = 0.5
    one = bce_val(0.5, 0) + a * bce_val(0.5, 0.2)
    assert L.fastvsod_temporal_loss(out, g, alpha=a).item() == pytest.approx(3 * one, rel=1e-5)
    out["P3"] = torch.zeros(1, 1, 2, 2, requires_grad=True)
    loss = L.fastvsod_temporal_loss(out, g, alpha=a)
    assert loss.item() == pytest.approx(4 * one, rel=1e-5)
    loss.backward()
    assert p2t.grad is None  # P_2^t is the (detached) teacher of frame t+t0
    assert out["P3"].grad.abs().sum() > 0


def test_target_shape_errors():
    with pytest.raises(ValueError):
        L.normalized_l2(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 4))
    assert L.normalized_l2(torch.zeros(2, 4, 4), torch.full((2, 4, 4), 0.5)).item() == pytest.approx(0.0)
