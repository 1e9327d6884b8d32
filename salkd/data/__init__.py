"""Data layer: dataset readers, synthetic generator, low-res cache and torch sample datasets."""
from __future__ import annotations

from .imageio import DatasetError
from .layouts import LABEL_KINDS, Video, VideoDataset, open_dataset

__all__ = ["DatasetError", "LABEL_KINDS", "Video", "VideoDataset", "open_dataset"]
from .lowres import LowResCache, cache_lowres, loader_throughput, reduce  # noqa: E402
from .samples import FrameDataset, FramePairDataset  # noqa: E402

__all__ += ["LowResCache", "cache_lowres", "loader_throughput", "reduce", "FrameDataset", "FramePairDataset"]
from .synthetic import make_dataset, render_video  # noqa: E402

__all__ += ["make_dataset", "render_video"]
