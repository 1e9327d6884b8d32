"""Synthetic video saliency datasets: the embedded default data of salkd.

Each video is a scene rendered through a moving camera:

* a textured background canvas (multi-scale noise over a palette plus roads/fields/buildings for
  ``style="aerial"``, a horizon and large shapes for ``"ground"``), seen through a per-frame camera
  affine (pan, zoom and rotation for aerial, a slow pan with slight jitter for ground);
* 1-3 **salient objects** (ellipse, box, triangle, blob or vehicle polygons with an inner detail),
  small for aerial and large for ground, that move through the scene with turning trajectories;
* **distractors** drawn from the same shape/colour family, hence as salient-looking, but either
  fixed in the scene (move only with the camera) or fixed in the image (camera-locked overlay);
  they are never in the masks, so appearance alone cannot separate them from the objects: motion
  relative to the scene must be used;
* scene-fixed occluders placed on object paths (masks show the visible part only), a blur episode
  now and then, smooth and step illumination changes, and mild sensor noise.

Fixations come from a gaze model: ``n_observers`` simulated viewers each pursue one salient object
with a personal offset, jitter and pursuit lag, switch target by saccades, and now and then explore
a centre-biased random point or a distractor. Density maps are the fixation maps blurred with a
Gaussian (sigma = 2.5 % of the frame width, as DHF1K's ~1 degree) and scaled to max 255.

Determinism: video ``i`` is rendered from ``numpy.random.default_rng([seed, i, 0])`` (scene) and
``[seed, i, 1]`` (gaze), so the same seed gives the same bytes, the scene of video ``i`` is the same
for ``kind="vsod"`` and ``kind="fixation"``, and videos are independent of ``n_videos``.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..atomic import atomic_dir

__all__ = ["make_dataset", "render_video", "SyntheticVideo", "GENERATOR_VERSION"]

GENERATOR_VERSION = 1
# zlib level 1 with the fixed "up" filter: ~2x faster than adaptive filtering, similar size
_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 1] + (
    [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP] if hasattr(cv2, "IMWRITE_PNG_FILTER") else [])


@dataclass
class SyntheticVideo:
    """One rendered video, all arrays indexed by frame.

    ``frames`` (T,H,W,3) uint8 RGB; ``masks`` (T,H,W) uint8 0/255 (visible salient objects);
    ``distractors`` (T,H,W) bool (visible distractor pixels); ``points`` (N, 4) float32 rows
    ``(frame, subject, x, y)`` with 0-based frame; ``fixation`` (T,H,W) uint8 0/255; ``density``
    (T,H,W) uint8 0..255; ``centers`` (T, n_objects, 2) object centres in image pixels;
    ``cameras`` (T, 2, 3) scene -> image affines.
    """

    frames: np.ndarray
    masks: np.ndarray
    distractors: np.ndarray
    points: np.ndarray
    fixation: np.ndarray
    density: np.ndarray
    centers: np.ndarray
    cameras: np.ndarray


# ----------------------------------------------------------------------------- shapes

def _shape(rng: np.random.Generator, kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit-size polygon (n,2) centred at 0 and an inner detail polygon."""
    kind = kind or rng.choice(["ellipse", "box", "triangle", "blob", "vehicle"])
    aspect = rng.uniform(1.0, 2.2)
    if kind == "ellipse":
        a = np.linspace(0, 2 * np.pi, 20, endpoint=False)
        poly = np.stack([np.cos(a) * 0.5, np.sin(a) * 0.5 / aspect], 1)
    elif kind == "box":
        poly = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) * [1, 1 / aspect]
    elif kind == "triangle":
        poly = np.array([[0.5, 0.0], [-0.5, -0.4], [-0.5, 0.4]])
    elif kind == "blob":
        a = np.linspace(0, 2 * np.pi, 14, endpoint=False)
        r = 0.5 * rng.uniform(0.6, 1.0, a.size)
        poly = np.stack([np.cos(a) * r, np.sin(a) * r / aspect * 1.4], 1)
    else:  # vehicle: long box with a cabin
        poly = np.array([[-0.5, -0.22], [0.5, -0.22], [0.5, 0.22], [-0.5, 0.22]])
    detail = poly * rng.uniform(0.35, 0.6) + [rng.uniform(-0.12, 0.12), 0]
    return poly.astype(np.float64), detail.astype(np.float64)


