"""Model registry: ``build(name, **kw)``, ``names()``, ``deployable_names()``.

``build`` stores ``model.salkd_spec = {"name": name, "kwargs": kw}`` (JSON-serializable kwargs) so a
run folder's ``config.json`` can rebuild the model (see ``checkpoints.from_run``).
"""
from __future__ import annotations

import json
from typing import Any, Callable

import torch.nn as nn

__all__ = ["build", "names", "deployable_names", "register", "DEPLOYABLE"]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}

#: models the deployment benchmark measures (the papers' final, test-time networks)
DEPLOYABLE: tuple[str, ...] = ("skd_spatial", "skd_temporal", "skd_st", "uva_st", "fastvsod")


def register(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register a factory under ``name``."""

    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY[name] = fn
        return fn

    return deco


def _lazy(module: str, attr: str, **fixed: Any) -> Callable[..., nn.Module]:
    """Factory importing ``salkd.models.<module>.<attr>`` on first use (keeps import time small)."""

    def make(**kw: Any) -> nn.Module:
        import importlib

        cls = getattr(importlib.import_module(f"salkd.models.{module}"), attr)
        return cls(**fixed, **kw)

    return make


_BUILTINS_DONE = False


def _populate() -> None:
    global _BUILTINS_DONE
    if _BUILTINS_DONE:
        return
    _BUILTINS_DONE = True
    builtin: dict[str, Callable[..., nn.Module]] = {
        "skd_spatial": _lazy("skd", "SKDStudent", temporal=False),
        "skd_temporal": _lazy("skd", "SKDStudent", temporal=True),
        "skd_st": _lazy("skd", "SKDSpatiotemporal"),
        "uva_student": _lazy("uvanet", "UVAStudent"),
        "uva_st": _lazy("uvanet", "UVASpatiotemporal"),
        "fastvsod": _lazy("fastvsod", "FastVSOD"),
        "teacher_dva": _lazy("teachers", "DVATeacher"),
        "teacher_salnet": _lazy("teachers", "SalNetTeacher"),
        "teacher_ssnet": _lazy("teachers", "SSNetTeacher"),
        "teacher_tsnet": _lazy("teachers", "TSNetTeacher"),
    }
    for k, v in builtin.items():
        _REGISTRY.setdefault(k, v)


def names() -> list[str]:
    """All registered model names, sorted."""
    _populate()
    return sorted(_REGISTRY)


def deployable_names() -> list[str]:
    """Names of the test-time networks the benchmark measures (skd students/S_st, uva_st, fastvsod)."""
    return list(DEPLOYABLE)


def build(name: str, **kw: Any) -> nn.Module:
    """Build model ``name`` with keyword arguments ``kw``; sets ``model.salkd_spec``.

    Raises ValueError for an unknown name, non-JSON kwargs or kwargs the model does not take.
    """
    _populate()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(names())}")
    try:
        json.dumps(kw)
    except TypeError as e:
        raise ValueError(f"build({name!r}): kwargs must be JSON-serializable: {e}") from None
    try:
        model = _REGISTRY[name](**kw)
    except TypeError as e:
        raise ValueError(f"build({name!r}, **{kw}): {e}") from None
    model.salkd_spec = {"name": name, "kwargs": dict(kw)}
    model.deployable = name in DEPLOYABLE
    return model
