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

Code: the scene pieces (shapes, background, cameras, objects, distractors, occluders, effects) are
in :mod:`salkd.data.synthetic_scene`; rendering, the gaze model and writing are here.
"""
from __future__ import annotations

import csv
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..atomic import atomic_dir, remove_stale_temps
from ..locks import locked
from .synthetic_scene import (
    _background,
    _cameras,
    _distractors,
    _effects,
    _fill,
    _inverse,
    _objects,
    _occluders,
    _overlay,
    _place,
    _to_image,
)

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


# ----------------------------------------------------------------------------- rendering

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
    # the scene stream is drawn in this order: background, camera, objects, distractors, overlay,
    # occluders, per-frame effects, then sensor noise frame by frame
    inv0 = _inverse(cams[0])
    objs = _objects(rng, cams, inv0, T, H, W, scale, style)
    distract = _distractors(rng, inv0, H, W, scale, style)
    for shp, det, col in distract:  # drawn into the canvas: they move only with the camera
        _fill(bg, shp, col)
    hud = _overlay(rng, H, W, scale)
    occl = _occluders(rng, objs, T, style)
    effects = _effects(rng, T, H, W, scale)
    frames, masks, distr, centers = _render_frames(rng, bg, cams, objs, distract, hud, occl, effects, H, W)
    points = _gaze(np.random.default_rng([seed, index, 1]), centers, objs, distract, cams, H, W, n_observers, scale)
    fix, dens = _fixation_maps(points, T, H, W)
    return SyntheticVideo(frames, masks, distr.astype(bool), points, fix, dens, centers, cams)


def _render_frames(rng, bg, cams, objs, distract, hud, occl, effects, H, W):
    """Frames ``(T, H, W, 3)``, masks, distractor pixels (uint8, outside the masks) and object
    centres ``(T, n_obj, 2)``: the canvas through each camera, objects, occluders, effects and noise."""
    T = cams.shape[0]
    n_obj = len(objs)
    blur_on, blur_sigma, gain, ramp = effects
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
    return frames, masks, distr, centers


def _fixation_maps(points: np.ndarray, T: int, H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    """Binary fixation maps (0/255) and density maps (fixations blurred with sigma = 2.5 % of W,
    scaled to max 255) from the gaze ``points``."""
    fix = np.zeros((T, H, W), np.uint8)
    dens = np.zeros((T, H, W), np.uint8)
    sigma = 0.025 * W
    for t in range(T):
        p = points[points[:, 0] == t]
        if len(p):
            fix[t, np.round(p[:, 3]).astype(int).clip(0, H - 1), np.round(p[:, 2]).astype(int).clip(0, W - 1)] = 255
            d = cv2.GaussianBlur(fix[t].astype(np.float32), (0, 0), sigma)
            dens[t] = np.round(d / d.max() * 255).astype(np.uint8)
    return fix, dens


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
    Generation holds the dataset's lock (a second process waits) and first removes the hidden temporary
    folder a killed generation of ``root`` left behind.
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
    with locked(root, wait=True, what="dataset"):  # one generation at a time
        remove_stale_temps(root)  # the hidden .<name>.*.tmp folder of a killed generation
        ours = (root / "salkd_synthetic.json").is_file()
        if root.exists() and (not root.is_dir() or (any(root.iterdir()) and not ours)):
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
