"""Saliency metrics: SOD (``SODEvaluator``) and fixation prediction (``FixationEvaluator``).

Streaming, batched, torch-vectorized evaluators that accept numpy arrays and CPU/CUDA tensors,
plus pandas tables per video / per dataset. Conventions and their sources are in the docstrings
of ``salkd.metrics.sod``, ``salkd.metrics.fixation`` and ``salkd.metrics.aggregate``.
"""
from __future__ import annotations

from salkd.metrics._input import MetricInputError
from salkd.metrics.aggregate import dataset_table, merge_all, metrics_table
from salkd.metrics.fixation import FIXATION_KEYS, FixationEvaluator, fixation_frame_metrics
from salkd.metrics.sod import SOD_KEYS, SODEvaluator, sod_frame_stats

__all__ = [
    "MetricInputError",
    "SODEvaluator",
    "sod_frame_stats",
    "SOD_KEYS",
    "FixationEvaluator",
    "fixation_frame_metrics",
    "FIXATION_KEYS",
    "metrics_table",
    "dataset_table",
    "merge_all",
]
