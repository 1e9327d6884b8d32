"""Loading models back from run folders and user checkpoints.

A run folder holds ``config.json`` with ``"model": {"name": str, "kwargs": dict}`` and
``checkpoint.pt`` (a dict with "model": state_dict, plus optimizer etc.), optionally ``best.pt``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

from .registry import build

__all__ = ["from_run", "load_teacher", "load_state_checked", "read_state_dict"]


def _strip_prefix(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop a "module." (DDP) or "_orig_mod." (torch.compile) prefix common to all keys."""
    out = dict(sd)
    for prefix in ("module.", "_orig_mod."):
        if out and all(k.startswith(prefix) for k in out):
            out = {k[len(prefix):]: v for k, v in out.items()}
    return out


def load_state_checked(model: nn.Module, state: Mapping[str, torch.Tensor], source: str = "checkpoint",
                       arch: str | None = None) -> nn.Module:
    """Load ``state`` strictly; on any mismatch raise ValueError listing missing, unexpected and
    shape-mismatched keys (at most 10 of each shown) and naming the model (or ``arch``)."""
    state = _strip_prefix(state)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shape = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
             for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shape:
        name = arch or getattr(model, "salkd_spec", {}).get("name", type(model).__name__)

        def fmt(title: str, items: list[str]) -> str:
            if not items:
                return ""
            more = f" ... (+{len(items) - 10} more)" if len(items) > 10 else ""
            return f"\n  {title} ({len(items)}): " + ", ".join(items[:10]) + more

        kw = "" if arch else f" (kwargs {getattr(model, 'salkd_spec', {}).get('kwargs', {})})"
        raise ValueError(
            f"{source} does not match architecture {name!r}{kw}:"
            + fmt("missing keys", missing) + fmt("unexpected keys", unexpected) + fmt("shape mismatches", shape)
        )
    model.load_state_dict(state, strict=True)
    return model


def read_state_dict(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Read a checkpoint file: a bare state_dict or a dict with a "model" (or "state_dict") entry."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {p} does not exist")
    try:
        obj = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # a text file, a truncated download, a pickle of arbitrary objects
        raise ValueError(f"{p} is not a readable PyTorch checkpoint ({type(exc).__name__}: "
                         f"{str(exc).strip().splitlines()[0][:120] if str(exc).strip() else 'no details'}); "
                         f"give a .pt / .pth file saved with torch.save") from exc
    if isinstance(obj, dict):
        for key in ("model", "state_dict"):
            if key in obj and isinstance(obj[key], dict):
                return obj[key]
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise ValueError(f"{path}: not a state_dict nor a dict with a 'model' state_dict")


def _run_config(run: Path) -> dict[str, Any]:
    cfg_path = run / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{run}: no config.json (not a run folder)")
    cfg = json.loads(cfg_path.read_text())
    model = cfg.get("model")
    if not isinstance(model, dict) or "name" not in model:
        raise ValueError(f"{cfg_path}: missing 'model': {{'name': ..., 'kwargs': ...}}")
    return model


def from_run(path: str | os.PathLike, which: str = "best", map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model of a run folder and load its weights; returns it in eval mode.

    ``which="best"`` loads best.pt if present else checkpoint.pt; ``which="last"`` (or
    "checkpoint") loads checkpoint.pt. Raises FileNotFoundError if the weights file is missing.
    """
    run = Path(path)
    spec = _run_config(run)
    if which == "best":
        ckpt = run / "best.pt" if (run / "best.pt").is_file() else run / "checkpoint.pt"
    elif which in ("last", "checkpoint"):
        ckpt = run / "checkpoint.pt"
    else:
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    if not ckpt.is_file():
        raise FileNotFoundError(f"{run}: no {ckpt.name} (and no best.pt)")
    model = build(spec["name"], **spec.get("kwargs", {}))
    load_state_checked(model, read_state_dict(ckpt, map_location), source=str(ckpt))
    return model.to(map_location).eval()


def load_for_inference(run: str | os.PathLike, which: str = "best",
                       map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any], tuple[int, int]]:
    """The one loading path for inference: ``(model, config, (h, w))`` of a run folder.

    The model is rebuilt from ``config.json``, loaded with its best weights (:func:`from_run`), put in
    its test-time form (``deploy()``) and in eval mode; ``(h, w)`` is the run's input resolution. The
    run of a published teacher (``config["pretrained"]``) loads its released weights instead.
    """
    from salkd.sizes import as_size

    run = Path(run)
    cfg = json.loads((run / "config.json").read_text())
    if cfg.get("pretrained"):  # a published teacher's run: its released weights (salkd.models.pretrained)
        import salkd.models.pretrained as pretrained

        return pretrained.load(str(cfg["pretrained"]), cfg.get("weights"), map_location=str(map_location)), cfg, \
            as_size(cfg["res"])
    model = from_run(run, which=which, map_location=map_location).deploy().eval()
    return model, cfg, as_size(cfg["res"])


def load_teacher(path: str | os.PathLike, name: str | None = None, map_location: str | torch.device = "cpu",
                 **kw: Any) -> nn.Module:
    """Load a teacher from a run folder or from a user's checkpoint file (eval mode, no grad needed).

    A run folder rebuilds its own architecture (``name``, if given, must agree). A file (bare
    state_dict or dict with "model") needs ``name`` (e.g. "teacher_dva") and the kwargs it was built
    with. A checkpoint of another architecture raises ValueError listing the mismatching keys.
    """
    p = Path(path)
    if p.is_dir():
        spec = _run_config(p)
        if name is not None and name != spec["name"]:
            raise ValueError(f"{p} holds a {spec['name']!r} model, not {name!r}")
        model = from_run(p, map_location=map_location)
    else:
        if not p.is_file():
            raise FileNotFoundError(f"teacher checkpoint {p} does not exist")
        if name is None:
            raise ValueError(f"load_teacher({p}): a checkpoint file needs name=... (e.g. 'teacher_dva')")
        model = build(name, **kw)
        load_state_checked(model, read_state_dict(p, map_location), source=str(p))
        model = model.to(map_location).eval()
    for q in model.parameters():
        q.requires_grad_(False)
    return model
