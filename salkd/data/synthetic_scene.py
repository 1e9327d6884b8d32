"""Scene pieces of the synthetic generator: shapes, background canvas, cameras, objects, distractors, effects."""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np


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


# ----------------------------------------------------------------------------- camera

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


# ----------------------------------------------------------------------------- scene contents

def _objects(rng, cams, inv0, T, H, W, scale, style) -> list[tuple]:
    """Salient objects in scene coordinates: ``(poly, detail, size, pos (T, 2), heading (T,), color,
    detail color)`` each, moving through the scene with turning trajectories that stay in view."""
    n_obj = int(rng.integers(1, 4)) if style == "aerial" else int(rng.integers(1, 3))
    objs = []
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
    return objs


def _distractors(rng, inv0, H, W, scale, style) -> list[tuple]:
    """Scene-fixed distractors ``(polygon, detail, color)``: same family of shapes and colours as the
    objects, never moving in the scene."""
    distract = []
    for _ in range(int(rng.integers(2, 5))):
        poly, detail = _shape(rng)
        dsize = (rng.uniform(10, 28) * scale if style == "aerial" else rng.uniform(30, 70) * scale)
        at = _to_image(rng.uniform([0.1 * W, 0.1 * H], [0.9 * W, 0.9 * H])[None], inv0)[0]
        distract.append((_place(poly, dsize, rng.uniform(0, 2 * np.pi), at),
                         _place(detail, dsize, 0.0, at), _bright_color(rng)))
    return distract


def _overlay(rng, H, W, scale) -> tuple | None:
    """A camera-locked overlay ``(polygon, color)`` in a corner of the image, or None (half the videos)."""
    hud = None
    if rng.uniform() < 0.5:  # camera-locked overlay
        poly, _ = _shape(rng, rng.choice(["box", "ellipse"]))
        hs = rng.uniform(12, 24) * scale
        corner = np.array([rng.choice([0.12, 0.88]) * W, rng.choice([0.12, 0.88]) * H])
        hud = (_place(poly, hs, 0.0, corner), _bright_color(rng))
    return hud


def _occluders(rng, objs, T, style) -> list[tuple]:
    """Scene-fixed, background-coloured occluders ``(polygon, color)`` on object paths."""
    n_obj = len(objs)
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
    return occl


def _effects(rng, T, H, W, scale) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Per-frame effects: blur episode ``blur_on (T,)`` with ``blur_sigma``, illumination ``gain (T,)``
    (smooth, with a step now and then) and a spatial illumination ``ramp (H, W)``."""
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
    return blur_on, blur_sigma, gain, ramp
