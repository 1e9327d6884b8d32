"""numpy -> torch without copies where possible, and without torch's non-writable-array warning."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["from_array"]


def from_array(x: np.ndarray) -> torch.Tensor:
    """``torch.from_numpy`` of a C-contiguous ``x``; a read-only array (a memory-mapped cache, a
    read-only view) is copied first, since torch tensors assume writable memory."""
    x = np.ascontiguousarray(x)
    if not x.flags.writeable:
        x = x.copy()
    return torch.from_numpy(x)
