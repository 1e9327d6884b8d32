"""Published teachers (CSNet, TinyHD) and fixed baselines as map sources for distillation and evaluation.

A published teacher is not trained here: :func:`pretrained_run` writes a run folder that names its
weights (path and SHA256) so that students, tables and claims treat it like any teacher run.
:func:`source_maps` runs it once over every *whole* source video of a split (a segment of a video split
in time still sees its own past frames, as TinyHD's clip schedule needs) and caches the maps as uint8 at
the model's output size. :func:`center_prior_maps` is the fixed centred Gaussian every learned model
must beat.

* CSNet: S.-H. Gao et al., *Highly Efficient Salient Object Detection with 100K Parameters*, ECCV 2020;
  one map per frame, ``sigmoid(logits)`` at 224x224.
* TinyHD: F. Hu et al., *TinyHD: Efficient Video Saliency Prediction with Heterogeneous Decoders using
  Hierarchical Maps Distillation*, WACV 2023; one map per frame from the authors' clip schedule (16
  frames; the M variant gives 16 maps per clip) at 192x256.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from salkd import paths
from salkd.atomic import save_npy, write_json
from salkd.runs import config_matches, environment, is_complete

__all__ = ["is_pretrained", "pretrained_run", "baseline_run", "run_maps", "source_maps", "video_maps", "center_prior_maps", "center_gaussian", "published_cost",
           "weights_sha256"]


def is_pretrained(arch: str) -> bool:
    """True when ``arch`` names a published teacher of :mod:`salkd.models.pretrained`."""
    from salkd.models import pretrained

    return arch in pretrained.names()


def weights_sha256(name: str) -> tuple[Path, str]:
    """The weights file salkd loads for ``name`` and its SHA256 (the run's identity), hashed once per
    file version (path, size, modification time) in this process."""
    from salkd.models.pretrained import _resolve

    path = _resolve(name, None)
    st = path.stat()
    return path, _sha256(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _input_size(arch: str) -> tuple[int, int]:
    """The input size of a published teacher, without loading its weights."""
    from salkd.models.pretrained.csnet import CSNet
    from salkd.models.pretrained.tinyhd import TinyHD

    return tuple((CSNet if arch.startswith("csnet") else TinyHD).input_size)


def pretrained_run(ctx: Any, arch: str, task: str) -> Path:
    """The run folder of a published teacher: ``config.json`` (weights path and SHA256, the model as
    ``pretrained:<arch>``), ``env.json`` and ``metrics.json``; nothing is trained."""
    from salkd.models import pretrained

    path, sha = weights_sha256(arch)
    run = ctx.run_dir("teachers", f"{arch}-{task}")
    config = {"stage": "teachers", "arch": arch, "task": task, "pretrained": arch, "weights": str(path),
              "sha256": sha, "res": list(_input_size(arch)), "profile": ctx.profile,
              "model": {"name": f"pretrained:{arch}", "kwargs": {}}}
    if is_complete(run) and config_matches(run, config) and not ctx.force:
        return run
    pretrained.load(arch, path)  # a corrupt or mismatched weights file fails here, with its name
    run.mkdir(parents=True, exist_ok=True)
    write_json(run / "config.json", config)
    write_json(run / "env.json", environment("cpu"))
    write_json(run / "metrics.json", {"pretrained": arch, "trained_here": False})
    return run


def baseline_run(ctx: Any, name: str, task: str) -> Path:
    """The run folder of a fixed baseline (:data:`BASELINES`: ``center_prior``, ``train_mean``): nothing learned,
    no weights; ``train_mean``'s config records the training data's fingerprint (new data, new maps)."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
    run = ctx.run_dir("baselines", f"{name}-{task}")
    config = {"stage": "baselines", "arch": name, "task": task, "baseline": name, "profile": ctx.profile,
              "res": [64, 64], "model": {"name": f"baseline:{name}", "kwargs": {}}}
    if name == "train_mean":
        config["data_fingerprint"] = ctx.data_fingerprint(task)
    if not (is_complete(run) and config_matches(run, config)):
        run.mkdir(parents=True, exist_ok=True)
        write_json(run / "config.json", config)
        write_json(run / "metrics.json", {"baseline": name, "trained_here": False})
    return run


def run_maps(ctx: Any, run: Path, cfg: dict[str, Any], split: str,
             dataset: Any = None) -> dict[str, np.ndarray] | None:
    """The maps of a published teacher's or a baseline's run over ``split`` (None for a trained run);
    ``dataset``: a published teacher's maps over that :class:`~salkd.data.VideoDataset` instead."""
    if cfg.get("pretrained"):
        return source_maps(ctx, str(cfg["pretrained"]), str(cfg["task"]), split, dataset=dataset)
    if cfg.get("baseline") in BASELINES:
        return BASELINES[cfg["baseline"]](ctx, str(cfg["task"]), split)
    return None


def _predict_frames(model: torch.nn.Module, frames: list[np.ndarray], batch: int = 8) -> list[np.ndarray]:
    """CSNet: ``sigmoid(logits)`` of every frame, float32 at the model's input size."""
    out = []
    with torch.no_grad():
        for s in range(0, len(frames), batch):
            x = model.preprocess(frames[s:s + batch])
            out += list(torch.sigmoid(model(x))[:, 0].numpy())
    return out


#: how a video fixation teacher's maps are stored (part of their cache key): each frame's map divided by its
#: maximum, as the density labels are scaled to peak 255. TinyHD's sigmoid maps peak at only 0.04-0.25: stored
#: raw as uint8 they kept 10-60 grey levels, and as soft targets (skd eq. 3) they were 4-25x weaker than the
#: gaze labels they are mixed with (a student distilled from them alone could collapse to an all-dark map).
#: NSS, CC, SIM and KLD do not change under this scaling.
FIXATION_MAPS = "max1"


def video_maps(model: torch.nn.Module, frames: list[np.ndarray]) -> np.ndarray:
    """uint8 (T, h, w) maps of one whole video; a video fixation model's maps (TinyHD) each scaled to peak
    255 (:data:`FIXATION_MAPS`), a salient-object model's (CSNet) as they are."""
    if hasattr(model, "predict_video"):
        maps = [np.asarray(m, np.float32) for m in model.predict_video(frames)]
        maps = [m / m.max() if m.max() > 0 else m for m in maps]
    else:
        maps = _predict_frames(model, frames)
    return np.stack([np.clip(np.asarray(m, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8) for m in maps])


def source_maps(ctx: Any, arch: str, task: str, split: str, *, dataset: Any = None) -> dict[str, np.ndarray]:
    """``{video: (T, h, w) uint8}`` maps of the published teacher ``arch`` over the ``split``.

    Each source video is run whole, once, and cached under ``<cache>/pretrained/<arch>/<key>/``
    (key: the dataset root and the weights' SHA256); a segment (``<video>@<a>-<b>``) takes its frames'
    maps from its source video. ``dataset`` (e.g. :func:`salkd.data.sources.open_unlabeled`): its videos
    instead of the split, each run on its own frames (key: their frame paths and the weights' SHA256).
    """
    from tqdm.auto import tqdm

    from salkd.data import open_dataset
    from salkd.data.layouts import source_video
    from salkd.models import pretrained

    _, sha = weights_sha256(arch)
    known = _known_maps(ctx.dataset(task, split) if dataset is None else dataset, arch, sha)
    if known is not None:
        return known
    if task == "fixation":
        sha = f"{sha}|{FIXATION_MAPS}"  # maps stored under another convention get another key
    if dataset is None and ctx.dataset(task, split).info.get("sources") is not None:
        dataset = ctx.dataset(task, split)  # several sources (salkd.data.sources): no one root folder to reopen
    if dataset is None:
        ds = ctx.dataset(task, split)
        full = open_dataset(ds.root)
        key = hashlib.sha256(f"{Path(ds.root).resolve()}|{sha}".encode()).hexdigest()[:12]
        source_of = source_video
    else:
        ds = full = dataset
        frames = "\n".join(f"{v.name}|" + "|".join(str(f) for f in v.frames) for v in ds.videos)
        key = hashlib.sha256(f"{frames}|{sha}".encode()).hexdigest()[:12]
        source_of = str
    base = paths.cache_dir() / "pretrained" / arch / key
    sources = sorted({source_of(v.name) for v in ds.videos})
    todo = [s for s in sources if not (base / f"{s.replace('/', '__')}.npy").is_file()]
    model = pretrained.load(arch) if todo else None
    for s in tqdm(todo, desc=f"{arch} maps", disable=not ctx.progress or not todo, unit="video", delay=1.0):
        vid = full[s]
        save_npy(base / f"{s.replace('/', '__')}.npy", video_maps(model, [vid.read_frame(t) for t in range(len(vid))]))
    loaded: dict[str, tuple[np.ndarray, dict[str, int]]] = {}  # each source once (memory-mapped)
    out: dict[str, np.ndarray] = {}
    for v in ds.videos:
        s = source_of(v.name)
        if s not in loaded:
            loaded[s] = (np.load(base / f"{s.replace('/', '__')}.npy", mmap_mode="r"),
                         {str(p): i for i, p in enumerate(full[s].frames)})
        arr, index = loaded[s]
        out[v.name] = np.asarray(arr[[index[str(p)] for p in v.frames]])
    return out


def _known_maps(ds: Any, arch: str, sha: str) -> dict[str, np.ndarray] | None:
    """The maps of ``arch`` a dataset already carries (``info["teacher_maps"]``: the teacher-labelled data of
    :mod:`salkd.distill.labelled`, whose labels *are* these maps, cached per whole video), or None."""
    known = ds.info.get("teacher_maps") or {}
    if known.get("arch") != arch or known.get("sha256") != sha:
        return None
    from salkd.data.layouts import source_video

    whole = ds.info.get("whole_videos") or {}
    out: dict[str, np.ndarray] = {}
    for v in ds.videos:
        s = v.name if v.name in known["files"] else source_video(v.name)
        arr = np.load(known["files"][s], mmap_mode="r")
        index = {str(p): i for i, p in enumerate((whole.get(s) or v).frames)}
        out[v.name] = np.asarray(arr[[index[str(p)] for p in v.frames]])
    return out


def train_mean_maps(ctx: Any, task: str, split: str, size: tuple[int, int] = (90, 160)) -> dict[str, np.ndarray]:
    """The mean label map of the training split (density for fixation, masks for VSOD), the same for every frame
    of ``split``: what memorising the training labels gives, the row a student must beat to show it learned more
    than where the labels usually are (issue 26). ``{video: (T, h, w) uint8}``, peak 255; cached per training
    data (its fingerprint)."""
    from salkd.data.lowres import reduce

    kind = "density" if task == "fixation" else "mask"
    train = ctx.dataset(task, "train")
    key = hashlib.sha256(f"{ctx.data_fingerprint(task)}|{sorted(train.names)}|{kind}|{size}".encode()).hexdigest()[:12]
    path = paths.cache_dir() / "train-mean" / f"{key}.npy"
    if not path.is_file():
        total, n = np.zeros(size, np.float64), 0
        for v in train.videos:
            for t in v.labeled(kind):
                total += reduce(v.read_label(kind, t).astype(np.float32) / 255.0, size)
                n += 1
        if n == 0:
            raise ValueError(f"the training split of {task} has no {kind} labels: no train-mean map to score")
        mean = total / n
        save_npy(path, np.clip(mean / max(mean.max(), 1e-12) * 255.0 + 0.5, 0, 255).astype(np.uint8))
    g = np.load(path)
    return {v.name: np.broadcast_to(g, (len(v), *g.shape)) for v in ctx.dataset(task, split).videos}


def center_prior_maps(ctx: Any, task: str, split: str, size: tuple[int, int] = (90, 160),
                      sigma: float = 0.25) -> dict[str, np.ndarray]:
    """A fixed centred Gaussian (standard deviation ``sigma`` x height and width) for every frame: the
    baseline a saliency model must clear. ``{video: (T, h, w) uint8}``."""
    h, w = size
    g = center_gaussian(h, w, sigma)
    return {v.name: np.broadcast_to(g, (len(v), h, w)) for v in ctx.dataset(task, split).videos}


def center_gaussian(h: int = 90, w: int = 160, sigma: float = 0.25) -> np.ndarray:
    """The fixed centred Gaussian map (standard deviation ``sigma`` x height and width), uint8, peak 255."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = np.exp(-0.5 * (((yy - (h - 1) / 2) / (sigma * h)) ** 2 + ((xx - (w - 1) / 2) / (sigma * w)) ** 2))
    return (g / g.max() * 255.0 + 0.5).astype(np.uint8)


def published_cost(name: str, *, repeats: int = 3) -> dict[str, float]:
    """Cost of a published teacher on this CPU, one thread (the papers' "one CPU core"): MACs per output
    frame and output frames/s of the forward pass alone, at its own input size on random input
    (:func:`salkd.bench.cost.one_core_cost`). TinyHD-M gives 16 maps per 16-frame clip, TinyHD-S one,
    CSNet one map per frame."""
    from salkd.bench.cost import one_core_cost
    from salkd.models import pretrained

    model = pretrained.load(name)
    h, w = model.input_size
    clip = int(model.clip_len) if hasattr(model, "predict_video") else None  # TinyHD: clips of frames
    x = torch.rand(1, 3, clip, h, w) if clip else torch.rand(1, 3, h, w)
    return one_core_cost(model, (x,), frames_per_pass=clip if clip and model.multi_output else 1, repeats=repeats)


#: the fixed baselines a profile can list in ``references.<task>``: name -> maps over a split
BASELINES = {"center_prior": center_prior_maps, "train_mean": train_mean_maps}
