"""Model specs of the deployment benchmark: ``"name[k=v,...]"`` parsing, building, default models
and resolutions. Used by :mod:`salkd.bench.models` (which re-exports :func:`parse_model_spec`) and
:mod:`salkd.bench.report`.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import torch
from torch import nn

__all__ = ["parse_model_spec", "build_model", "default_models", "resolutions", "DEFAULT_RES",
           "FASTVSOD_EXTRA_RES"]

DEFAULT_RES = (32, 64, 96, 128, 256)
FASTVSOD_EXTRA_RES = (224, 473)


def parse_model_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name[k=v,k2=v2]"`` -> (name, kwargs); values parsed as JSON when possible, else strings."""
    spec = spec.strip()
    if "[" not in spec:
        return spec, {}
    if not spec.endswith("]"):
        raise ValueError(f"bad model spec {spec!r}: expected name[key=value,...]")
    name, inner = spec[:-1].split("[", 1)
    kw: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in inner.split(","))):
        if "=" not in part:
            raise ValueError(f"bad model spec {spec!r}: {part!r} is not key=value")
        k, v = part.split("=", 1)
        try:
            kw[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            kw[k.strip()] = v.strip()
    return name.strip(), kw


def build_model(spec: str, seed: int) -> nn.Module:
    """The registry model ``spec`` with seeded random weights, deployed, float32, in eval mode."""
    from salkd.models import build

    name, kw = parse_model_spec(spec)
    torch.manual_seed(seed)
    model = build(name, **kw)
    model = model.deploy()
    return model.float().eval()


def default_models() -> list[str]:
    """The deployable models; fastvsod also with its lighter CPU backbone (resnet18)."""
    try:
        from salkd.models import deployable_names

        names = list(deployable_names())
    except ImportError:
        names = ["skd_spatial", "skd_temporal", "skd_st", "uva_st", "fastvsod"]
    out: list[str] = []
    for n in names:
        if n == "fastvsod":
            out.append("fastvsod[backbone=resnet18]")
        out.append(n)
    return out


def resolutions(name: str, res: Sequence[int] | None) -> list[int]:
    """``res`` when given, else :data:`DEFAULT_RES` (plus :data:`FASTVSOD_EXTRA_RES` for fastvsod)."""
    if res:
        return list(res)
    base = list(DEFAULT_RES)
    if parse_model_spec(name)[0] == "fastvsod":
        base += list(FASTVSOD_EXTRA_RES)
    return base
