"""Static int8 post-training quantization through ONNX Runtime (the ``ort_int8`` runtime).

:func:`quantize_int8` turns an fp32 ONNX file written by :func:`salkd.export.export_onnx` into a QDQ
graph: weights int8 *per output channel*, activations uint8 per tensor (U8S8, what ONNX Runtime's CPU
kernels run best), activation ranges calibrated (MinMax) on the frames it is given. The graph is first
pre-processed (shape inference + fp32 graph optimization, ``quant_pre_process``) as ONNX Runtime
recommends. On CPUs without int8 dot-product instructions (VNNI / AMX-int8) the weights use 7 bits
(``reduce_range``) to avoid the u8 x s8 saturation of the AVX2 kernels.

Quantization error depends on the weights and on the input distribution: calibrate on real frames of
the data the model was trained on and check the accuracy on held-apart frames
(:mod:`salkd.bench.trained`); calibration on synthetic frames only serves speed measurements.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = ["CalibrationFrames", "quantize_int8"]

Batch = tuple[np.ndarray, ...]


class CalibrationFrames:
    """An ``onnxruntime.quantization.CalibrationDataReader``: yields ``{input name: batch}`` feeds.

    ``batches``: a sequence of input tuples (one float32 NCHW array per graph input, in graph order).
    Subclasses ``CalibrationDataReader`` at construction time so that importing this module does not
    import onnxruntime.
    """

    def __init__(self, names: Sequence[str], batches: Sequence[Batch]) -> None:
        if not batches:
            raise ValueError("calibration needs at least one batch of frames")
        for b in batches:
            if len(b) != len(names):
                raise ValueError(f"calibration batch has {len(b)} arrays but the graph has inputs {list(names)}")
        self.names = list(names)
        self.batches = [tuple(np.ascontiguousarray(a, dtype=np.float32) for a in b) for b in batches]
        self._it: Iterator[Batch] = iter(self.batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        nxt = next(self._it, None)
        return None if nxt is None else dict(zip(self.names, nxt))

    def rewind(self) -> None:
        self._it = iter(self.batches)

    def frames(self) -> int:
        """Number of calibration frames."""
        return sum(int(b[0].shape[0]) for b in self.batches)


def _reader(names: Sequence[str], batches: Sequence[Batch]) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationFrames, CalibrationDataReader):
        pass

    return _Reader(names, batches)


def quantize_int8(fp32_path: str | os.PathLike, out: str | os.PathLike, calibration: Sequence[Batch], *,
                  reduce_range: bool | None = None, calibrate_method: str = "minmax") -> dict[str, Any]:
    """Write the static-int8 QDQ version of ``fp32_path`` to ``out``; returns what was done.

    ``calibration``: input tuples of real frames (float32 NCHW in [0, 1], as the model takes them).
    ``reduce_range``: 7-bit weights (None: only on CPUs without VNNI / AMX-int8). ``calibrate_method``:
    ``"minmax"`` (default), ``"percentile"`` or ``"entropy"``. Returns ``{"path", "calibration_frames",
    "per_channel", "reduce_range", "preprocessed", "calibrate_method"}``.
    """
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    if calibrate_method not in methods:
        raise ValueError(f"calibrate_method must be one of {sorted(methods)}, got {calibrate_method!r}")
    if reduce_range is None:
        from salkd.bench.machine import cpu_info, has_int8_dot

        reduce_range = not has_int8_dot(cpu_info())
    fp32_path, out = Path(fp32_path), Path(out)
    names = [i.name for i in ort.InferenceSession(str(fp32_path), providers=["CPUExecutionProvider"]).get_inputs()]
    reader = _reader(names, calibration)
    work = Path(tempfile.mkdtemp(prefix="salkd-int8-"))
    try:
        pre = work / "pre.onnx"
        try:
            quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=False)
            preprocessed = True
        except Exception:  # pre-processing is an optimization; quantize the exported graph as it is
            shutil.copyfile(fp32_path, pre)
            preprocessed = False
        out.parent.mkdir(parents=True, exist_ok=True)
        quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=bool(reduce_range), activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=methods[calibrate_method],
                        extra_options={"CalibTensorRangeSymmetric": False})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"path": str(out), "calibration_frames": reader.frames(), "per_channel": True,
            "reduce_range": bool(reduce_range), "preprocessed": preprocessed, "calibrate_method": calibrate_method}
