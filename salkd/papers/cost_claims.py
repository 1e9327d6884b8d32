"""Hardware-free cost rows of skd and uvanet under one definition for student and teacher (issue 22, item 5).

**Activation memory** (:func:`activation_mb`, the one definition every memory row here uses): the peak bytes
of live activation tensors (the inputs included, parameters and buffers excluded) during one batch-1 fp32
forward pass under ``torch.inference_mode`` (:func:`salkd.bench.cost.activation_peak_bytes`), divided by the
number of saliency maps that pass outputs (a clip model such as TinyHD-M gives 16 maps per 16-frame clip, a
student one map per frame pair), each model at the input size it is deployed at (the student at r x r, the
teacher at its own input). Parameters are left out because the papers' footprints scale with the square of
the resolution (skd Table V: 0.14 / 0.58 / 2.31 / 9.24 MB at 32 / 64 / 128 / 256) and sit below the
parameter bytes, i.e. they count activations. 1 MB = 2**20 bytes.

Rows: the memory reduction against the teacher (skd Table I / uvanet Table 1, :func:`memory_reduction_rows`),
memory growing with the pixel count (skd Table V, uvanet Fig. 7, :func:`memory_scaling_row`) and uvanet's
"about one order of magnitude" savings (Introduction, :func:`order_of_magnitude_rows`). These are facts of
the architectures at the stated inputs (random weights: activations and MACs do not depend on them), so
they have no noise; "about one order of magnitude" is read as within half a decade of 10x.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["DEFINITION", "activation_mb", "student_activation_mb", "dense_macs", "memory_reduction_rows",
           "memory_scaling_row", "order_of_magnitude_rows", "ORDER", "TEACHER_RES"]

DEFINITION = ("activation memory = peak live activation bytes (inputs included, parameters excluded) of one batch-1 "
              "fp32 pass, per output map, each model at its deployed input (salkd.papers.cost_claims)")
#: "about one order of magnitude": a ratio within half a decade of 10x
ORDER = (10 ** 0.5, 10 ** 1.5)
#: the input the papers' teachers see (DVA, SalNet, TSNet: 224 x 224 in uvanet Table 1), from which uvanet
#: reduces the input "to 64 x 64"
TEACHER_RES = 224


def activation_mb(model: Any, inputs: tuple[Any, ...], maps_per_pass: int = 1) -> float:
    """Activation memory (the module's definition) of ``model`` on ``inputs``, in MB per output map."""
    from salkd.bench.cost import MB, activation_peak_bytes

    return activation_peak_bytes(model.eval(), inputs) / max(1, int(maps_per_pass)) / MB


def _deployed(name: str) -> Any:
    import torch

    from salkd.models import build

    torch.manual_seed(0)
    return build(name).deploy().eval()


def student_activation_mb(name: str, res: int) -> float:
    """Activation memory of the deployed student ``name`` (e.g. ``uva_st``) at ``res`` x ``res``."""
    from salkd.models.inputs import example_inputs

    net = _deployed(name)
    return activation_mb(net, example_inputs(net, int(res)))


def dense_macs(model: Any, inputs: tuple[Any, ...]) -> tuple[int, int]:
    """(MACs, MACs with every grouped / depth-wise convolution made dense, same channels and kernel) of one
    pass, counted with forward hooks (:func:`salkd.bench.cost.macs_hooks`' formulas)."""
    import torch
    from torch import nn

    total, dense = 0, 0

    def hook(m: nn.Module, inp: tuple[Any, ...], out: Any) -> None:
        nonlocal total, dense
        k = math.prod(m.kernel_size)
        if isinstance(m, nn.modules.conv._ConvTransposeNd):
            per = inp[0].numel() * k
            total += per * (m.out_channels // m.groups)
            dense += per * m.out_channels
        else:
            total += out.numel() * (m.in_channels // m.groups) * k
            dense += out.numel() * m.in_channels * k

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]
    try:
        with torch.inference_mode():
            model(*inputs)
    finally:
        for h in hs:
            h.remove()
    return int(total), int(dense)


def memory_reduction_rows(ctx: Any, paper: str, ref: str, table_key: str, prefix: str, bench_model: str,
                          teacher_mb: float | None, teacher: str) -> list[dict[str, Any]]:
    """"The student at r x r needs far less memory than its teacher" (r = 32, 64): the teacher's activation
    memory over the student's, both by :data:`DEFINITION`; reproduced when ours is at least the paper's ratio
    (DVA* over <prefix>-DVA-r in the paper's Table I / 1, whose footprints the paper does not define)."""
    from salkd.claims import claim_row, missing_claim
    from salkd.papers.numbers import PAPER
    from salkd.verdicts import verdict_at_least

    p1, rows = PAPER[table_key], []
    for r in (32, 64):
        ps, pt = p1[f"{prefix}-DVA-{r}"], p1["DVA*"]
        text = f"the student at {r}x{r} needs far less memory than its teacher"
        paper_ratio = pt["mem_mb"] / ps["mem_mb"]
        pv = f"{paper_ratio:.1f}x less ({ps['mem_mb']} MB vs DVA's {pt['mem_mb']} MB; footprint not defined)"
        if not teacher_mb:
            rows.append(missing_claim(paper, ref, text, "activation memory reduction (x)", pv,
                                      "no teacher run to measure in this profile"))
            continue
        smb = student_activation_mb(bench_model, r)
        ratio = teacher_mb / smb
        rows.append(claim_row(paper, ref, text, "activation memory reduction (x)", pv,
                              f"{ratio:.1f}x less ({smb:.3f} MB vs {teacher}'s {teacher_mb:.3f} MB per output map)",
                              ratio / paper_ratio, None, "model definitions (no data), batch 1, fp32",
                              verdict_at_least(ratio, paper_ratio),
                              f"margin = ours / paper; {DEFINITION}: the student at {r}x{r}, the teacher at its own input "
                              f"and clip; the ratio, not the MB, is compared"))
    return rows


def memory_scaling_row(paper: str, ref: str, bench_model: str, paper_mb: dict[int, float],
                       resolutions: tuple[int, ...]) -> dict[str, Any]:
    """"Activation memory grows with the input's pixel count": the slope of log(memory) on log(resolution)
    of the deployed student over ``resolutions`` against the paper's (``paper_mb``: res -> MB); 2 = in
    proportion to the pixel count. Reproduced when the slopes differ by at most 0.25."""
    from salkd.claims import claim_row
    from salkd.verdicts import NOT_REPRODUCED, REPRODUCED

    def slope(d: dict[int, float]) -> float:
        x, y = np.log([float(k) for k in d]), np.log([float(v) for v in d.values()])
        return float(np.polyfit(x, y, 1)[0])

    ours = {r: student_activation_mb(bench_model, r) for r in resolutions}
    ps, os_ = slope(paper_mb), slope(ours)
    return claim_row(paper, ref, f"{bench_model}: activation memory grows with the input's pixel count ({ref})",
                     "log-log slope of memory on resolution",
                     f"slope {ps:.2f} (" + ", ".join(f"{k}: {v} MB" for k, v in paper_mb.items()) + ")",
                     f"slope {os_:.2f} (" + ", ".join(f"{k}: {v:.3f} MB" for k, v in ours.items()) + ")",
                     os_ - ps, None, "model definition (no data), batch 1, fp32",
                     REPRODUCED if abs(os_ - ps) <= 0.25 else NOT_REPRODUCED,
                     f"reproduced when the slopes differ by at most 0.25 (2 = proportional to the pixel count); {DEFINITION}")


def order_of_magnitude_rows(paper: str = "uvanet", ref: str = "Introduction", model: str = "uva_st") -> list[dict[str, Any]]:
    """uvanet, Introduction: reducing the input "to 64 x 64 ... decreases the computational and memory space
    cost by about one order of magnitude" (from the teachers' :data:`TEACHER_RES`; MACs and activation memory
    of the deployed student at both sizes), and "depth-wise convolutions ... further decrease the
    computational cost by about one order of magnitude" (the same net with its grouped convolutions dense).
    Reproduced when the ratio is within :data:`ORDER`."""
    from salkd.bench.cost import macs_hooks
    from salkd.claims import claim_row
    from salkd.models.inputs import example_inputs
    from salkd.verdicts import NOT_REPRODUCED, REPRODUCED

    net = _deployed(model)
    x64, xt = example_inputs(net, 64), example_inputs(net, TEACHER_RES)

    def row(what: str, metric: str, ratio: float, ours: str, note: str) -> dict[str, Any]:
        v = REPRODUCED if ORDER[0] <= ratio <= ORDER[1] else NOT_REPRODUCED
        return claim_row(paper, ref, f"{what} by about one order of magnitude ({model})", metric, "about 10x", ours,
                         math.log10(ratio), None, "model definition (no data), batch 1, fp32", v,
                         f"margin = log10(ratio); reproduced when the ratio is within {ORDER[0]:.1f}x-{ORDER[1]:.1f}x; "
                         + note)

    m64, mt = macs_hooks(net, x64), macs_hooks(net, xt)
    a64, at = activation_mb(net, x64), activation_mb(net, xt)
    actual, dense = dense_macs(net, x64)
    return [row("reducing the input to 64x64 cuts the MACs", "MACs ratio", mt / m64,
                f"{mt / m64:.1f}x ({mt / 1e6:.1f} M at {TEACHER_RES} vs {m64 / 1e6:.1f} M at 64)",
                f"the same student at the teachers' {TEACHER_RES}x{TEACHER_RES} input and at 64x64"),
            row("reducing the input to 64x64 cuts the activation memory", "activation memory ratio", at / a64,
                f"{at / a64:.1f}x ({at:.3f} MB at {TEACHER_RES} vs {a64:.3f} MB at 64)", DEFINITION),
            row("depth-wise convolutions cut the MACs", "MACs ratio (dense / depth-wise)", dense / actual,
                f"{dense / actual:.1f}x ({dense / 1e6:.1f} M dense vs {actual / 1e6:.1f} M at 64)",
                "the same net at 64x64 with every grouped (depth-wise) convolution made dense, same channels and "
                "kernels (conv and transposed-conv MACs by forward hooks)")]
