"""Tiny on-disk datasets in every supported layout, built in tmp dirs for the data-layer tests."""
from __future__ import annotations

import errno
from pathlib import Path

import cv2
import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_data(sub: str) -> Path:
    """Path of a folder in ../shared/data, or skip the test with the reason."""
    p = SHARED_DATA / sub
    if not p.exists():
        pytest.skip(f"real sample data {p} is absent (expected ../shared/data beside the repo)")
    return p


def write_img(path: Path, arr: np.ndarray) -> Path:
    """Write an RGB (HxWx3) or grayscale image; parents are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    a = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR) if arr.ndim == 3 else arr
    assert cv2.imwrite(str(path), a), path
    return path


def frame_and_mask(rng: np.random.Generator, t: int, size=(24, 32)) -> tuple[np.ndarray, np.ndarray]:
    """A random frame whose red channel equals its 0/255 mask (a moving square)."""
    h, w = size
    mask = np.zeros((h, w), np.uint8)
    y, x = 4 + t % (h - 12), 3 + (2 * t) % (w - 12)
    mask[y:y + 8, x:x + 8] = 255
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    frame[..., 0] = mask
    return frame, mask


def make_toolkit(root: Path, n_seq: int = 2, n_frames: int = 6, size=(24, 32), every: int = 1,
                 frame_dir: str = "Imgs", mask_dir: str = "GT_object", ext: str = ".png") -> Path:
    """``<seq>/Imgs/00000.png`` + ``<seq>/GT_object/00000.png`` (every ``every``-th frame labelled)."""
    rng = np.random.default_rng(0)
    for s in range(n_seq):
        for t in range(n_frames):
            f, m = frame_and_mask(rng, t + s, size)
            write_img(root / f"seq{s}" / frame_dir / f"{t:05d}{ext}", f)
            if t % every == 0 and mask_dir:
                write_img(root / f"seq{s}" / mask_dir / f"{t:05d}.png", m)
    return root


def make_dhf1k(root: Path, n_videos: int = 2, n_frames: int = 5, size=(24, 32), with_points: bool = True) -> Path:
    """``<video>/images/0001.png`` + ``maps/`` + ``fixation/`` (+ ``fixation_points.csv``)."""
    rng = np.random.default_rng(1)
    h, w = size
    for v in range(n_videos):
        vd = root / f"{v + 1:04d}"
        rows = ["frame,subject,x,y"]
        for t in range(n_frames):
            write_img(vd / "images" / f"{t + 1:04d}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
            fix = np.zeros((h, w), np.uint8)
            pts = [(int(rng.integers(w)), int(rng.integers(h))) for _ in range(3)]
            for x, y in pts:
                fix[y, x] = 255
                rows.append(f"{t + 1},S1,{x},{y}")
            dens = cv2.GaussianBlur(fix.astype(np.float32), (0, 0), 2)
            write_img(vd / "fixation" / f"{t + 1:04d}.png", fix)
            write_img(vd / "maps" / f"{t + 1:04d}.png", np.round(dens / dens.max() * 255).astype(np.uint8))
        if with_points:
            (vd / "fixation_points.csv").write_text("\n".join(rows) + "\n")
    return root


def make_sod(root: Path, n: int = 3) -> Path:
    """``images/<name>.jpg`` + ``masks/<name>.png``, images of different sizes."""
    rng = np.random.default_rng(2)
    for i in range(n):
        f, m = frame_and_mask(rng, i, (20 + 4 * i, 30))
        write_img(root / "images" / f"img_{i}.jpg", f)
        write_img(root / "masks" / f"img_{i}.png", m)
    return root


def make_davis_official(root: Path) -> Path:
    """``JPEGImages/480p/<seq>``, ``Annotations/480p/<seq>``, ``ImageSets/480p/{train,val}.txt``."""
    rng = np.random.default_rng(3)
    for seq in ("aa", "bb", "cc"):
        for t in range(4):
            f, m = frame_and_mask(rng, t, (24, 32))
            write_img(root / "JPEGImages" / "480p" / seq / f"{t:05d}.jpg", f)
            write_img(root / "Annotations" / "480p" / seq / f"{t:05d}.png", m)
    sets = root / "ImageSets" / "480p"
    sets.mkdir(parents=True)
    lines = lambda seqs: "".join(f"/JPEGImages/480p/{s}/{t:05d}.jpg /Annotations/480p/{s}/{t:05d}.png\n"  # noqa: E731
                                 for s in seqs for t in range(4))
    (sets / "train.txt").write_text(lines(["aa", "cc"]))
    (sets / "val.txt").write_text(lines(["bb"]))
    return root


def make_avs1k(root: Path, with_test: bool = False) -> Path:
    """``{trainSet,validSet}/Frame/<video>/*.png`` + ``Ground/<video>/*.png`` (and ``testSet/``)."""
    rng = np.random.default_rng(4)
    sets = [("trainSet", ["Vehicle_001", "Human_002"]), ("validSet", ["Building_003"])]
    for split, vids in sets + ([("testSet", ["Boat_004"])] if with_test else []):
        for v in vids:
            for t in range(3):
                write_img(root / split / "Frame" / v / f"{t + 1:04d}.png", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
                write_img(root / split / "Ground" / v / f"{t + 1:04d}.png", rng.integers(0, 256, (24, 32), dtype=np.uint8))
    return root


def make_davsod(root: Path, sets: dict[str, list[str]] | None = None, n_frames: int = 4) -> Path:
    """DAVSOD as released: ``Training Set/``, ``Validation Set/``, ``Test Set/<group>/`` of toolkit videos
    ``<video>/Imgs/*.jpg`` + ``GT_object/*.png``."""
    sets = sets or {"Training Set": ["select_0001", "select_0002"], "Validation Set": ["select_0101"],
                    "Test Set": ["Easy-35/select_0201", "Difficult-20/select_0301"]}
    rng = np.random.default_rng(5)
    for folder, videos in sets.items():
        for v in videos:
            for t in range(n_frames):
                f, m = frame_and_mask(rng, t)
                write_img(root / folder / v / "Imgs" / f"{t:05d}.jpg", f)
                write_img(root / folder / v / "GT_object" / f"{t:05d}.png", m)
    return root


def make_dhf1k_official(root: Path, n_frames: int = 4) -> Path:
    """DHF1K as public loaders unpack it: ``train/<video>``, ``val/<video>`` with ``images`` + ``maps`` +
    ``fixation``, and ``test/<video>/images`` without labels (DHF1K withholds them)."""
    make_dhf1k(root / "train", n_videos=3, n_frames=n_frames, with_points=False)
    make_dhf1k(root / "val", n_videos=1, n_frames=n_frames, with_points=False)
    (root / "val" / "0001").rename(root / "val" / "0601")
    rng = np.random.default_rng(6)
    for t in range(n_frames):
        write_img(root / "test" / "0701" / "images" / f"{t + 1:04d}.png",
                  rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    return root


def make_duts(root: Path, n: int = 3) -> Path:
    """DUTS-TR as released: ``DUTS-TR-Image/<name>.jpg`` + ``DUTS-TR-Mask/<name>.png`` (sizes differ)."""
    rng = np.random.default_rng(7)
    for i in range(n):
        f, m = frame_and_mask(rng, i, (20 + 4 * i, 30))
        write_img(root / "DUTS-TR-Image" / f"ILSVRC_{i:05d}.jpg", f)
        write_img(root / "DUTS-TR-Mask" / f"ILSVRC_{i:05d}.png", m)
    return root


class FullDisk:
    """Stands in for ``open`` in a module under test: a file whose writes fail as on a full disk."""

    def __init__(self, *a, **k) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")
