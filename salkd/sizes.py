"""One normalization of a resolution argument: an int side or an ``[h, w]`` pair."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_size"]


def as_size(res: Any) -> tuple[int, int]:
    """``(h, w)`` of ``res``: an int (square), a ``[h, w]`` / ``(h, w)`` pair or a ``"HxW"`` string.

    Raises ValueError for anything else or a side that is not positive.
    """
    if isinstance(res, (int, np.integer)) and not isinstance(res, bool):
        h = w = int(res)
    elif isinstance(res, str) and "x" in res:
        h, w = (int(p) for p in res.lower().split("x", 1))
    elif isinstance(res, (list, tuple)) and len(res) == 2:
        h, w = (int(r) for r in res)
    else:
        raise ValueError(f"a resolution is an int or an (h, w) pair, got {res!r}")
    if h <= 0 or w <= 0:
        raise ValueError(f"a resolution must be positive, got {res!r}")
    return h, w
