"""Published saliency models rebuilt in salkd, loaded with their authors' released weights.

========== ======================================================== ==================== ==============
name       model                                                    input                output
========== ======================================================== ==================== ==============
csnet_x2   CSNet-L-x2 (Gao et al., ECCV 2020), SOD, 140,894 params   [N,3,224,224]        logits [N,1,224,224]
csnet_x1   CSNet-L-x1, 93,647 params                                 [N,3,224,224]        logits [N,1,224,224]
tinyhd_s   TinyHD-S (Hu et al., WACV 2023), fixation, 513,121 params [N,3,16,192,256]     map [N,1,192,256]
tinyhd_m   TinyHD-M, one map per frame, 515,281 params               [N,3,16,192,256]     maps [N,1,16,192,256]
========== ======================================================== ==================== ==============

``load(name)`` finds the weights in ``$SALKD_WEIGHTS`` (default ``.cache/weights``) or in
``../shared/weights`` (``salkd weights get NAME`` downloads them) and returns the model in eval mode.
Every model has ``preprocess(frames)`` (uint8 RGB frames -> input tensor, as the authors' code does
it), ``input_size``, ``clip_len`` and ``describe()``. The outputs equal the authors' code to about
1e-6 (tests/test_pretrained.py).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch.nn as nn

from .csnet import CSNet
from .loading import StateDictMismatch, WeightsFileError, load_state, read_channel_config, read_torch_checkpoint
from .tinyhd import TinyHD, clip_schedule

__all__ = ["load", "build", "names", "CSNet", "TinyHD", "clip_schedule", "WeightsFileError",
           "StateDictMismatch", "WeightsNotFound"]

_NAMES = ("csnet_x2", "csnet_x1", "tinyhd_s", "tinyhd_m")


class WeightsNotFound(FileNotFoundError):
    """The weights of a pretrained model are not where salkd looks for them."""


def names() -> list[str]:
    return list(_NAMES)


def _check_name(name: str) -> None:
    if name not in _NAMES:
        raise KeyError(f"unknown pretrained model {name!r}; known: {', '.join(_NAMES)}")


def _resolve(name: str, path: str | os.PathLike | None) -> Path:
    from salkd import paths, weights

    e = weights.entry(name)
    if path is not None:
        p = Path(path).expanduser()
        if p.is_dir():
            p = p / e.file
        if not p.is_file():
            raise WeightsNotFound(f"{name}: weights file {p} does not exist. Download it with "
                                  f"`salkd weights get {name} --dir DIR` (source: {e.source}).")
        return p
    found = weights.find(name)
    if found is None:
        where = " or ".join(str(d / e.file) for d in (paths.weights_dir(), paths.shared_weights()))
        extra = " (and its .bin beside it)" if len(e.files) > 1 else ""
        raise WeightsNotFound(
            f"{name}: weights not found. Put {e.file}{extra} at {where}, or run `salkd weights get {name}` "
            f"(downloads from {e.source}; license: {e.license}). Set SALKD_WEIGHTS to use another folder.")
    return found


def build(name: str, config_path: str | os.PathLike | None = None) -> nn.Module:
    """The architecture of ``name`` with random weights (CSNet needs its ``.bin`` channel config)."""
    _check_name(name)
    if name.startswith("csnet"):
        if config_path is None:
            raise ValueError(f"{name}: CSNet's channel configuration (.bin) is needed to build it")
        return CSNet(read_channel_config(config_path), name=name)
    return TinyHD(name[-1], name=name)


def _csnet_bin(ckpt: Path) -> Path:
    n = ckpt.name
    stem = n[: -len(".pth.tar")] if n.endswith(".pth.tar") else ckpt.stem
    return ckpt.with_name(stem + ".bin")


def load(name: str, path: str | os.PathLike | None = None, map_location: str = "cpu") -> nn.Module:
    """Build ``name`` (csnet_x2, csnet_x1, tinyhd_s, tinyhd_m) and load its released weights.

    ``path``: the checkpoint file or a folder laid out like ``shared/weights``; ``None`` searches
    ``$SALKD_WEIGHTS`` (default ``.cache/weights``) then ``../shared/weights``. A CSNet checkpoint
    ``X.pth.tar`` needs its channel configuration ``X.bin`` beside it. Returns the model in eval mode.
    """
    _check_name(name)
    ckpt = _resolve(name, path)
    if name.startswith("csnet"):
        cfg = _csnet_bin(ckpt)
        if not cfg.is_file():
            raise WeightsNotFound(f"{name}: {cfg.name} (the channel configuration) must lie beside {ckpt}; "
                                  f"`salkd weights get {name}` downloads both files")
        model = build(name, cfg)
        state = read_torch_checkpoint(ckpt, "state_dict")
    else:
        model = build(name)
        state = read_torch_checkpoint(ckpt, "student_model")
    load_state(model, state, source=str(ckpt))
    return model.to(map_location).eval()