def _place(poly: np.ndarray, size: float, heading: float, pos: np.ndarray) -> np.ndarray:
    c, s = math.cos(heading), math.sin(heading)
    rot = np.array([[c, -s], [s, c]])
    return poly * size @ rot.T + pos


def _to_image(pts: np.ndarray, cam: np.ndarray) -> np.ndarray:
    return pts @ cam[:, :2].T + cam[:, 2]


def _fill(img: np.ndarray, pts: np.ndarray, color, aa: bool = True) -> None:
    ipts = np.round(pts * 16).astype(np.int32)[None]
    cv2.fillPoly(img, ipts, color, lineType=cv2.LINE_AA if aa else cv2.LINE_8, shift=4)


def _bright_color(rng: np.random.Generator) -> tuple[int, int, int]:
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(150, 256), rng.integers(170, 256)]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


# ----------------------------------------------------------------------------- background

def _noise(rng: np.random.Generator, n: int, scales: Sequence[int], weights: Sequence[float]) -> np.ndarray:
    out = np.zeros((n, n), np.float32)
    for s, w in zip(scales, weights):
        k = max(2, n // s)
        small = rng.standard_normal((k, k)).astype(np.float32)
        out += w * cv2.resize(small, (n, n), interpolation=cv2.INTER_CUBIC)
    out -= out.min()
    return out / max(float(out.max()), 1e-6)


def _background(rng: np.random.Generator, n: int, style: str) -> np.ndarray:
    if style == "aerial":
        palette = np.array([[70, 100, 50], [110, 120, 70], [140, 125, 95], [90, 90, 85]], np.float32)
    else:
        palette = np.array([[95, 110, 80], [130, 115, 90], [120, 120, 125], [80, 95, 110]], np.float32)
    palette = palette * rng.uniform(0.8, 1.2, (1, 3)).astype(np.float32)
    t = _noise(rng, n, [n // 4, n // 16, n // 64 or 1], [1.0, 0.5, 0.3])
    idx = t * (len(palette) - 1)
    lo = np.floor(idx).astype(int)
    hi = np.minimum(lo + 1, len(palette) - 1)
    f = (idx - lo)[..., None]
    img = palette[lo] * (1 - f) + palette[hi] * f
    fine = _noise(rng, n, [max(1, n // 2), max(1, n // 8)], [1.0, 0.6])[..., None]
    img *= 0.8 + 0.4 * fine
    img = np.clip(img, 0, 255).astype(np.uint8)
    if style == "aerial":
        for _ in range(int(rng.integers(3, 7))):  # fields
            c = rng.uniform(0, n, 2)
            w, h = rng.uniform(0.1, 0.3, 2) * n
            col = tuple(int(v) for v in np.clip(palette[rng.integers(len(palette))] * rng.uniform(0.7, 1.3), 0, 255))
            box = cv2.boxPoints(((float(c[0]), float(c[1])), (float(w), float(h)), float(rng.uniform(0, 180))))
            _fill(img, box, col)
        for _ in range(int(rng.integers(1, 4))):  # roads
            p = rng.uniform(0, n, (2, 2)).astype(int)
            cv2.line(img, tuple(map(int, p[0])), tuple(map(int, p[1])), (105, 105, 105),
                     int(rng.integers(max(2, n // 60), max(3, n // 30))), cv2.LINE_AA)
        for _ in range(int(rng.integers(4, 12))):  # buildings (small, grey)
            c = rng.uniform(0, n, 2)
            s = rng.uniform(0.02, 0.05) * n
            g = int(rng.integers(60, 170))
            box = cv2.boxPoints(((float(c[0]), float(c[1])), (float(s), float(s * rng.uniform(0.6, 1.6))),
                                 float(rng.uniform(0, 90))))
            _fill(img, box, (g, g, g - 10))
    else:
        horizon = int(rng.uniform(0.25, 0.45) * n)
        sky = np.linspace(0, 1, horizon, dtype=np.float32)[:, None, None]
        img[:horizon] = (np.array([150, 180, 220], np.float32) * (1 - 0.3 * sky) * (0.9 + 0.2 * fine[:horizon])
                         ).clip(0, 255).astype(np.uint8)
        for _ in range(int(rng.integers(3, 7))):  # large structures
            c = rng.uniform(0, n, 2)
            w, h = rng.uniform(0.08, 0.3, 2) * n
            g = tuple(int(v) for v in rng.integers(50, 200, 3))
            box = cv2.boxPoints(((float(c[0]), float(c[1])), (float(w), float(h)), float(rng.uniform(-10, 10))))
            _fill(img, box, g)
    return img


# ----------------------------------------------------------------------------- rendering

def _cameras(rng, n_frames, H, W, n, style) -> np.ndarray:
    """(T, 2, 3) scene->image affines."""
    center = np.array([n / 2, n / 2]) + rng.uniform(-0.05, 0.05, 2) * n
    if style == "aerial":
        vel = rng.uniform(-1, 1, 2) * rng.uniform(0.5, 2.0) * W / 256
        zoom, dzoom = rng.uniform(0.95, 1.1), rng.uniform(-0.003, 0.003)
        ang, dang = rng.uniform(0, 2 * np.pi), math.radians(rng.uniform(-0.6, 0.6))
    else:
        vel = rng.uniform(-1, 1, 2) * [0.6, 0.1] * W / 256
        zoom, dzoom, ang, dang = 1.0, 0.0, 0.0, 0.0
    cams = np.zeros((n_frames, 2, 3))
    margin = 0.5 * math.hypot(H, W) / 0.85 + 2
    for t in range(n_frames):
        z = float(np.clip(zoom + dzoom * t, 0.9, 1.25))
        a = ang + dang * t
        if style == "ground":
            jitter = rng.normal(0, 0.3, 2)
        else:
            jitter = np.zeros(2)
            vel += rng.normal(0, 0.05, 2) * W / 256
        center = center + vel
        for k in range(2):  # keep the view on the canvas
            if center[k] < margin or center[k] > n - margin:
                vel[k] = -vel[k]
                center[k] = np.clip(center[k], margin, n - margin)
        c, s = math.cos(a) * z, math.sin(a) * z
        lin = np.array([[c, -s], [s, c]])
        off = np.array([W / 2, H / 2]) - lin @ (center + jitter)
        cams[t, :, :2], cams[t, :, 2] = lin, off
    return cams


def _inverse(cam: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(cam)


def render_video(seed: int, index: int, *, n_frames: int = 32, size: Sequence[int] = (256, 256),
                 style: str = "aerial", n_observers: int = 8) -> SyntheticVideo:
    """Render video ``index`` of a synthetic dataset with ``seed`` in memory (see module docstring)."""
    if style not in ("aerial", "ground"):
        raise ValueError(f"style must be 'aerial' or 'ground', got {style!r}")
    H, W = int(size[0]), int(size[1])
    if H < 16 or W < 16 or n_frames < 1:
        raise ValueError(f"size must be at least 16x16 and n_frames >= 1, got size={size}, n_frames={n_frames}")
    rng = np.random.default_rng([seed, index, 0])
    scale = min(H, W) / 256
    n = int(2 * max(H, W))
    bg = _background(rng, n, style)
    cams = _cameras(rng, n_frames, H, W, n, style)
    T = n_frames
    # salient objects in scene coordinates
    n_obj = int(rng.integers(1, 4)) if style == "aerial" else int(rng.integers(1, 3))
    objs = []
    inv0 = _inverse(cams[0])
    for _ in range(n_obj):
        poly, detail = _shape(rng)
        osize = rng.uniform(12, 30) * scale if style == "aerial" else rng.uniform(36, 90) * scale
        start = _to_image(rng.uniform([0.2 * W, 0.2 * H], [0.8 * W, 0.8 * H])[None], inv0)[0]
        speed = rng.uniform(1.2, 3.0) * scale if style == "aerial" else rng.uniform(1.5, 3.5) * scale
        heading = rng.uniform(0, 2 * np.pi)
        turn = rng.normal(0, 0.03, T).cumsum() * 0.3
        pos = np.zeros((T, 2))
        head = np.zeros(T)
        p = start.copy()
        for t in range(T):
            img_p = _to_image(p[None], cams[t])[0]
            # steer back towards the view when close to its border
            if not (0.12 * W < img_p[0] < 0.88 * W and 0.12 * H < img_p[1] < 0.88 * H):
                to_c = _to_image(np.array([[W / 2, H / 2]]), _inverse(cams[t]))[0] - p
                target = math.atan2(to_c[1], to_c[0])
                d = (target - heading + np.pi) % (2 * np.pi) - np.pi
                heading += 0.25 * d
            heading += turn[t] * 0.2 + rng.normal(0, 0.02)
            pos[t], head[t] = p, heading
            p = p + speed * np.array([math.cos(heading), math.sin(heading)])
        color = _bright_color(rng)
        dcol = tuple(int(v) for v in np.clip(np.array(color) * rng.choice([0.45, 1.6]), 0, 255))
        objs.append((poly, detail, osize, pos, head, color, dcol))
    # scene-fixed distractors: same family of shapes and colours, never moving in the scene
    distract = []
    for _ in range(int(rng.integers(2, 5))):
        poly, detail = _shape(rng)
        dsize = (rng.uniform(10, 28) * scale if style == "aerial" else rng.uniform(30, 70) * scale)
        at = _to_image(rng.uniform([0.1 * W, 0.1 * H], [0.9 * W, 0.9 * H])[None], inv0)[0]
        distract.append((_place(poly, dsize, rng.uniform(0, 2 * np.pi), at),
                         _place(detail, dsize, 0.0, at), _bright_color(rng)))
    for shp, det, col in distract:  # drawn into the canvas: they move only with the camera
        _fill(bg, shp, col)
    hud = None
    if rng.uniform() < 0.5:  # camera-locked overlay
        poly, _ = _shape(rng, rng.choice(["box", "ellipse"]))
        hs = rng.uniform(12, 24) * scale
        corner = np.array([rng.choice([0.12, 0.88]) * W, rng.choice([0.12, 0.88]) * H])
        hud = (_place(poly, hs, 0.0, corner), _bright_color(rng))
    # occluders on object paths (scene-fixed), background-coloured
    occl = []
    if rng.uniform() < 0.6:
        for _ in range(int(rng.integers(1, 3))):
            o = objs[int(rng.integers(n_obj))]
            t_occ = int(rng.integers(T // 3, T))  # on the path, after the start: occlusion now and then
            poly, _ = _shape(rng, "blob")
            osz = o[2] * rng.uniform(0.7, 1.2)
            side = rng.normal(0, 1, 2)
            at = o[3][t_occ] + 0.45 * o[2] * side / (np.linalg.norm(side) + 1e-9)  # partial overlap
            col = tuple(int(v) for v in (rng.uniform(0.5, 0.9) * np.array([60, 90, 50] if style == "aerial" else [90, 80, 70])))
            occl.append((_place(poly, osz, rng.uniform(0, 6.3), at), col))
    # per-frame effects
    blur_on = np.zeros(T, bool)
    if rng.uniform() < 0.35:
        a = int(rng.integers(0, T))
        blur_on[a:a + int(rng.integers(2, 7))] = True
    blur_sigma = rng.uniform(1.0, 2.2) * scale
    gain = 1 + rng.uniform(0, 0.12) * np.sin(2 * np.pi * np.arange(T) / rng.uniform(12, 48) + rng.uniform(0, 6.3))
    if rng.uniform() < 0.3:
        a = int(rng.integers(0, T))
        gain[a:a + int(rng.integers(3, 12))] *= rng.uniform(0.65, 0.85)
    ramp = np.linspace(-1, 1, W, dtype=np.float32)[None, :] * rng.uniform(-0.12, 0.12)
    ramp = ramp + np.linspace(-1, 1, H, dtype=np.float32)[:, None] * rng.uniform(-0.12, 0.12)

    frames = np.empty((T, H, W, 3), np.uint8)
    masks = np.zeros((T, H, W), np.uint8)
    distr = np.zeros((T, H, W), np.uint8)
    centers = np.zeros((T, n_obj, 2), np.float32)
    for t in range(T):
        cam = cams[t]
        img = cv2.warpAffine(bg, cam, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        for shp, det, _ in distract:
            _fill(distr[t], _to_image(shp, cam), 1, aa=False)
        for k, (poly, detail, osize, pos, head, color, dcol) in enumerate(objs):
            shp = _to_image(_place(poly, osize, head[t], pos[t]), cam)
            _fill(img, shp, color)
            _fill(img, _to_image(_place(detail, osize, head[t], pos[t]), cam), dcol)
            _fill(masks[t], shp, 255, aa=False)
            centers[t, k] = _to_image(pos[t][None], cam)[0]
        for shp, col in occl:
            ishp = _to_image(shp, cam)
            _fill(img, ishp, col)
            _fill(masks[t], ishp, 0, aa=False)
            _fill(distr[t], ishp, 0, aa=False)
        if blur_on[t]:
            img = cv2.GaussianBlur(img, (0, 0), blur_sigma)
        g = (gain[t] * (1 + ramp)).astype(np.float32)[..., None]
        f = img.astype(np.float32) * g + rng.normal(0, 2.0, (H, W, 1)).astype(np.float32)
        img = np.clip(f, 0, 255).astype(np.uint8)
        if hud is not None:
            _fill(img, hud[0], hud[1])
            _fill(distr[t], hud[0], 1, aa=False)
        frames[t] = img
    distr &= (masks == 0)

    points = _gaze(np.random.default_rng([seed, index, 1]), centers, objs, distract, cams, H, W, n_observers, scale)
    fix = np.zeros((T, H, W), np.uint8)
    dens = np.zeros((T, H, W), np.uint8)
    sigma = 0.025 * W
    for t in range(T):
        p = points[points[:, 0] == t]
        if len(p):
            fix[t, np.round(p[:, 3]).astype(int).clip(0, H - 1), np.round(p[:, 2]).astype(int).clip(0, W - 1)] = 255
            d = cv2.GaussianBlur(fix[t].astype(np.float32), (0, 0), sigma)
            dens[t] = np.round(d / d.max() * 255).astype(np.uint8)
    return SyntheticVideo(frames, masks, distr.astype(bool), points, fix, dens, centers, cams)


def _gaze(rng, centers, objs, distract, cams, H, W, n_obs, scale) -> np.ndarray:
    """Simulated observers: pursuit of a salient object, saccades, exploration with centre bias."""
    T, n_obj, _ = centers.shape
    rows = []
    for s in range(n_obs):
        target = int(rng.integers(n_obj))
        bias = rng.normal(0, 1, 2) * objs[target][2] * 0.15
        gaze = centers[0, target] + bias
        explore_left, explore_pt = 0, None
        for t in range(T):
            if explore_left == 0 and rng.uniform() < 0.06:  # saccade to another object or explore
                r = rng.uniform()
                if r < 0.55 and n_obj > 1:
                    target = int(rng.integers(n_obj))
                    bias = rng.normal(0, 1, 2) * objs[target][2] * 0.15
                elif r < 0.8:
                    explore_left = int(rng.integers(2, 6))
                    explore_pt = np.array([W / 2, H / 2]) + rng.normal(0, 1, 2) * [0.18 * W, 0.18 * H]
                else:
                    explore_left = int(rng.integers(2, 5))
                    d = distract[int(rng.integers(len(distract)))][0].mean(0)
                    explore_pt = _to_image(d[None], cams[t])[0]
            if explore_left > 0:
                aim = explore_pt
                explore_left -= 1
                gaze = aim + rng.normal(0, 2.0 * scale, 2)
            else:
                aim = centers[t, target] + bias
                gaze = gaze + 0.75 * (aim - gaze)  # pursuit lag
                if np.linalg.norm(aim - gaze) > 20 * scale:  # catch-up saccade
                    gaze = aim.copy()
                gaze = gaze + rng.normal(0, 1.5 * scale, 2)
            x, y = float(gaze[0]), float(gaze[1])
            if 0 <= x <= W - 1 and 0 <= y <= H - 1:
                rows.append((t, s, x, y))
    return np.asarray(rows, np.float32).reshape(-1, 4)


# ----------------------------------------------------------------------------- writing

def _png(path: Path, img: np.ndarray) -> None:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img, _PNG)
    if not ok:
        raise OSError(f"PNG encoding failed for {path}")
    path.write_bytes(buf.tobytes())


def _write_video(folder: Path, kind: str, vid: SyntheticVideo) -> None:
    T = vid.frames.shape[0]
    if kind == "vsod":
        (folder / "Imgs").mkdir(parents=True)
        (folder / "GT_object").mkdir()
        for t in range(T):
            _png(folder / "Imgs" / f"{t:05d}.png", vid.frames[t])
            _png(folder / "GT_object" / f"{t:05d}.png", vid.masks[t])
        return
    for sub in ("images", "maps", "fixation"):
        (folder / sub).mkdir(parents=True)
    for t in range(T):
        _png(folder / "images" / f"{t + 1:04d}.png", vid.frames[t])
        _png(folder / "maps" / f"{t + 1:04d}.png", vid.density[t])
        _png(folder / "fixation" / f"{t + 1:04d}.png", vid.fixation[t])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["frame", "subject", "x", "y"])
    for f, s, x, y in vid.points:
        w.writerow([int(f) + 1, f"S{int(s) + 1:02d}", f"{x:.2f}", f"{y:.2f}"])
    (folder / "fixation_points.csv").write_text(buf.getvalue())


def _splits(names: list[str], seed: int, fractions: Sequence[float]) -> dict[str, list[str]]:
    n = len(names)
    order = np.random.default_rng([seed, 987654321]).permutation(n)
    n_val = max(1, round(fractions[1] * n)) if n >= 3 else 0
    n_test = max(1, round(fractions[2] * n)) if n >= 3 else 0
    n_train = n - n_val - n_test
    pick = lambda idx: sorted(names[i] for i in idx)  # noqa: E731
    return {"train": pick(order[:n_train]), "val": pick(order[n_train:n_train + n_val]),
            "test": pick(order[n_train + n_val:])}


def make_dataset(root: str | os.PathLike, *, kind: str, n_videos: int, n_frames: int,
                 size: Sequence[int] = (256, 256), style: str = "aerial", seed: int = 0,
                 n_observers: int = 8, splits: Sequence[float] = (0.7, 0.15, 0.15),
                 workers: int = 2, progress: bool = True) -> Path:
    """Write a synthetic dataset to ``root`` (atomically, replacing an earlier synthetic dataset there;
    any other non-empty folder is refused) and return ``root``.

    ``kind="vsod"``: benchmark-toolkit layout ``<video>/Imgs/00000.png`` + ``<video>/GT_object/``;
    ``kind="fixation"``: DHF1K layout ``<video>/images|maps|fixation/0001.png`` +
    ``<video>/fixation_points.csv``. Also writes ``salkd_synthetic.json`` (parameters) and
    ``splits.json`` (train/val/test video names, fractions ``splits``). PNG throughout (lossless,
    byte-deterministic). ``workers`` threads render videos in parallel (output does not depend on it).
    """
    if kind not in ("vsod", "fixation"):
        raise ValueError(f"kind must be 'vsod' or 'fixation', got {kind!r}")
    if style not in ("aerial", "ground"):
        raise ValueError(f"style must be 'aerial' or 'ground', got {style!r}")
    if int(n_videos) < 1 or int(n_frames) < 1:
        raise ValueError(f"n_videos and n_frames must be >= 1, got {n_videos}, {n_frames}")
    if len(size) != 2 or min(int(s) for s in size) < 16:
        raise ValueError(f"size must be (H, W) with H, W >= 16, got {size!r}")
    if len(splits) != 3 or abs(sum(splits) - 1) > 1e-6:
        raise ValueError(f"splits must be three fractions (train, val, test) summing to 1, got {splits}")
    from tqdm.auto import tqdm

    root = Path(root)
    if root.exists() and (not root.is_dir() or (any(root.iterdir()) and not (root / "salkd_synthetic.json").is_file())):
        raise FileExistsError(f"{root} exists and is not a salkd synthetic dataset; refusing to replace it "
                              "(expected a missing/empty folder or one holding salkd_synthetic.json)")
    size = (int(size[0]), int(size[1]))
    names = [f"{i + 1:04d}" for i in range(int(n_videos))]

    def job(i: int, tmp: Path) -> None:
        vid = render_video(seed, i, n_frames=int(n_frames), size=size, style=style, n_observers=n_observers)
        _write_video(tmp / names[i], kind, vid)

    with atomic_dir(root) as tmp:
        with tqdm(total=len(names), desc=f"synthetic {kind}/{style}", unit="video", disable=not progress) as bar:
            if workers > 1:
                with ThreadPoolExecutor(int(workers)) as ex:
                    futs = [ex.submit(job, i, tmp) for i in range(len(names))]
                    for fut in as_completed(futs):
                        fut.result()
                        bar.update()
            else:
                for i in range(len(names)):
                    job(i, tmp)
                    bar.update()
        params = {"generator": "salkd.data.synthetic", "version": GENERATOR_VERSION, "kind": kind,
                  "style": style, "n_videos": int(n_videos), "n_frames": int(n_frames), "size": list(size),
                  "seed": int(seed), "n_observers": int(n_observers), "splits": list(splits),
                  "layout": "toolkit" if kind == "vsod" else "dhf1k"}
        (tmp / "salkd_synthetic.json").write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
        (tmp / "splits.json").write_text(json.dumps(_splits(names, seed, splits), indent=2) + "\n")
    return root
