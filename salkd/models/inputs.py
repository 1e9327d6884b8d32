"""Example inputs for any salkd model: the input channels of each tensor and structured random frames.

Shared by the ONNX export (:mod:`salkd.export`, traced on and checked against these inputs) and the
runtime benchmark (:mod:`salkd.bench.runtime`), so neither imports the other for them.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["input_channels", "example_inputs"]


def input_channels(model: nn.Module) -> tuple[int, ...]:
    """Channels of each input tensor: ``model.in_channels`` if set, else from ``model.input_kind``.

    "frame" -> (3,), "pair" -> (3, 3) (frames t and t+1), "flow" -> (3, 2) (frame and optical flow).
    """
    given = getattr(model, "in_channels", None)
    if isinstance(given, int):
        return (given,)
    if isinstance(given, (tuple, list)) and given:
        return tuple(int(c) for c in given)
    kind = getattr(model, "input_kind", "frame")
    table = {"frame": (3,), "pair": (3, 3), "flow": (3, 2)}
    if kind not in table:
        raise ValueError(f"model.input_kind must be one of {sorted(table)}, got {kind!r}")
    return table[kind]


def _smooth_noise(gen: torch.Generator, n: int, c: int, res: int, cells: int) -> torch.Tensor:
    coarse = torch.rand(n, c, cells, cells, generator=gen)
    return torch.nn.functional.interpolate(coarse, size=(res, res), mode="bicubic", align_corners=False)


def example_inputs(model: nn.Module, res: int, batch: int = 1, *, seed: int = 0,
                   device: str | torch.device = "cpu") -> tuple[torch.Tensor, ...]:
    """Random but structured inputs for ``model``: textured frames with bright moving blobs.

    Frame t = smooth colour noise (low and mid frequencies) + 1-3 Gaussian blobs; frame t+1 is
    the same scene with the blobs moved by up to 3 pixels; a "flow" input is the blobs' motion
    (2 channels, pixels). Values in [0, 1], float32, NCHW, deterministic for a given ``seed``.
    """
    if res <= 0 or batch <= 0:
        raise ValueError(f"example_inputs: res and batch must be positive, got res={res}, batch={batch}")
    gen = torch.Generator().manual_seed(seed)
    chans = input_channels(model)
    bg = 0.5 * _smooth_noise(gen, batch, 3, res, 4) + 0.2 * _smooth_noise(gen, batch, 3, res, max(4, res // 8))
    yy, xx = torch.meshgrid(torch.arange(res, dtype=torch.float32), torch.arange(res, dtype=torch.float32),
                            indexing="ij")
    frames = [bg.clone(), bg.clone()]
    flow = torch.zeros(batch, 2, res, res)
    n_blobs = 3
    for b in range(batch):
        for k in range(int(torch.randint(1, n_blobs + 1, (1,), generator=gen))):
            cy, cx = (torch.rand(2, generator=gen) * 0.6 + 0.2) * res
            sigma = float(torch.rand(1, generator=gen) * 0.08 + 0.04) * res
            colour = torch.rand(3, 1, 1, generator=gen)
            dy, dx = (torch.randint(-3, 4, (2,), generator=gen)).float()
            for i, (oy, ox) in enumerate(((0.0, 0.0), (dy, dx))):
                blob = torch.exp(-((yy - cy - oy) ** 2 + (xx - cx - ox) ** 2) / (2 * sigma**2))
                frames[i][b] = frames[i][b] * (1 - blob) + colour * blob
            mask = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)) > 0.5
            flow[b, 0][mask] = dx
            flow[b, 1][mask] = dy
    frames = [f.clamp(0, 1) for f in frames]
    out: list[torch.Tensor] = []
    for i, c in enumerate(chans):
        if i == 0:
            t = frames[0]
        elif c == 2:
            t = flow
        else:
            t = frames[min(i, 1)]
        if t.shape[1] != c:
            t = t[:, :1].expand(-1, c, -1, -1).contiguous() if t.shape[1] < c else t[:, :c].contiguous()
        out.append(t.to(device).contiguous())
    return tuple(out)
