"""Maps the distillation test scores besides the students: the teacher's, the centred Gaussian, the mean
map of the labels a row trained on (what memorising them gives), and the human ceiling from the gaze of
individual observers.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from salkd import paths
from salkd.atomic import save_npy
from salkd.context import Context
from salkd.data import Video
from salkd.map_sources import center_gaussian  # the baseline every model must clear (shared)

__all__ = ["teacher_run", "teacher_identity", "teacher_maps", "teacher_map_file", "reduce_maps", "center_gaussian", "mean_map",
           "human_ceiling"]


def teacher_run(ctx: Context) -> Path:
    """The run folder of ``distill.teacher``: a published teacher (e.g. ``tinyhd_m``, nothing trained) or a
    teacher arch of the profile, trained (or reused) as notebook 01 does."""
    from salkd.papers.teachers import train_teacher

    return train_teacher(ctx.base(), str(ctx.cfg["distill"]["teacher"]), "fixation")


def teacher_identity(run: Path) -> str:
    """What identifies a teacher's maps: the published weights' SHA256, or the trained checkpoint's mtime."""
    from salkd.runs import read_json

    from salkd.map_sources import FIXATION_MAPS

    cfg = read_json(run / "config.json")
    if cfg.get("pretrained"):
        return f"{cfg['pretrained']}:{cfg['sha256']}:{FIXATION_MAPS}"
    ck = run / "checkpoint.pt"
    return f"{run.name}:{ck.stat().st_mtime_ns}:{FIXATION_MAPS}"


def teacher_maps(ctx: Context, run: Path, videos: Sequence[Video], *, progress: bool | None = None
                 ) -> dict[str, np.ndarray]:
    """``{video: (T, h, w) uint8}``: the teacher's map of every frame, each video run whole (a published video
    teacher such as TinyHD sees its clips of past frames), at the teacher's output size, each frame's map scaled
    to peak 255 as the gaze density labels are (:data:`salkd.map_sources.FIXATION_MAPS`). Cached per video
    under ``<cache>/distill-teacher/`` (key: the teacher's identity and the video's frame paths), so the same
    video is never run twice."""
    from tqdm.auto import tqdm

    files = {v.name: teacher_map_file(run, v) for v in videos}
    todo = [v for v in videos if not files[v.name].is_file()]
    if todo:
        predict = _predictor(ctx, run)
        show = ctx.progress if progress is None else progress
        for v in tqdm(todo, desc=f"teacher maps ({run.name})", unit="video", disable=not show, delay=1.0):
            save_npy(files[v.name], predict(v))
    return {v.name: np.load(files[v.name]) for v in videos}


def teacher_map_file(run: Path, video: Video) -> Path:
    """Where :func:`teacher_maps` caches the teacher's maps of ``video`` (key: the teacher's identity and the
    video's frame paths)."""
    base = paths.cache_dir() / "distill-teacher" / hashlib.sha256(teacher_identity(run).encode()).hexdigest()[:12]
    return base / f"{hashlib.sha256(('|'.join(str(f) for f in video.frames)).encode()).hexdigest()[:16]}.npy"


def _predictor(ctx: Context, run: Path) -> Any:
    """A function ``video -> (T, h, w) uint8`` maps of the teacher of ``run``."""
    from salkd.runs import read_json

    cfg = read_json(run / "config.json")
    if cfg.get("pretrained"):
        from salkd.map_sources import video_maps
        from salkd.models import pretrained

        model = pretrained.load(str(cfg["pretrained"]))
        return lambda v: video_maps(model, [v.read_frame(t) for t in range(len(v))])
    from salkd.data.lowres import reduce
    from salkd.device import resolve_device
    from salkd.evaluate import predict_cache
    from salkd.models import from_run
    from salkd.sizes import as_size

    if cfg.get("arch") == "tsnet":
        raise ValueError("distill.teacher must be a frame teacher (dva, salnet, ssnet) or a published one; "
                         "tsnet needs optical flow")
    dev = resolve_device(str(ctx.device))
    model = from_run(run).to(dev).eval()
    size = as_size(cfg["res"])

    def predict(v: Video) -> np.ndarray:
        frames = np.stack([reduce(v.read_frame(t), size) for t in range(len(v))])
        maps = predict_cache(model, frames, device=dev)
        maps = maps / np.maximum(maps.reshape(len(maps), -1).max(axis=1), 1e-12)[:, None, None]
        return np.clip(maps * 255.0 + 0.5, 0, 255).astype(np.uint8)

    return predict


