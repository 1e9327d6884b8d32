"""Losses of the three papers, one function per equation.

Conventions (all functions):
* Predictions are **logits** (N, 1, h, w) (or (N, h, w)); targets are maps in [0, 1] of the same
  shape, or larger, in which case they are reduced to the prediction's size with area averaging
  (the resolution reduction R of skd eq. 1-4).
* The L2 losses (skd, uvanet) compare ``sigmoid(logits)`` with the target: both are maps in [0, 1].
  (1/(w*h)) * ||S - T||^2 is computed per image and averaged over the batch, i.e. the mean of the
  squared error over all pixels.
* Teacher targets (soft labels) are always detached: gradients flow only into the student.
* Ground-truth targets are never differentiated either (they are data).
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F

__all__ = [
    "reduce_to",
    "normalized_l2",
    "skd_soft_loss",
    "skd_hard_loss",
    "skd_student_loss",
    "frame_mu",
    "distillation_terms",
    "skd_st_loss",
    "uva_spatial_loss",
    "uva_temporal_loss",
    "uva_coupled_loss",
    "uva_st_loss",
    "bce",
    "fastvsod_spatial_loss",
    "fastvsod_temporal_loss",
]


def _as4d(t: torch.Tensor, what: str) -> torch.Tensor:
    if t.dim() == 3:
        t = t.unsqueeze(1)
    if t.dim() != 4 or t.shape[1] != 1:
        raise ValueError(f"{what}: expected shape (N, 1, H, W) or (N, H, W), got {tuple(t.shape)}")
    return t


def reduce_to(target: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """R(.) of skd eq. 1-4: area-average ``target`` down to ``like``'s spatial size (no-op if equal).

    Upsampling a target is refused (ValueError): a target smaller than the prediction is a bug.
    """
    target = _as4d(target, "target")
    h, w = like.shape[-2:]
    th, tw = target.shape[-2:]
    if (th, tw) == (h, w):
        return target
    if th < h or tw < w:
        raise ValueError(f"target {th}x{tw} is smaller than the prediction {h}x{w}")
    return F.interpolate(target.float(), size=(h, w), mode="area").to(target.dtype)


def _prep(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    logits = _as4d(logits, "logits")
    target = reduce_to(target.detach(), logits)
    if target.shape[0] != logits.shape[0]:
        raise ValueError(f"batch size mismatch: logits {tuple(logits.shape)}, target {tuple(target.shape)}")
    return logits, target.to(logits.dtype)


def normalized_l2(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(1/(w*h)) * ||sigmoid(S) - R(T)||_2^2 per image, averaged over the batch (skd eq. 3-4)."""
    logits, target = _prep(logits, target)
    return ((torch.sigmoid(logits) - target) ** 2).mean()


