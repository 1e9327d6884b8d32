"""Optical flow for the TSNet-style temporal teacher (skd Sec. III-A: T_t sees frame pairs / flow).

``optical_flow(frame_a, frame_b)`` -> (H, W, 2) float32 displacement (dx, dy) in pixels from
frame_a to frame_b, computed on grayscale with OpenCV: DIS (``method="dis"``, preset MEDIUM,
deterministic on one thread) or Farneback (``method="farneback"``, pyr_scale 0.5, 3 levels,
window 15, 3 iterations, poly_n 5, poly_sigma 1.2).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

__all__ = ["optical_flow", "flow_batch"]


def _gray(frame: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError(f"optical_flow: {name} must be a uint8 numpy array, got "
                         f"{getattr(frame, 'dtype', type(frame).__name__)}")
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    raise ValueError(f"optical_flow: {name} must be (H, W, 3) RGB or (H, W) gray, got {frame.shape}")


def optical_flow(frame_a: np.ndarray, frame_b: np.ndarray, method: str = "dis") -> np.ndarray:
    """Dense flow a -> b, (H, W, 2) float32 in pixels: frame_a(y, x) ~ frame_b(y + dy, x + dx)."""
    a, b = _gray(frame_a, "frame_a"), _gray(frame_b, "frame_b")
    if a.shape != b.shape:
        raise ValueError(f"optical_flow: frames differ in size {a.shape} vs {b.shape}")
    if method == "dis":
        prev = cv2.getNumThreads()
        cv2.setNumThreads(1)  # deterministic result
        try:
            dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
            flow = dis.calc(a, b, None)
        finally:
            cv2.setNumThreads(prev)
    elif method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    else:
        raise ValueError(f"optical_flow: method must be 'dis' or 'farneback', got {method!r}")
    return np.ascontiguousarray(flow, dtype=np.float32)


def flow_batch(frames_a: torch.Tensor, frames_b: torch.Tensor, method: str = "dis") -> torch.Tensor:
    """Flow for a batch of NCHW float frames in [0, 1] -> (N, 2, H, W) float32 tensor in pixels
    (the input format of ``TSNetTeacher``), on the frames' device."""
    def to_u8(t: torch.Tensor) -> np.ndarray:
        return (t.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)

    flows = [optical_flow(to_u8(a), to_u8(b), method) for a, b in zip(frames_a, frames_b)]
    return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).contiguous().to(frames_a.device)
