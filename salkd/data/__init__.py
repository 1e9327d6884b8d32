"""Data layer: dataset readers, synthetic generator, low-res cache and torch sample datasets.

* :func:`open_dataset` (``layouts``): DAVIS-2016, VSOD-toolkit, DHF1K/UCF/AVS1K, generic, SOD and
  unlabeled layouts -> :class:`VideoDataset` of :class:`Video` (lazy, file-level readers).
* :func:`make_dataset` / :func:`render_video` (``synthetic``): the embedded synthetic data.
* :func:`reduce` = the papers' resolution reduction R; :func:`cache_lowres` -> :class:`LowResCache`.
* :class:`FrameDataset`, :class:`FramePairDataset` (``samples``): torch datasets with joint augmentation.
* ``python -m salkd.data.bench``: generation time, caching time and loader frames/s
  (:func:`salkd.data.bench.loader_throughput`).
"""
from __future__ import annotations

from .imageio import DatasetError
from .layouts import LABEL_KINDS, Video, VideoDataset, open_dataset

__all__ = ["DatasetError", "LABEL_KINDS", "Video", "VideoDataset", "open_dataset"]
from .lowres import LowResCache, cache_lowres, reduce  # noqa: E402
from .samples import FrameDataset, FramePairDataset  # noqa: E402

__all__ += ["LowResCache", "cache_lowres", "reduce", "FrameDataset", "FramePairDataset"]
from .synthetic import make_dataset, render_video  # noqa: E402

__all__ += ["make_dataset", "render_video"]
