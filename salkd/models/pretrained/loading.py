"""Reading the authors' released checkpoint files safely, with clear errors.

* ``read_torch_checkpoint``: ``torch.load(..., weights_only=True)`` on CPU; a file that is not a
  torch checkpoint (truncated, HTML error page, another format) raises :class:`WeightsFileError`
  naming the file instead of a pickle traceback.
* ``read_channel_config``: CSNet's ``.bin`` is a plain pickle of numpy arrays; it is read with a
  restricted unpickler that only resolves numpy's array-reconstruction names.
* ``load_state``: copies a state_dict into a model, reporting missing / unexpected keys and
  refusing any shape mismatch with an error naming the key.
"""
from __future__ import annotations

import io
import os
import pickle
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn as nn

__all__ = ["WeightsFileError", "StateDictMismatch", "read_torch_checkpoint", "read_channel_config",
           "load_state"]


class WeightsFileError(ValueError):
    """A weights file that cannot be read as what it should be (wrong or corrupt file)."""


class StateDictMismatch(ValueError):
    """A checkpoint whose keys or shapes do not fit the architecture."""


def read_torch_checkpoint(path: str | os.PathLike, key: str | None = None) -> dict[str, torch.Tensor]:
    """Read a torch checkpoint on CPU with ``weights_only=True`` and return its state_dict.

    ``key`` selects the entry holding the state_dict (``"state_dict"`` for CSNet, ``"student_model"``
    for TinyHD); ``None`` expects a bare state_dict.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"weights file {p} does not exist")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle / zip / EOF / weights_only errors all mean: not this file
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise WeightsFileError(
            f"{p}: not a readable torch checkpoint ({type(exc).__name__}: {reason}); the file is "
            "corrupt, truncated or of another kind; download it again (salkd weights get NAME)") from None
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            found = sorted(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
            raise WeightsFileError(f"{p}: a torch file, but without the {key!r} entry this model needs "
                                   f"(found {found}); wrong checkpoint for this model?")
        obj = obj[key]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsFileError(f"{p}: does not hold a state_dict of tensors")
    return dict(obj)


def _numpy_reconstruct() -> Any:
    try:  # numpy >= 2: the real module is numpy._core (numpy.core warns on access)
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the names numpy needs to rebuild arrays, dtypes and scalars."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        if module == "numpy":
            return getattr(np, name)
        return getattr(_numpy_reconstruct(), name)


def read_channel_config(path: str | os.PathLike) -> list[Any]:
    """Read a CSNet ``.bin`` channel configuration (a pickled list of numpy arrays), safely."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"channel configuration {p} does not exist")
    data = p.read_bytes()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except Exception as exc:
        raise WeightsFileError(f"{p}: not a CSNet channel configuration ({type(exc).__name__}: "
                               f"{str(exc)[:200]}); download it again (salkd weights get NAME)") from None
    if not isinstance(obj, list) or len(obj) != 22:
        raise WeightsFileError(f"{p}: expected a list of 22 channel entries, got "
                               f"{type(obj).__name__} of length {len(obj) if isinstance(obj, list) else '-'}")
    return obj


def _fmt(title: str, items: list[str], limit: int = 10) -> str:
    if not items:
        return ""
    more = f" ... (+{len(items) - limit} more)" if len(items) > limit else ""
    return f"\n  {title} ({len(items)}): " + ", ".join(items[:limit]) + more


def load_state(model: nn.Module, state: Mapping[str, torch.Tensor], source: str, strict: bool = True) -> nn.Module:
    """Copy ``state`` into ``model``.

    A shape mismatch is always refused (``StateDictMismatch`` naming every mismatching key).
    Missing or unexpected keys raise too when ``strict`` (the default); otherwise they are reported
    as a warning and the rest is loaded.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shape = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
             for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    name = type(model).__name__
    if shape or (strict and (missing or unexpected)):
        raise StateDictMismatch(f"{source} does not fit {name}:" + _fmt("shape mismatches", shape)
                                + _fmt("missing keys", missing) + _fmt("unexpected keys", unexpected))
    if missing or unexpected:
        warnings.warn(f"{source} loaded into {name} with" + _fmt("missing keys", missing)
                      + _fmt("unexpected keys", unexpected), stacklevel=2)
    model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    return model
