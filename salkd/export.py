"""ONNX export with a numerical round-trip check in ONNX Runtime.

``export_onnx(model, out, res=64)`` builds the ONNX file in memory, checks it, then writes ``out``
atomically with Python's file API (a failed write is an OSError naming ``out``) and returns a report dict.

Exporter choice: the TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``) is
used first. On torch 2.13 it exports the salkd nets (convs, deconvs, pooling, concat, channel
attention, interpolation) in well under a second, with a dynamic batch axis, and is stable
across runs. The dynamo exporter (the 2.13 default, needs onnxscript) is used as a fallback
(``exporter="dynamo"`` forces it); it is slower and its dynamic-shape handling differs between
torch releases. The exporter used is recorded in the report.

Frame-pair models get two graph inputs ``x_t`` and ``x_next``; frame models one input ``x``;
"flow" models ``x_t`` and ``flow``. The output is ``saliency`` (logits, N x 1 x H x W).
"""
from __future__ import annotations

import copy
import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from salkd.atomic import write_bytes
from salkd.models.inputs import example_inputs

__all__ = ["ExportError", "export_onnx", "onnx_input_names"]


class ExportError(RuntimeError):
    """The ONNX export failed or its outputs differ from PyTorch's beyond tolerance."""


def onnx_input_names(model: nn.Module) -> list[str]:
    """Graph input names for ``model.input_kind``: frame -> [x], pair -> [x_t, x_next], flow -> [x_t, flow]."""
    kind = getattr(model, "input_kind", "frame")
    return {"frame": ["x"], "pair": ["x_t", "x_next"], "flow": ["x_t", "flow"]}.get(kind, ["x"])


def _export(model: nn.Module, args: tuple[torch.Tensor, ...], names: list[str], opset: int | None,
            exporter: str) -> bytes:
    """The serialized ONNX model of ``exporter`` (nothing is written to disk)."""
    dyn = {n: {0: "batch"} for n in names + ["saliency"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            kw: dict[str, Any] = {} if opset is None else {"opset_version": opset}
            buf = io.BytesIO()
            torch.onnx.export(model, args, buf, input_names=names, output_names=["saliency"],
                              dynamic_axes=dyn, dynamo=False, do_constant_folding=True, **kw)
            return buf.getvalue()
        else:
            batch = torch.export.Dim("batch", min=1, max=4096)
            shapes = tuple({0: batch} for _ in names)
            kw = {} if opset is None else {"opset_version": opset}
            prog = torch.onnx.export(model, args, dynamo=True, input_names=names, output_names=["saliency"],
                                     dynamic_shapes=shapes, optimize=True, **kw)
            return prog.model_proto.SerializeToString()


def _verify(data: bytes, args: tuple[torch.Tensor, ...], ref: np.ndarray, atol: float, exporter: str,
            res: int) -> dict[str, Any]:
    """Run the serialized ONNX model in ONNX Runtime and compare with the PyTorch logits ``ref``."""
    import onnx
    import onnxruntime as ort

    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    if len(names) != len(args):
        raise ExportError(f"ONNX graph has inputs {names} but the model takes {len(args)} tensors")
    got = sess.run(None, {n: a.numpy() for n, a in zip(names, args)})[0]
    if got.shape != ref.shape:
        raise ExportError(f"ONNX output shape {got.shape} != PyTorch output shape {ref.shape} ({exporter} exporter)")
    diff = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64))))
    if not np.isfinite(diff) or diff > atol:
        raise ExportError(f"ONNX Runtime output differs from PyTorch by max abs diff {diff:.3g} > atol {atol:g} "
                          f"({exporter} exporter, res {res})")
    proto = onnx.load_from_string(data)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    return {"input_names": names, "max_abs_diff": diff, "opset": opset, "bytes": len(data)}


def export_onnx(model: nn.Module, out: str | os.PathLike, res: int = 64, *, atol: float = 1e-4,
                opset: int | None = None, batch: int = 2, exporter: str = "auto",
                seed: int = 0) -> dict[str, Any]:
    """Export ``model`` (an ``nn.Module`` instance, any device) to ONNX at ``out`` and verify it.

    The graph takes float32 NCHW inputs of size ``res`` x ``res`` with a dynamic batch axis. After
    writing, the file is loaded in ONNX Runtime (CPU) and run on ``batch`` structured random
    inputs; if ``max |onnx - torch|`` of the logits exceeds ``atol`` an :class:`ExportError`
    reports the difference and ``out`` is not written. ``exporter``: "auto" (TorchScript, then
    dynamo), "torchscript" or "dynamo".

    Returns ``{"path", "input_names", "output_names", "res", "opset", "exporter",
    "max_abs_diff", "atol", "bytes"}``.
    """
    if exporter not in {"auto", "torchscript", "dynamo"}:
        raise ValueError(f"exporter must be 'auto', 'torchscript' or 'dynamo', got {exporter!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"export_onnx expects an nn.Module instance, got {type(model).__name__}")
    stride = int(getattr(model, "stride", 1) or 1)
    if res <= 0 or res % stride:
        raise ValueError(f"export_onnx: res must be a positive multiple of the model stride {stride}, got {res}")
    m = copy.deepcopy(model).float().cpu().eval()
    names = onnx_input_names(m)
    args = example_inputs(m, res, batch, seed=seed)
    if len(args) != len(names):
        raise ExportError(f"model takes {len(args)} inputs but input_kind gives names {names}")
    with torch.inference_mode():
        ref = m(*args)  # raises the model's own clear error on a bad configuration
    if not isinstance(ref, torch.Tensor):
        raise ExportError(f"export_onnx expects a single logits tensor output, got {type(ref).__name__}")
    ref_np = ref.float().numpy()
    order = ["torchscript", "dynamo"] if exporter == "auto" else [exporter]
    errors: list[str] = []
    out = Path(out)
    for name in order:
        try:
            data = _export(m, args, names, opset, name)
        except Exception as e:  # the next exporter is tried
            msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
            errors.append(f"{name}: {type(e).__name__}: {msg}")
            continue
        report = _verify(data, args, ref_np, atol, name, res)
        write_bytes(out, data)
        report.update({"path": str(out), "output_names": ["saliency"], "res": res, "exporter": name,
                       "atol": atol})
        return report
    raise ExportError("ONNX export failed: " + "; ".join(errors))