def reduce_maps(maps: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """uint8 maps reduced with R (area) to ``size``."""
    from salkd.data.lowres import reduce

    small = np.stack([reduce(m.astype(np.float32) / 255.0, size) for m in maps])
    return np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8)


def mean_map(maps: Sequence[np.ndarray], size: Sequence[int] = (90, 160)) -> np.ndarray:
    """The mean of maps of any sizes (each resized to ``size`` first), uint8 scaled to peak 255: the constant
    map of a row that memorised its labels' average."""
    import cv2

    h, w = int(size[0]), int(size[1])
    acc = np.zeros((h, w), np.float64)
    n = 0
    for m in maps:
        m = np.asarray(m, np.float32)
        if m.shape != (h, w):
            m = cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA)
        acc += m
        n += 1
    if n == 0:
        raise ValueError("mean_map of no maps")
    acc /= max(acc.max(), 1e-12)
    return (acc * 255.0 + 0.5).astype(np.uint8)


def _points(csv_path: Path) -> dict[int, list[tuple[str, float, float]]]:
    import pandas as pd

    df = pd.read_csv(csv_path)
    missing = {"frame", "subject", "x", "y"} - set(df.columns)
    if missing:
        raise ValueError(f"{csv_path}: missing column(s) {sorted(missing)} (expected frame, subject, x, y)")
    out: dict[int, list[tuple[str, float, float]]] = {}
    for f, s, x, y in zip(df["frame"], df["subject"], df["x"], df["y"]):
        out.setdefault(int(f), []).append((str(s), float(x), float(y)))
    return out


def _blur(points: Sequence[tuple[float, float]], h: int, w: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The binary fixation map of ``points`` and its Gaussian density (``sigma`` px), both (h, w)."""
    import cv2

    fix = np.zeros((h, w), np.float32)
    for x, y in points:
        xi, yi = int(round(x)), int(round(y))
        if 0 <= xi < w and 0 <= yi < h:
            fix[yi, xi] = 1.0
    dens = cv2.GaussianBlur(fix, (0, 0), sigma)
    return fix, dens


def human_ceiling(videos: Sequence[Video], *, splits: int = 5, sigma: float = 15.0, seed: int = 0
                  ) -> dict[str, dict[str, float]]:
    """Split-half inter-observer agreement per video (clip): for each frame, the observers are split in two
    random halves ``splits`` times; the density map of one half (Gaussian, ``sigma`` px, as the dataset's
    maps) is scored on the other half's fixations (NSS) and density (CC). Returns ``{video: {"nss", "cc",
    "cc_sb", "frames"}}`` with the means over frames and splits; ``cc_sb`` is the split-half CC corrected to
    all observers by Spearman-Brown (``2r / (1 + r)``). NSS is left uncorrected (a lower bound: each half
    has half the observers). Videos without per-observer points (``fixation_points.csv`` with a ``subject``
    column) are left out."""
    from salkd.metrics.reference import cc, nss

    rng = np.random.default_rng(seed)
    cache: dict[Path, dict[int, list[tuple[str, float, float]]]] = {}
    out: dict[str, dict[str, float]] = {}
    for v in videos:
        if v.points_csv is None:
            continue
        if v.points_csv not in cache:
            cache[v.points_csv] = _points(Path(v.points_csv))
        pts = cache[v.points_csv]
        h, w = v.frame_size(0)
        n_s, c_s, count = [], [], 0
        for i, f in enumerate(v.frames):
            digits = "".join(ch for ch in Path(f).stem if ch.isdigit())
            rows = pts.get(int(digits) if digits else i + 1, [])
            subjects = sorted({s for s, _, _ in rows})
            if len(subjects) < 4:
                continue
            count += 1
            for _ in range(splits):
                perm = list(rng.permutation(len(subjects)))
                a = {subjects[j] for j in perm[: len(subjects) // 2]}
                pa = [(x, y) for s, x, y in rows if s in a]
                pb = [(x, y) for s, x, y in rows if s not in a]
                _, da = _blur(pa, h, w, sigma)
                fb, db = _blur(pb, h, w, sigma)
                n_s.append(nss(da, fb))
                c_s.append(cc(da, db))
        if count:
            r = float(np.nanmean(c_s))
            out[v.name] = {"nss": float(np.nanmean(n_s)), "cc": r, "cc_sb": 2 * r / (1 + r), "frames": count}
    return out
