"""Torch datasets of low-res frames and frame pairs with joint augmentation.

``FrameDataset`` yields single labelled frames (spatial students, fastvsod stage 1);
``FramePairDataset`` yields ``(I_t, I_{t+t0})`` with ``0 < |t0| <= max_offset`` (fastvsod eq. 4-6,
skd/uvanet temporal students use ``offsets=[1]``).

Items are dicts of float32 tensors: ``frame`` (3,h,w) in [0,1], ``label`` (1,h,w) in [0,1]
(masks 0/255 -> 0/1, density 0..255 -> [0,1], fixation 0/1), for pairs also ``next``,
``label_next`` and int ``has_label_next``; each extra as ``<name>`` (and ``<name>_next``), (1,h,w)
(uint8 extras / 255, float extras unchanged) or (2,h,w) for flow arrays (T,h,w,2) (unscaled); and
ints ``video`` (index into ``.videos``), ``t``, ``t_next``; with ``unlabeled=True`` the frames without the
label are items too (zero label) and int ``has_label`` says which frames have it.

Joint augmentation (``augment=True``): one random affine per item — crop of 80-100 % of each side
(same factor for both axes, so aspect is kept) resized back to the cache size, rotation uniform in
[-10, 10] degrees about the centre, horizontal flip with p = 0.5 (the fastvsod recipe) — applied
identically to both frames and every label and extra of both, bilinear with reflected borders
(fixation maps: nearest, so they stay binary). Flow vectors are transformed with the affine's
linear part: a flip negates x, a rotation rotates the vectors, the crop zoom scales them, so the
flow stays in pixels of the output grid. Randomness (augmentation and the pair offset) is a
function of (seed, epoch, index): item ``index`` uses row ``index`` of a uniform table drawn from
``numpy.random.default_rng([seed, epoch])`` (one draw per epoch instead of one generator per item,
which cost more than the warps); ``set_epoch(e)`` changes it. Same in every DataLoader worker.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import cv2
import numpy as np
import torch

from salkd.tensors import from_array

from .imageio import DatasetError
from .lowres import LowResCache

__all__ = ["FrameDataset", "FramePairDataset", "affine_from_uniforms", "warp"]

_RESERVED = {"frame", "label", "next", "label_next", "video", "t", "t_next", "has_label_next", "has_label"}


def affine_from_uniforms(u: Sequence[float], h: int, w: int, *, min_crop: float = 0.8,
                         max_angle: float = 10.0, flip_p: float = 0.5) -> np.ndarray:
    """A 2x3 forward affine (input pixel -> output pixel) = flip . rotate . crop-and-resize,
    from five uniforms in [0, 1): crop scale, crop x, crop y, angle, flip."""
    s = min_crop + (1.0 - min_crop) * float(u[0])
    cw, ch = s * w, s * h
    x0, y0 = float(u[1]) * (w - cw), float(u[2]) * (h - ch)
    crop = np.array([[1 / s, 0, -x0 / s], [0, 1 / s, -y0 / s], [0, 0, 1]])
    ang = math.radians((2 * float(u[3]) - 1) * max_angle)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    c, si = math.cos(ang), math.sin(ang)
    rot = np.array([[c, -si, cx - c * cx + si * cy], [si, c, cy - si * cx - c * cy], [0, 0, 1]])
    flip = np.eye(3)
    if float(u[4]) < flip_p:
        flip = np.array([[-1, 0, w - 1], [0, 1, 0], [0, 0, 1]], float)
    return (flip @ rot @ crop)[:2]


def warp(arr: np.ndarray, m: np.ndarray, *, nearest: bool = False, vectors: bool = False) -> np.ndarray:
    """Apply the forward affine ``m`` to an HxW or HxWxC float32 array (output has the same size).

    ``vectors=True`` treats a HxWx2 array as (dx, dy) displacement vectors and also transforms
    them by the linear part of ``m``.
    """
    h, w = arr.shape[:2]
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    out = cv2.warpAffine(arr, m.astype(np.float64), (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT_101)
    if out.ndim == 2 and arr.ndim == 3:
        out = out[..., None]
    if vectors:
        out = out @ m[:, :2].T.astype(np.float32)
    return out


class _CacheDataset(torch.utils.data.Dataset):
    def __init__(self, cache: LowResCache, label: str | None, videos: Sequence[str] | None,
                 augment: bool, seed: int, extra: Mapping[str, Mapping[str, np.ndarray]] | None,
                 unlabeled: bool = False):
        if not isinstance(cache, LowResCache):
            raise TypeError(f"cache must be a LowResCache, got {type(cache).__name__}")
        if label is not None and label not in cache.labels:
            raise DatasetError(f"label {label!r} is not in low-res cache {cache.path} "
                               f"(has {cache.labels or 'no labels'})")
        self.cache, self.label, self.augment, self.seed, self.epoch = cache, label, bool(augment), int(seed), 0
        if unlabeled and label is None:
            raise ValueError("unlabeled=True needs a label (frames with and without it are then both kept)")
        self.unlabeled = bool(unlabeled)
        self.videos = list(videos) if videos is not None else list(cache.videos)
        unknown = [v for v in self.videos if v not in cache]
        if unknown:
            raise DatasetError(f"videos {unknown[:5]} are not in low-res cache {cache.path}")
        self._arrays = [cache.video(v) for v in self.videos]
        h, w = cache.size
        self.extra: dict[str, list[np.ndarray]] = {}
        for name, per_video in (extra or {}).items():
            if name in _RESERVED or name.endswith("_next"):
                raise ValueError(f"extra name {name!r} clashes with an item key; choose another")
            arrs = []
            for vi, v in enumerate(self.videos):
                if v not in per_video:
                    raise DatasetError(f"extra {name!r} has no array for video {v!r}")
                a = per_video[v]
                T = self._arrays[vi]["frames"].shape[0]
                ok = a.ndim == 3 or (a.ndim == 4 and a.shape[3] == 2)
                if not ok or a.shape[0] != T or a.shape[1:3] != (h, w):
                    raise DatasetError(f"extra {name!r} for video {v!r} has shape {a.shape}; expected "
                                       f"({T}, {h}, {w}) or ({T}, {h}, {w}, 2) for flow")
                arrs.append(a)
            self.extra[name] = arrs
        self._table_epoch: int | None = None
        self._table = np.zeros((0, 6))
        self.items: list[tuple[int, int]] = []
        for vi, arrs in enumerate(self._arrays):
            T = arrs["frames"].shape[0]
            ts = np.flatnonzero(arrs[f"has_{label}"]) if label is not None and not unlabeled else np.arange(T)
            self.items.extend((vi, int(t)) for t in ts)

    def __getstate__(self) -> dict:
        # DataLoader workers under "spawn": re-open the memory maps instead of pickling their data
        state = dict(self.__dict__)
        state["_arrays"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._arrays = [self.cache.video(v) for v in self.videos]

    def has_label(self, vi: int, t: int) -> int:
        """1 when frame ``t`` of video ``vi`` has the dataset's label, else 0 (its label is then all zeros)."""
        return int(bool(self._arrays[vi][f"has_{self.label}"][t]))

    def set_epoch(self, epoch: int) -> None:
        """Change the per-item randomness (augmentation, pair offsets) for a new epoch."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def _uniforms(self, index: int) -> np.ndarray:
        """Six uniforms for item ``index``: row ``index`` of a table drawn once per epoch from
        ``default_rng([seed, epoch])`` (cheap, and a function of (seed, epoch, index) only)."""
        if self._table_epoch != self.epoch:
            self._table = np.random.default_rng([self.seed, self.epoch]).random((len(self.items), 6))
            self._table_epoch = self.epoch
        return self._table[index]

    def _maps(self, vi: int, frames: Sequence[tuple[int, str]], m: np.ndarray | None) -> dict[str, torch.Tensor]:
        """Tensors of frames ``[(t, suffix), ...]`` of video ``vi``. All bilinear maps of all the
        frames (RGB, mask/density label, scalar extras) are packed into one HxWxC float32 buffer,
        scaled and, with an affine ``m``, warped in a single call (identical sampling for all)."""
        arrs = self._arrays[vi]
        h, w = self.cache.size
        packed: list[tuple[str, np.ndarray, int, float]] = []  # key, source, channels, scale
        special: list[tuple[str, np.ndarray, bool, bool]] = []  # key, HxWxC float32, nearest, vectors
        for t, suffix in frames:
            packed.append(("frame" if suffix == "" else "next", arrs["frames"][t], 3, 1 / 255))
            if self.label == "fixation":
                special.append(("label" + suffix, np.asarray(arrs["fixation"][t], np.float32)[..., None], True, False))
            elif self.label is not None:
                packed.append(("label" + suffix, arrs[self.label][t], 1, 1 / 255))
            for name, per in self.extra.items():
                a = per[vi][t]
                if a.ndim == 3:  # flow (h, w, 2)
                    special.append((name + suffix, np.asarray(a, np.float32), False, True))
                else:
                    packed.append((name + suffix, a, 1, 1 / 255 if a.dtype == np.uint8 else 1.0))
        out: dict[str, torch.Tensor] = {}
        if m is None:  # no augmentation: convert each map directly (faster than packing)
            for key, src, c, sc in packed:
                x = np.asarray(src, dtype=np.float32)
                if sc != 1.0:
                    x = x * np.float32(sc)
                out[key] = from_array(x.transpose(2, 0, 1) if c > 1 else x[None])
            for key, x, _, _ in special:
                out[key] = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))
            return out
        C = sum(c for _, _, c, _ in packed)
        buf = np.empty((h, w, C), np.float32)
        scale = np.empty(C, np.float32)
        k = 0
        for _, src, c, sc in packed:
            if c == 1:
                buf[..., k] = src
            else:
                buf[..., k:k + c] = src
            scale[k:k + c] = sc
            k += c
        buf *= scale
        buf = warp(buf, m)
        chw = np.ascontiguousarray(buf.transpose(2, 0, 1))
        k = 0
        for key, _, c, _ in packed:
            out[key] = torch.from_numpy(chw[k:k + c])
            k += c
        for key, x, nearest, vectors in special:
            x = warp(x, m, nearest=nearest, vectors=vectors)
            out[key] = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))
        return out


class FrameDataset(_CacheDataset):
    """Single labelled frames of a :class:`LowResCache` (only frames that have ``label``).

    ``label=None`` gives every frame and no ``label`` key (inference on unlabeled video).
    ``unlabeled=True`` keeps the frames without ``label`` too (their label all zeros) and adds an int
    ``has_label`` to every item: frames that only a teacher labels (skd eq. 1-2 / uvanet eq. 5-6 with mu = 1).
    """

    def __init__(self, cache: LowResCache, label: str | None = "mask", videos: Sequence[str] | None = None,
                 augment: bool = False, seed: int = 0,
                 extra: Mapping[str, Mapping[str, np.ndarray]] | None = None, unlabeled: bool = False):
        super().__init__(cache, label, videos, augment, seed, extra, unlabeled)

    def __getitem__(self, index: int) -> dict:
        vi, t = self.items[index]
        m = None
        if self.augment:
            h, w = self.cache.size
            m = affine_from_uniforms(self._uniforms(index), h, w)
        item = self._maps(vi, [(t, "")], m)
        if self.unlabeled:
            item["has_label"] = self.has_label(vi, t)
        item.update(video=vi, t=t)
        return item


class FramePairDataset(_CacheDataset):
    """Frame pairs ``(I_t, I_{t+t0})`` of a :class:`LowResCache` (fastvsod eq. 4-6).

    One item per frame ``t`` with ``label``; ``t0`` is drawn per item from ``offsets`` (default
    ``±1..±max_offset``) among those that stay inside the video and land on a labelled frame;
    if none lands on a labelled frame an in-range one is used (``has_label_next = 0``, zero label);
    if no offset stays inside (e.g. ``offsets=[1]`` at the last frame) the mirrored offsets ``-t0``
    are used; a one-frame video (SOD images) pairs the frame with itself (``t_next == t``).
    ``unlabeled=True``: one item per frame, labelled or not, with ``has_label`` (as :class:`FrameDataset`).
    """

    def __init__(self, cache: LowResCache, label: str | None = "mask", max_offset: int = 3,
                 offsets: Sequence[int] | None = None, videos: Sequence[str] | None = None,
                 augment: bool = False, seed: int = 0,
                 extra: Mapping[str, Mapping[str, np.ndarray]] | None = None, unlabeled: bool = False):
        super().__init__(cache, label, videos, augment, seed, extra, unlabeled)
        if offsets is None:
            if int(max_offset) < 1:
                raise ValueError(f"max_offset must be >= 1, got {max_offset}")
            offsets = [o for k in range(1, int(max_offset) + 1) for o in (-k, k)]
        offsets = [int(o) for o in offsets]
        if not offsets or 0 in offsets:
            raise ValueError(f"offsets must be non-empty and non-zero, got {offsets}")
        self.offsets = offsets

    def pick_next(self, index: int) -> int:
        """The partner frame index ``t_next`` for item ``index`` (deterministic per seed/epoch)."""
        vi, t = self.items[index]
        arrs = self._arrays[vi]
        T = arrs["frames"].shape[0]
        inside = [t + o for o in self.offsets if 0 <= t + o < T]
        if not inside:  # at a video end: mirror the offsets
            inside = [t - o for o in self.offsets if 0 <= t - o < T]
        if self.label is not None:
            has = arrs[f"has_{self.label}"]
            labelled = [u for u in inside if has[u]]
            inside = labelled or inside
        if not inside:
            return t
        return int(inside[min(int(self._uniforms(index)[5] * len(inside)), len(inside) - 1)])

    def __getitem__(self, index: int) -> dict:
        vi, t = self.items[index]
        tn = self.pick_next(index)
        m = None
        if self.augment:
            h, w = self.cache.size
            m = affine_from_uniforms(self._uniforms(index), h, w)
        item = self._maps(vi, [(t, ""), (tn, "_next")], m)
        if self.label is not None:
            item["has_label_next"] = self.has_label(vi, tn)
        if self.unlabeled:
            item["has_label"] = self.has_label(vi, t)
        item.update(video=vi, t=t, t_next=tn)
        return item
