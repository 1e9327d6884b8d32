"""What a loss closure sees during training: collated batches and the model handle (used by
:class:`salkd.train.Trainer`, re-exported by :mod:`salkd.train`)."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

__all__ = ["collate", "MethodAdapter", "ModelHandle"]


def collate(samples: list[Mapping[str, Any]], device: torch.device) -> dict[str, Any]:
    """Stack a list of dict samples into a batch on ``device``."""
    out: dict[str, Any] = {}
    for key in samples[0]:
        vals = [s[key] for s in samples]
        if isinstance(vals[0], torch.Tensor):
            out[key] = torch.stack(vals).to(device, non_blocking=True)
        elif isinstance(vals[0], np.ndarray):
            out[key] = torch.from_numpy(np.stack(vals)).to(device)
        elif isinstance(vals[0], (int, float, np.integer, np.floating)):
            out[key] = torch.tensor(vals, device=device)
        else:
            out[key] = vals
    return out


class MethodAdapter(nn.Module):
    """Lets DDP wrap calls to ``forward`` *and* ``forward_train`` of the same module."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.inner, method)(*args, **kwargs)


class ModelHandle:
    """What a loss closure receives: ``net(x...)`` and ``net.forward_train(x...)`` work unchanged.

    Calls go through the (optionally DDP-wrapped) adapter so gradient synchronization sees them;
    other attributes are read from the underlying model.
    """

    def __init__(self, model: nn.Module, wrapped: nn.Module, autocast: Callable[[], Any]) -> None:
        self.module = model
        self._wrapped = wrapped
        self._autocast = autocast

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._autocast():
            return self._wrapped("forward", *args, **kwargs)

    def forward_train(self, *args: Any, **kwargs: Any) -> Any:
        with self._autocast():
            return self._wrapped("forward_train", *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)
