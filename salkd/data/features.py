"""A frozen backbone's features, computed once per frame and memory-mapped from disk.

When a network's backbone (or its first stages) is frozen, its output for a frame never changes, so the
epochs of a training run need only the rest of the network: :func:`cache_features` runs the frozen part
(``model.cache_inputs(frames)``, e.g. :meth:`salkd.models.fastvsod.FastVSOD.cache_inputs`) once over the
frames of a :class:`~salkd.data.lowres.LowResCache` and stores every tensor it returns; a
:class:`CachedFrameDataset` serves them beside the frames and labels (of single frames, or of the frame
pairs of a :class:`~salkd.data.samples.FramePairDataset`: fastvsod's stage 2).

Layout (plain ``.npy``, opened with ``mmap_mode="r"``)::

    <root>/<low-res cache folder>/<H>x<W>/<weights digest[:16]>-<dtype>[-flip]/
        <video>/meta.json             key = hash(low-res video key, full digest, dtype, flip, version)
        <video>/<name>.npy            (T, C, h, w) per tensor of cache_inputs (float16 or float32)
        <video>/<name>.flip.npy       the same for the horizontally mirrored frames (``flip=True``)

so a cache belongs to one dataset split, one resolution and one set of frozen weights (the digest,
``model.feature_cache_key()``, hashes the frozen weights themselves). A video folder is written
atomically and reused while its key matches.

Augmentation. The features of a warped frame are not the warped features (convolutions, pooling and the
stride-8 grid are not equivariant to crops, rotations or flips), so augmentation cannot be applied in
feature space. ``flip=True`` caches the features of the mirrored frame too (computed by the backbone on
the mirrored frame, so exact; twice the build time and disk), and :class:`CachedFrameDataset` then
mirrors frame and label with p = 0.5 and serves the matching features; crops and rotations are
disabled. float16 storage halves the disk and page cache; its effect on the network's output is
measured in ``tests/test_feature_cache.py`` and the stage-1 note of the README.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping, Protocol

import numpy as np
import torch

from ..atomic import atomic_dir
from ..locks import locked
from .lowres import LowResCache, _safe
from .samples import FrameDataset, FramePairDataset

__all__ = ["FeatureCache", "CachedFrameDataset", "cache_features", "cached_inputs", "FEATURE_PREFIX",
           "FEATURE_NEXT_PREFIX"]

FEATURE_CACHE_VERSION = 1
#: batch keys of cached tensors: ``feat:<name>`` (:func:`cached_inputs` strips it)
FEATURE_PREFIX = "feat:"
#: the same for the partner frame of a pair (``next``): ``feat_next:<name>`` (:func:`cached_inputs` with ``"next"``)
FEATURE_NEXT_PREFIX = "feat_next:"
_DTYPES = {"float16": np.float16, "float32": np.float32}


class Cacheable(Protocol):
    def feature_cache_key(self) -> str | None: ...

    def cache_inputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]: ...

    def parameters(self) -> Any: ...


class FeatureCache:
    """An opened feature cache: ``video(name, flipped)`` -> ``{tensor name: (T, C, h, w) memmap}``."""

    def __init__(self, path: Path, videos: list[str], dirs: Mapping[str, Path], names: list[str], flip: bool,
                 dtype: str) -> None:
        self.path, self.videos, self.names, self.flip, self.dtype = path, videos, names, flip, dtype
        self._dirs = dict(dirs)
        self._loaded: dict[tuple[str, bool], dict[str, np.ndarray]] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._dirs

    def video(self, name: str, flipped: bool = False) -> dict[str, np.ndarray]:
        if flipped and not self.flip:
            raise ValueError(f"feature cache {self.path} holds no mirrored frames (built with flip=False)")
        key = (name, bool(flipped))
        if key not in self._loaded:
            d = self._dirs[name]
            tag = ".flip" if flipped else ""
            self._loaded[key] = {n: np.load(d / f"{n}{tag}.npy", mmap_mode="r") for n in self.names}
        return self._loaded[key]

    def nbytes(self) -> int:
        """Bytes on disk."""
        return sum(f.stat().st_size for d in self._dirs.values() for f in d.glob("*.npy"))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_loaded"] = {}
        return state

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.path)!r}, videos={len(self.videos)}, dtype={self.dtype}, flip={self.flip})"


def _frames(arr: np.ndarray) -> torch.Tensor:
    """uint8 (N,H,W,3) -> float32 (N,3,H,W) in [0, 1], exactly as :class:`FrameDataset` makes ``frame``."""
    x = np.asarray(arr, dtype=np.float32) * np.float32(1 / 255)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def cache_features(lowres: LowResCache, model: Cacheable, root: str | Path, *, dtype: str = "float16",
                   flip: bool = False, batch: int = 8, progress: bool = True) -> FeatureCache:
    """``model.cache_inputs`` of every frame of ``lowres`` (and of its mirror with ``flip``), stored under
    ``root`` as described in the module docstring; videos whose key matches are reused as they are.
    Frames go through the model ``batch`` at a time, in order (the same batches on every build). Processes
    that build the same cache take turns (a lock beside it)."""
    if dtype not in _DTYPES:
        raise ValueError(f"feature cache dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    digest = model.feature_cache_key()
    if digest is None:
        raise ValueError(f"{type(model).__name__} has no frozen part to cache")
    h, w = lowres.size
    base = Path(root) / lowres.path.parent.name / f"{h}x{w}" / f"{digest[:16]}-{dtype}{'-flip' if flip else ''}"
    base.parent.mkdir(parents=True, exist_ok=True)
    with locked(base, wait=True, what="feature cache"):   # processes that need the same cache take turns
        return _build_locked(lowres, model, base, digest, dtype, flip, batch, progress)


def _build_locked(lowres: LowResCache, model: Cacheable, base: Path, digest: str, dtype: str, flip: bool,
                  batch: int, progress: bool) -> FeatureCache:
    from tqdm.auto import tqdm

    keys = {e["name"]: e.get("key", "") for e in lowres._index["videos"]}
    dirs: dict[str, Path] = {}
    names: list[str] | None = None
    stale: list[tuple[str, Path, str]] = []
    for v in lowres.videos:
        key = hashlib.sha256(json.dumps([FEATURE_CACHE_VERSION, keys.get(v, ""), lowres.n_frames(v), digest,
                                         dtype, bool(flip)]).encode()).hexdigest()
        d = base / _safe(v)
        dirs[v] = d
        meta = d / "meta.json"
        try:
            m = json.loads(meta.read_text()) if meta.is_file() else None
        except (OSError, json.JSONDecodeError):
            m = None
        if m is not None and m.get("key") == key:
            names = names or list(m["names"])
        else:
            stale.append((v, d, key))
    device = next(iter(model.parameters())).device
    bar = tqdm(total=sum(lowres.n_frames(v) for v, _, _ in stale) * (2 if flip else 1), disable=not progress or not stale,
               desc=f"feature cache {base.parent.parent.name}", leave=False)
    for v, d, key in stale:
        frames = lowres.video(v)["frames"]
        T = frames.shape[0]
        with atomic_dir(d) as tmp:
            out: dict[str, np.ndarray] = {}
            for tag in ([""] + ([".flip"] if flip else [])):
                for a in range(0, T, batch):
                    x = _frames(frames[a:a + batch]).to(device)
                    if tag:
                        x = x.flip(-1)
                    with torch.no_grad():
                        feats = model.cache_inputs(x)
                    for n, t in feats.items():
                        if n + tag not in out:
                            out[n + tag] = np.lib.format.open_memmap(tmp / f"{n}{tag}.npy", mode="w+",
                                                                     dtype=_DTYPES[dtype], shape=(T, *t.shape[1:]))
                        out[n + tag][a:a + len(x)] = t.float().cpu().numpy().astype(_DTYPES[dtype])
                    bar.update(len(x))
            for arr in out.values():
                arr.flush()
            names = sorted(n for n in out if not n.endswith(".flip"))
            del out
            (tmp / "meta.json").write_text(json.dumps({"name": v, "key": key, "n_frames": T, "names": names,
                                                       "dtype": dtype, "flip": bool(flip), "digest": digest},
                                                      indent=1))
    bar.close()
    return FeatureCache(base, list(lowres.videos), dirs, names or [], bool(flip), dtype)


class CachedFrameDataset(torch.utils.data.Dataset):
    """The items of a :class:`FrameDataset` (built with ``augment=False``) with the cached features of
    their frame as ``feat:<name>`` float32 tensors; for a :class:`FramePairDataset` also those of the
    partner frame ``t_next`` as ``feat_next:<name>``. ``flip``: per item, with p = 0.5 from
    ``(seed, epoch, index)``, frame and label (both frames and labels of a pair) are mirrored and the
    mirrored frames' features served (the cache must hold them); no other augmentation (see the module
    docstring)."""

    def __init__(self, frames: FrameDataset | FramePairDataset, feats: FeatureCache, *, flip: bool = False,
                 seed: int = 0) -> None:
        if frames.augment:
            raise ValueError("CachedFrameDataset: build the FrameDataset with augment=False (a warped frame's "
                             "features are not in the cache)")
        missing = [v for v in frames.videos if v not in feats]
        if missing:
            raise KeyError(f"videos {missing[:5]} are not in feature cache {feats.path}")
        if flip and not feats.flip:
            raise ValueError(f"flip=True needs a feature cache built with flip=True ({feats.path} is not)")
        self.frames, self.feats, self.flip, self.seed, self.epoch = frames, feats, bool(flip), int(seed), 0
        self._table_epoch: int | None = None
        self._table = np.zeros(0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.frames.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.frames)

    def flipped(self, index: int) -> bool:
        """Whether item ``index`` is mirrored this epoch."""
        if not self.flip:
            return False
        if self._table_epoch != self.epoch:
            self._table = np.random.default_rng([self.seed, self.epoch, 1]).random(len(self.frames))
            self._table_epoch = self.epoch
        return bool(self._table[index] < 0.5)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.frames[index]
        vi, t = self.frames.items[index]
        f = self.flipped(index)
        if f:
            for k in ("frame", "label", "next", "label_next"):
                if k in item:
                    item[k] = item[k].flip(-1)
        pair = "t_next" in item
        for n, arr in self.feats.video(self.frames.videos[vi], f).items():
            item[FEATURE_PREFIX + n] = torch.from_numpy(np.array(arr[t], dtype=np.float32))
            if pair:
                item[FEATURE_NEXT_PREFIX + n] = torch.from_numpy(np.array(arr[int(item["t_next"])],
                                                                            dtype=np.float32))
        return item


def cached_inputs(batch: Mapping[str, Any], which: str = "frame") -> dict[str, torch.Tensor] | None:
    """The cached tensors of a collated batch (``feat:<name>`` -> ``<name>``; ``which="next"``: the partner
    frame's, ``feat_next:<name>``), None when there are none."""
    if which not in ("frame", "next"):
        raise ValueError(f"which must be 'frame' or 'next', got {which!r}")
    prefix = FEATURE_PREFIX if which == "frame" else FEATURE_NEXT_PREFIX
    out = {k[len(prefix):]: v for k, v in batch.items() if k.startswith(prefix)}
    return out or None
