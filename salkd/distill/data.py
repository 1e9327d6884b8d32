"""The data of the distillation test: a teacher-labelled corpus, held-out video for fidelity, a gaze-labelled
test video no student trains on, and the labelled pool of the label-scarcity curve.

The profile's ``distill`` section names them (:mod:`salkd.config`):

* ``corpus``: video only the teacher labels (sources as in :mod:`salkd.data.sources`; labels dropped);
* ``fidelity``: other video, not in the corpus, where a student's map is compared with its teacher's;
* ``test``: a fixation dataset with gaze (fixation + density maps): every frame of it is a test frame of
  the corpus-trained students, cut into clips of ``clip`` frames;
* ``scarcity``: the same test video split in time (``train`` fraction, ``gap`` frames dropped): k frames
  of its first part are the labelled frames of the label-scarcity rows, scored on its last part.

``"profile"`` in place of the sources takes the profile's own fixation splits (synthetic data in
``smoke`` / ``quick``): corpus = the training videos, fidelity = the validation videos, test = the test
videos (so no test video is ever trained on, as on real data).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from salkd.context import Context, profile_path
from salkd.data import DatasetError, Video, VideoDataset, open_dataset

__all__ = ["check_held_out", "corpus", "fidelity_set", "test_set", "gaze_videos", "scarcity_pool", "scarcity_test", "training_set", "clips",
           "spread", "pool_name"]


def _section(ctx: Context) -> dict[str, Any]:
    sec = ctx.cfg.get("distill")
    if not sec:
        raise KeyError(f"profile {ctx.profile!r} has no 'distill' section")
    return sec


def _frames_only(ds: VideoDataset, name: str) -> VideoDataset:
    """``ds`` with its labels dropped, videos named ``<name>/<video>``, task ``"frames"``."""
    vids = [Video(f"{name}/{v.name}", list(v.frames)) for v in ds.videos]
    return VideoDataset(Path(ds.root), ds.layout, "frames", vids, "train", {"sources": [{"name": name}]})


def _open_frames(ctx: Context, key: str, profile_split: str) -> VideoDataset:
    """The frames-only dataset of ``distill.<key>`` (sources, or ``"profile"``: that split of the profile)."""
    from salkd.data.sources import open_unlabeled, parse_sources

    spec = _section(ctx)[key]
    if spec == "profile":
        return _frames_only(ctx.dataset("fixation", profile_split), profile_split)
    sources = parse_sources(spec, f"distill.{key}")
    return ctx.opened(("distill", key, repr(spec)), lambda: open_unlabeled(sources, profile_path))


def corpus(ctx: Context) -> VideoDataset:
    """The teacher-labelled corpus (``distill.corpus``): frames only."""
    return _open_frames(ctx, "corpus", "train")


def fidelity_set(ctx: Context) -> VideoDataset:
    """Video held out of the corpus for the fidelity table (``distill.fidelity``): frames only. A video also
    in the corpus raises ``DatasetError``."""
    fid = _open_frames(ctx, "fidelity", "val")
    check_held_out(fid, corpus(ctx), "distill.fidelity", "distill.corpus")
    return fid


def check_held_out(held: VideoDataset, pool: VideoDataset, held_key: str, pool_key: str) -> None:
    """Raise ``DatasetError`` naming the settings when a video of ``held`` starts on a frame of ``pool``."""
    shared = {str(f) for v in held.videos for f in v.frames[:1]} & {str(f) for v in pool.videos for f in v.frames}
    if shared:
        raise DatasetError(f"{held_key} shares frames with {pool_key} (e.g. {sorted(shared)[0]}): the videos of "
                           f"{held_key} must be held out of {pool_key}")


def gaze_videos(ctx: Context) -> list[Video]:
    """The whole gaze-labelled test videos (``distill.test``)."""
    spec = _section(ctx)["test"]
    if spec == "profile":
        ds = ctx.dataset("fixation", "test")
        if ds.info.get("sources") is None and any("@" in v.name for v in ds.videos):
            raise DatasetError("distill.test = 'profile' needs whole test videos; the profile splits its "
                               "fixation data in time (name a test dataset in distill.test)")
        return list(ds.videos)
    ds = open_dataset(profile_path(spec))
    if ds.task != "fixation":
        raise DatasetError(f"distill.test {spec!r} ({ds.root}) has no fixation or density maps (task {ds.task!r})")
    return list(ds.videos)


def clips(videos: Sequence[Video], clip: int, start: float = 0.0, gap: int = 0,
          stop: float = 1.0) -> list[Video]:
    """Each video from ``start`` (fraction of its frames, plus ``gap`` frames) to ``stop`` cut into clips of
    ``clip`` frames (a short remainder joins the last clip)."""
    out = []
    for v in videos:
        n = len(v)
        a, b = int(round(n * start)) + (gap if start > 0 else 0), int(round(n * stop))
        if b - a < 1:
            raise DatasetError(f"video {v.name!r} has {n} frames: nothing left between {start:.0%} (+{gap}) and "
                               f"{stop:.0%}")
        starts = list(range(a, b, max(1, int(clip))))
        if len(starts) > 1 and b - starts[-1] < clip:
            starts.pop()
        ends = starts[1:] + [b]
        out += [v.segment(s, e) for s, e in zip(starts, ends)]
    return out


def _dataset(name: str, videos: Sequence[Video], split: str) -> VideoDataset:
    """A fixation dataset of ``videos`` under its own (virtual) root ``name`` (its own low-res cache)."""
    root = Path("/salkd-virtual") / name
    return VideoDataset(root, "distill", "fixation", list(videos), split, {})


def test_set(ctx: Context) -> VideoDataset:
    """Every frame of the gaze-labelled test video(s), in clips of ``distill.clip`` frames."""
    vids = gaze_videos(ctx)
    tag = hashlib.sha256("|".join(str(v.frames[0]) for v in vids).encode()).hexdigest()[:8]
    return _dataset(f"distill-test-{tag}", clips(vids, int(_section(ctx)["clip"])), "test")


def scarcity_pool(ctx: Context) -> list[Video]:
    """The labelled pool of the label-scarcity rows: the first ``scarcity.train`` of each test video."""
    sp = _section(ctx)["scarcity"]
    out = []
    for v in gaze_videos(ctx):
        n_train = int(round(len(v) * float(sp["train"])))
        out.append(v.segment(0, n_train))
    return out


def scarcity_test(ctx: Context) -> VideoDataset:
    """The label-scarcity test frames: each test video after its pool and ``scarcity.gap`` frames, in clips."""
    sp = _section(ctx)["scarcity"]
    vids = gaze_videos(ctx)
    tag = hashlib.sha256(f"{sp}|".encode() + "|".join(str(v.frames[0]) for v in vids).encode()).hexdigest()[:8]
    return _dataset(f"distill-scarcity-{tag}",
                    clips(vids, int(_section(ctx)["clip"]), float(sp["train"]), int(sp["gap"])), "test")


def spread(n: int, k: int) -> list[int]:
    """``k`` frame indices of ``0..n-1`` spread evenly in time (all of them when ``k >= n``)."""
    if k <= 0:
        return []
    if k >= n:
        return list(range(n))
    return sorted({int(i) for i in np.linspace(0, n - 1, k).round()})


def pool_name(video: Video) -> str:
    """The name of a pool video inside the training set."""
    return f"labelled/{video.name}"


def training_set(ctx: Context) -> VideoDataset:
    """One training dataset for every row: the corpus (no labels) and the labelled pool (gaze labels on
    every frame; a row picks its k frames, :func:`spread`). One low-res cache serves all rows."""
    cor = corpus(ctx)
    n = lambda v: [None] * len(v)  # noqa: E731
    vids = [Video(v.name, list(v.frames), None, n(v), n(v)) for v in cor.videos]
    vids += [Video(pool_name(v), list(v.frames), None, v.fixations, v.density, v.points_csv)
             for v in scarcity_pool(ctx)]
    tag = hashlib.sha256("|".join(f"{v.name}:{v.frames[0]}:{len(v)}" for v in vids).encode()).hexdigest()[:8]
    return _dataset(f"distill-train-{tag}", vids, "train")
