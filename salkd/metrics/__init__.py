"""Saliency metrics: SOD (``SODEvaluator``) and fixation prediction (``FixationEvaluator``).

Streaming, batched, torch-vectorized evaluators that accept numpy arrays and CPU/CUDA tensors.
Conventions and their sources are in the docstrings of ``sod`` and ``fixation``.
"""
from __future__ import annotations

from salkd.metrics._input import MetricInputError
from salkd.metrics.sod import SOD_KEYS, SODEvaluator, sod_frame_stats

__all__ = ["MetricInputError", "SODEvaluator", "sod_frame_stats", "SOD_KEYS"]

try:  # filled in as the other modules land
    from salkd.metrics.fixation import FIXATION_KEYS, FixationEvaluator, fixation_frame_metrics  # noqa: F401

    __all__ += ["FixationEvaluator", "fixation_frame_metrics", "FIXATION_KEYS"]
except ImportError:  # pragma: no cover
    pass
try:
    from salkd.metrics.aggregate import metrics_table  # noqa: F401

    __all__ += ["metrics_table"]
except ImportError:  # pragma: no cover
    pass
