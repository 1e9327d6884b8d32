"""Readers of the fixed-structure layouts: DAVIS-2016, AVS1K (``Frame/`` + ``Ground/``) and still-image SOD."""
from __future__ import annotations

from pathlib import Path

from .imageio import DatasetError
from .videos import Video, VideoDataset, _align, _images, _natural_key, _task_of


def _open_davis2016(root: Path, split: str | None) -> VideoDataset:
    res = next((r for r in ("480p", "Full-Resolution", "1080p") if (root / "JPEGImages" / r).is_dir()), None)
    jdir = root / "JPEGImages" / res if res else root / "JPEGImages"
    adir = root / "Annotations" / res if res else root / "Annotations"
    if split is None:
        seqs = sorted(p.name for p in jdir.iterdir() if p.is_dir())
    else:
        cands = [root / "ImageSets" / d / f"{split}.txt" for d in (res or "", "480p", "2016")]
        lst = next((c for c in cands if c.is_file()), None)
        if lst is None:
            raise DatasetError(f"DAVIS split {split!r}: none of {[str(c) for c in cands]} exists")
        seqs = []
        for line in lst.read_text().split("\n"):
            tok = line.strip().split()
            if not tok:
                continue
            parts = Path(tok[0].strip("/")).parts
            seq = parts[-2] if len(parts) >= 2 else parts[0]
            if seq not in seqs:
                seqs.append(seq)
    videos = []
    for seq in seqs:
        frames = _images(jdir / seq) if (jdir / seq).is_dir() else []
        if not frames:
            raise DatasetError(f"DAVIS sequence folder {jdir / seq} is missing or holds no images")
        v = Video(seq, frames)
        if (adir / seq).is_dir():
            v.masks = _align(frames, _images(adir / seq), adir / seq)
        videos.append(v)
    return VideoDataset(root, "davis2016", _task_of(videos, root), videos, split)


def _open_avs1k(root: Path) -> VideoDataset:
    fdir, gdir = root / "Frame", root / "Ground"
    videos = []
    for d in sorted((p for p in fdir.iterdir() if p.is_dir()), key=_natural_key):
        frames = _images(d)
        if not frames:
            raise DatasetError(f"AVS1K video folder {d} holds no images")
        v = Video(d.name, frames)
        if (gdir / d.name).is_dir():
            v.density = _align(frames, _images(gdir / d.name), gdir / d.name)
        videos.append(v)
    if not videos:
        raise DatasetError(f"AVS1K folder {fdir} holds no video folders")
    return VideoDataset(root, "avs1k", _task_of(videos, root), videos)


def _open_sod(root: Path, idir: Path, mdir: Path) -> VideoDataset:
    images = _images(idir)
    if not images:
        raise DatasetError(f"SOD image folder {idir} holds no images")
    masks = _align(images, _images(mdir), mdir)
    videos = [Video(p.stem, [p], masks=[m]) for p, m in zip(images, masks)]
    return VideoDataset(root, "sod", "sod", videos)
