"""Image file reading for the data layer: decode, header sizes and label conventions.

All readers raise :class:`DatasetError` naming the file when it is missing or cannot be decoded,
so a corrupt frame deep inside a dataset is reported by path instead of as ``NoneType`` errors.
"""
from __future__ import annotations

import struct
import warnings
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "DatasetError",
    "IMAGE_EXTS",
    "is_image",
    "read_rgb",
    "read_gray",
    "image_size",
    "to_binary_mask",
    "to_density",
    "to_fixation",
]

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class DatasetError(ValueError):
    """A dataset on disk does not look as expected (layout, file, size or value problem)."""


def is_image(path: Path) -> bool:
    """True for a visible file with a known image extension."""
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".")


def _decode(path: Path, flags: int) -> np.ndarray:
    try:
        buf = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise DatasetError(f"cannot read image file {path}: {exc}") from exc
    img = cv2.imdecode(buf, flags) if buf.size else None
    if img is None:
        raise DatasetError(f"cannot decode image file {path} (corrupt or not an image)")
    return img


def read_rgb(path: Path) -> np.ndarray:
    """Read an image as HxWx3 uint8 RGB (grayscale is expanded, alpha dropped, 16 bit scaled)."""
    img = _decode(Path(path), cv2.IMREAD_COLOR)
    if img.dtype != np.uint8:
        img = (img.astype(np.float32) / np.iinfo(img.dtype).max * 255.0 + 0.5).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_gray(path: Path) -> np.ndarray:
    """Read a label image unchanged and reduce colour to one channel by the per-pixel maximum.

    The maximum (not luminance) keeps palette/RGB masks such as ``(128, 0, 0)`` foreground.
    """
    img = _decode(Path(path), cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        img = img[..., :3].max(axis=2) if img.shape[2] >= 3 else img[..., 0]
    return img


def to_binary_mask(img: np.ndarray, path: Path) -> np.ndarray:
    """Return an HxW uint8 mask in {0, 255}.

    {0, 255} passes unchanged; {0, 1} is scaled to {0, 255}; anything else is thresholded at 128
    (``>= 128`` -> 255, on the 8-bit scale) with a warning naming ``path``.
    """
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating):
            img = np.clip(np.nan_to_num(img) * (255.0 if img.max() <= 1.0 else 1.0), 0, 255)
        else:
            img = img.astype(np.float64) / np.iinfo(img.dtype).max * 255.0
        img = (img + 0.5).astype(np.uint8)
    hist = np.bincount(img.ravel(), minlength=256)
    nz = np.flatnonzero(hist)
    if set(nz.tolist()) <= {0, 255}:
        return img
    if set(nz.tolist()) <= {0, 1}:
        return img * np.uint8(255)
    warnings.warn(f"mask {path} is not binary (values {nz.min()}..{nz.max()}); thresholded at 128",
                  stacklevel=3)
    return np.where(img >= 128, np.uint8(255), np.uint8(0))


def to_density(img: np.ndarray, path: Path) -> np.ndarray:
    """Return an HxW float32 density in [0, 1]: integer maps divided by their dtype maximum,
    float maps by their maximum when it exceeds 1. NaN/inf or negative values raise."""
    if np.issubdtype(img.dtype, np.integer):
        return img.astype(np.float32) / np.float32(np.iinfo(img.dtype).max)
    out = img.astype(np.float32)
    if not np.isfinite(out).all():
        raise DatasetError(f"density map {path} contains NaN or inf; expected finite values")
    if out.min() < 0:
        raise DatasetError(f"density map {path} has negative values; expected >= 0")
    m = float(out.max())
    return out / m if m > 1.0 else out


def to_fixation(img: np.ndarray) -> np.ndarray:
    """Return an HxW uint8 binary fixation map in {0, 1} (counts and 255 clipped to 1)."""
    return (img > 0).astype(np.uint8)


def _png_size(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        w, h = struct.unpack(">II", head[16:24])
        return int(h), int(w)
    return None


def _jpeg_size(fh) -> tuple[int, int] | None:
    fh.seek(2)
    while True:
        b = fh.read(1)
        while b and b != b"\xff":
            b = fh.read(1)
        while b == b"\xff":
            b = fh.read(1)
        if not b:
            return None
        marker = b[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        seg = fh.read(2)
        if len(seg) < 2:
            return None
        length = struct.unpack(">H", seg)[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            data = fh.read(5)
            if len(data) < 5:
                return None
            h, w = struct.unpack(">HH", data[1:5])
            return int(h), int(w)
        fh.seek(length - 2, 1)


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image, from the PNG/JPEG header when possible (no decoding), else by decoding."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
            size = _png_size(head)
            if size is None and head[:2] == b"\xff\xd8":
                size = _jpeg_size(fh)
    except OSError as exc:
        raise DatasetError(f"cannot read image file {path}: {exc}") from exc
    if size is not None:
        return size
    img = _decode(path, cv2.IMREAD_UNCHANGED)
    return int(img.shape[0]), int(img.shape[1])