def skd_soft_loss(logits: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """skd eq. 3: L_soft(S, T) = 1/(w*h) * ||S - R(T)||_2^2 (teacher map detached, area-reduced)."""
    return normalized_l2(logits, teacher)


def skd_hard_loss(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """skd eq. 4: L_hard(S, Y) = 1/(w*h) * ||S - R(Y)||_2^2."""
    return normalized_l2(logits, gt)


def frame_mu(mu: float, has_label: torch.Tensor, n: int) -> torch.Tensor:
    """The per-frame mu of skd eq. 1-2 / uvanet eq. 5-6 when some frames have no ground truth: ``mu`` where
    frame i has its label (``has_label[i]`` true), 1 where only the teacher labels it (its hard term is off).
    Returns a float32 tensor (n,)."""
    has = has_label.reshape(-1).to(torch.bool)
    if has.numel() != n:
        raise ValueError(f"has_label has {has.numel()} entries for a batch of {n} frames")
    return torch.where(has, torch.full_like(has, float(mu), dtype=torch.float32),
                       torch.ones_like(has, dtype=torch.float32))


def distillation_terms(logits: torch.Tensor, teacher: torch.Tensor, gt: torch.Tensor, mu: float,
                       has_label: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per frame i of a batch: ``soft`` = L_soft(S_i, R(T_i)) (skd eq. 3), ``hard`` = L_hard(S_i, R(Y_i))
    (skd eq. 4) and ``mu`` (:func:`frame_mu`), each (N,); the loss of frame i is
    ``mu_i * soft_i + (1 - mu_i) * hard_i`` (skd eq. 1-2, uvanet eq. 5-6), so a frame without ground
    truth (mu_i = 1) learns from its teacher alone and its (zero) label has no effect."""
    logits, teacher = _prep(logits, teacher)
    _, gt = _prep(logits, gt)
    p = torch.sigmoid(logits)
    soft = ((p - teacher) ** 2).mean(dim=(1, 2, 3))
    hard = ((p - gt) ** 2).mean(dim=(1, 2, 3))
    return {"soft": soft, "hard": hard, "mu": frame_mu(mu, has_label, logits.shape[0]).to(soft.device, soft.dtype)}


def _mixed_loss(logits: torch.Tensor, teacher: torch.Tensor, gt: torch.Tensor, mu: float,
                has_label: torch.Tensor | None) -> torch.Tensor:
    """mu * L_soft + (1 - mu) * L_hard over a batch; with ``has_label``, per frame (:func:`distillation_terms`),
    averaged over the batch (equal to the batch formula when every frame is labelled)."""
    if has_label is None:
        return mu * normalized_l2(logits, teacher) + (1.0 - mu) * normalized_l2(logits, gt)
    t = distillation_terms(logits, teacher, gt, mu, has_label)
    return (t["mu"] * t["soft"] + (1.0 - t["mu"]) * t["hard"]).mean()


def skd_student_loss(logits: torch.Tensor, teacher: torch.Tensor, gt: torch.Tensor, mu: float = 0.5,
                     has_label: torch.Tensor | None = None) -> torch.Tensor:
    """skd eq. 1 (spatial) / eq. 2 (temporal): L = mu * L_soft(S, R(T)) + (1 - mu) * L_hard(S, R(Y)).

    mu = 0.5 in the paper (Fig. 8 sweeps it over [0, 1]). ``has_label`` (N,): frames whose ground truth
    exists; the others (teacher-labelled unlabeled video) take mu = 1 (:func:`distillation_terms`).
    """
    return _mixed_loss(logits, teacher, gt, mu, has_label)


def skd_st_loss(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """skd eq. 5: L_st = L_hard(S_st(I_n, I_{n+1}), Y_n) (hard loss only)."""
    return skd_hard_loss(logits, gt)


def uva_spatial_loss(spatial_logits: torch.Tensor, teacher_spa: torch.Tensor, gt: torch.Tensor,
                     mu: float = 0.5, has_label: torch.Tensor | None = None) -> torch.Tensor:
    """uvanet eq. 5: L_spa = (1 - mu) * L_hard(S_spa, Y_t) + mu * L_soft(S_spa, T_spa(I_t)); l2 losses.
    ``has_label``: as :func:`skd_student_loss` (mu = 1 on frames without ground truth)."""
    return _mixed_loss(spatial_logits, teacher_spa, gt, mu, has_label)


def uva_temporal_loss(temporal_logits: torch.Tensor, teacher_tem: torch.Tensor, gt: torch.Tensor,
                      mu: float = 0.5, has_label: torch.Tensor | None = None) -> torch.Tensor:
    """uvanet eq. 6: L_tem = (1 - mu) * L_hard(S_tem, Y_t) + mu * L_soft(S_tem, T_tem(I_t, I_{t+1}));
    ``has_label`` as in :func:`uva_spatial_loss`."""
    return _mixed_loss(temporal_logits, teacher_tem, gt, mu, has_label)


def uva_coupled_loss(outputs: tuple[torch.Tensor, torch.Tensor], teacher_spa: torch.Tensor,
                     teacher_tem: torch.Tensor, gt: torch.Tensor, mu: float = 0.5,
                     has_label: torch.Tensor | None = None) -> torch.Tensor:
    """Coupled KD of uvanet: L_spa (eq. 5) + L_tem (eq. 6), for ``outputs = uva_student(x_t, x_next)``.

    Choice (paper: "optimizing spatial loss and temporal loss"): the two are summed with equal weight.
    ``has_label``: frames without ground truth take mu = 1 in both (teacher-labelled unlabeled video).
    """
    s, t = outputs
    return (uva_spatial_loss(s, teacher_spa, gt, mu, has_label)
            + uva_temporal_loss(t, teacher_tem, gt, mu, has_label))


def uva_st_loss(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """uvanet eq. 8: L_sp = L_hard(S_sp(I_t, I_{t+1}), Y_t)."""
    return normalized_l2(logits, gt)


def bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sigmoid cross entropy (L_g / L_d of fastvsod eq. 3), mean over pixels and batch; ``target``
    is a map in [0, 1] (a binary mask or a soft prediction), detached."""
    logits, target = _prep(logits, target)
    return F.binary_cross_entropy_with_logits(logits, target)


def fastvsod_spatial_loss(out: Mapping[str, torch.Tensor], gt: torch.Tensor, alpha: float = 0.7,
                          detach_teacher: bool = True) -> torch.Tensor:
    """fastvsod eq. 3: L_s = sum_{i=0..2} L_g(P_i, G) + alpha * sum_{i=0..1} L_d(P_i, P_2).

    ``out`` is ``fastvsod.forward_train(x)`` (keys "P0", "P1", "P2", logits). L_d is the sigmoid
    cross entropy against sigmoid(P2). Choice: P2 acts as the teacher ("the deepest section as the
    teacher", self-distillation), so it is detached in L_d (``detach_teacher=True``): L_d does not
    push P2 towards the shallow predictions; P2 still receives gradient from L_g(P2, G).
    alpha = 0.7 in the paper (Fig. 7).
    """
    p2 = out["P2"]
    teacher = torch.sigmoid(p2.detach() if detach_teacher else p2)
    lg = sum(bce(out[f"P{i}"], gt) for i in range(3))
    ld = sum(F.binary_cross_entropy_with_logits(out[f"P{i}"], upsize_like(teacher, out[f"P{i}"])) for i in range(2))
    return lg + alpha * ld


def upsize_like(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of a probability map to ``like``'s size (no-op when equal; forward_train
    returns all P_i at input resolution, so this is normally a no-op)."""
    if t.shape[-2:] == like.shape[-2:]:
        return t
    return F.interpolate(t, size=like.shape[-2:], mode="bilinear", align_corners=False)


def fastvsod_temporal_loss(out: Mapping[str, torch.Tensor], gt_next: torch.Tensor, alpha: float = 0.7,
                           detach_teacher: bool = True) -> torch.Tensor:
    """fastvsod eq. 4 / eq. 6, temporal distillation for a frame pair (t, t+t0):

    L_t = sum_i L_g(P_i^{t+t0}, G) + alpha * sum_i L_d(P_i^{t+t0}, P_2^t),
    i = 0..2 (eq. 4, no inter-frame encoder) or i = 0..3 (eq. 6, when ``out`` has "P3").

    ``out`` is ``fastvsod.forward_train(x_t, x_next)``: "P0_next".."P2_next" are P_i^{t+t0}, "P3" is
    P_3^{t+t0} of the inter-frame encoder, "P2" is P_2^t (the teacher, detached by default).
    Choice (the paper writes only "G"): ``gt_next`` is the ground truth of frame t+t0, the frame the
    P_i^{t+t0} predict. The full stage-2 objective of the paper is
    ``fastvsod_spatial_loss(out, gt_t) + fastvsod_temporal_loss(out, gt_next)``.
    """
    p2 = out["P2"]
    teacher = torch.sigmoid(p2.detach() if detach_teacher else p2)
    keys = [f"P{i}_next" for i in range(3)] + (["P3"] if "P3" in out else [])
    lg = sum(bce(out[k], gt_next) for k in keys)
    ld = sum(F.binary_cross_entropy_with_logits(out[k], upsize_like(teacher, out[k])) for k in keys)
    return lg + alpha * ld
