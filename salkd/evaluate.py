"""``evaluate(model_or_run, dataset, res)``: per-video and overall metrics of a model on a dataset.

Protocol (as the benchmarks do):

* The model sees each frame reduced with R (area interpolation) to ``res`` x ``res`` (from the
  low-resolution cache), and its prediction ``sigmoid(logits)`` is upsampled (bilinear) to the
  label's resolution before scoring (``labels="full"``, the default).
* Frame-pair models get ``(I_t, I_{t+1})``; the last frame of a video is paired with the one before.
  Flow models (the TSNet-style teacher) get the DIS optical flow ``t -> t+1`` computed at ``res``.
* VSOD / SOD datasets are scored with :class:`salkd.metrics.SODEvaluator` on the masks, following the
  toolkits' protocol for *saved* maps: the upsampled prediction is quantized to the 8-bit map a user
  would save as PNG (:func:`saved_map`: ``floor(255·p + 0.5)``, the rounding of
  ``torchvision.utils.save_image``), which the evaluator then reads as PySODMetrics and the DAVSOD
  toolkit read a PNG (``/255``, then min-max normalisation unless constant). Both max-F conventions are
  reported: ``max_f`` pools the frames of the split (PySODMetrics on the whole set) and ``max_f_seq``
  averages the per-sequence F curves first (the DAVSOD toolkit's ``main.m``; every video weighs the
  same).
* Fixation datasets are scored with :class:`salkd.metrics.FixationEvaluator` on the binary fixation
  maps (NSS, AUCs) and the density maps (CC, SIM, KLD and skd's density-weighted ``nss_marat``).
  Shuffled AUC draws its negatives from ``other_fixations``: the fixation maps of up to 16 frames of
  *other* videos pooled (a fixed, seeded choice per video), as the MIT benchmark's shuffled AUC does
  with fixations of other images. A dataset with density maps but no fixation maps (an empty
  ``fixation/`` folder) is scored on the density maps alone, with a warning: the fixation-based
  metrics are then undefined (NaN, counted in ``n_undefined_<metric>``).
* The frames of a video are scored in batches of up to ``metric_batch`` frames; the results are
  identical to scoring frame by frame (the evaluators' random streams are indexed per frame).
* A run folder that is not finished, or whose task (fixation / VSOD) is not the dataset's, is
  evaluated with a warning.
* ``labels="cache"`` scores at the cached low resolution instead (fast; used for validation during
  training, never for reported numbers).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from salkd.declarations import task_of_model, task_of_stage
from salkd.sizes import as_size
from salkd.tensors import from_array

__all__ = ["evaluate", "load_shuffle_map", "shuffle_map_coverage", "SHUFFLE_MAP_MAX_COVERAGE", "predict_cache", "model_inputs", "pair_index", "saved_map", "PROTOCOL",
           "model_task", "video_batches", "unit_map"]

#: the scoring protocol of :func:`evaluate`; part of the evaluation cache key
#: (:func:`salkd.context.evaluate_run`), so cached evaluations made under another protocol are recomputed
PROTOCOL = ("2: sod scores saved uint8 maps (round, then min-max) + max_f_seq; fixation nss_marat, "
            "auc_borji NaN below 2 fixations, all-zero density undefined")


def pair_index(t: int, n: int) -> int:
    """The partner frame of ``t`` in a video of ``n`` frames: ``t + 1``, or ``t - 1`` at the end."""
    if n <= 1:
        return t
    return t + 1 if t + 1 < n else t - 1


def _to_tensor(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    x = from_array(frames).to(device)
    return x.permute(0, 3, 1, 2).float().div_(255.0)


def model_inputs(model: nn.Module, frames: np.ndarray, idx: Sequence[int], device: torch.device,
                 flow_fn: Any = None) -> tuple[torch.Tensor, ...]:
    """The inputs of ``model`` for frames ``idx`` of one video (``frames``: (T,H,W,3) uint8)."""
    kind = getattr(model, "input_kind", "frame")
    n = frames.shape[0]
    x = _to_tensor(frames[list(idx)], device)
    if kind == "frame":
        return (x,)
    nxt = [pair_index(t, n) for t in idx]
    if kind == "pair":
        return x, _to_tensor(frames[nxt], device)
    if kind == "flow":
        if flow_fn is None:
            from salkd.models.flow import optical_flow

            flow_fn = optical_flow
        fl = np.stack([flow_fn(frames[t], frames[u]) for t, u in zip(idx, nxt)])
        return x, torch.from_numpy(fl).permute(0, 3, 1, 2).float().to(device)
    raise ValueError(f"model input_kind {kind!r} is not one of frame, pair, flow")


def _select_output(out: Any, output: str | None, model: nn.Module) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    names = tuple(getattr(model, "output_names", ()))
    if output is None:
        raise ValueError(f"{type(model).__name__} returns {len(out)} outputs {names}; pass output= one of them")
    if output not in names:
        raise ValueError(f"output {output!r} is not one of {names}")
    return out[names.index(output)]


@torch.no_grad()
def predict_cache(model: nn.Module, frames: np.ndarray, *, device: torch.device, batch_size: int = 64,
                  output: str | None = None, indices: Sequence[int] | None = None) -> np.ndarray:
    """Saliency maps (len(indices), H, W) float32 in [0, 1] of ``model`` on cached frames of one video."""
    idx = list(range(frames.shape[0])) if indices is None else list(indices)
    outs = []
    for s in range(0, len(idx), batch_size):
        chunk = idx[s:s + batch_size]
        logits = _select_output(model(*model_inputs(model, frames, chunk, device)), output, model)
        outs.append(torch.sigmoid(logits.float())[:, 0].cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0,) + frames.shape[1:3], np.float32)


def _resolve_model(model_or_run: nn.Module | str | os.PathLike) -> nn.Module:
    if isinstance(model_or_run, nn.Module):
        return model_or_run
    from salkd.models import load_for_inference

    return load_for_inference(model_or_run)[0]


def model_task(model_or_run: nn.Module | str | os.PathLike | None) -> str | None:
    """``"fixation"`` or ``"vsod"``: what a run folder (its ``config.json``) or a salkd model predicts;
    None when it cannot be told (a model built outside salkd)."""
    if model_or_run is None:
        return None
    if isinstance(model_or_run, nn.Module):
        if getattr(model_or_run, "salkd_task", None) in ("fixation", "vsod"):  # set by the stage that trains it
            return str(model_or_run.salkd_task)
        spec = getattr(model_or_run, "salkd_spec", None)
        return task_of_model(str(spec.get("name", ""))) if isinstance(spec, Mapping) else None
    from salkd.runs import RunError, read_json

    try:
        cfg = read_json(Path(model_or_run) / "config.json")
    except (OSError, RunError):
        return None
    if cfg.get("task") in ("fixation", "vsod"):
        return str(cfg["task"])
    by_stage = task_of_stage(str(cfg.get("stage", "")))
    if by_stage == "vsod":  # the declared stages of a VSOD paper (a fixation stage may hold teachers of either)
        return by_stage
    model = cfg.get("model")
    return task_of_model(str(model.get("name", ""))) if isinstance(model, Mapping) else None


def _check_run(model_or_run: Any, task: str, root: Any) -> None:
    """Warn when a run folder is unfinished or predicts another task than the dataset's labels."""
    import warnings

    if isinstance(model_or_run, (str, os.PathLike)):
        from salkd.runs import is_complete

        if (Path(model_or_run) / "config.json").is_file() and not is_complete(model_or_run):
            warnings.warn(f"run {model_or_run} is not finished (no metrics.json or weights): scoring the weights "
                          f"it holds so far", stacklevel=3)
    mt = model_task(model_or_run)
    want = "vsod" if task in ("vsod", "sod") else "fixation"
    if mt is not None and mt != want:
        what = (f"model {model_or_run.salkd_spec.get('name')}" if isinstance(model_or_run, nn.Module)
                else f"run {model_or_run}")
        warnings.warn(f"{what} predicts {mt} but {root} is scored as {task} data: its numbers are not "
                      f"comparable with those of {task} models", stacklevel=3)


def load_shuffle_map(path: str | os.PathLike) -> np.ndarray:
    """A dataset's "other fixations" map for shuffled AUC, as float32 (H, W); pixels > 0 are the
    negatives. Reads ``.npy`` (e.g. the DHF1K / UCF-Sports aggregate maps) or a grayscale image."""
    from salkd.data import DatasetError
    from salkd.data.imageio import read_gray

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"shuffle map {p} does not exist (set eval.shuffle_map to a .npy or image file, "
                                f"or to null to pool other videos' fixations)")
    try:
        arr = np.load(p, allow_pickle=False) if p.suffix == ".npy" else read_gray(p)
    except (ValueError, OSError) as exc:
        raise DatasetError(f"shuffle map {p} cannot be read: {exc}") from exc
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim != 2 or not np.isfinite(arr).all() or not (arr > 0).any():
        raise DatasetError(f"shuffle map {p} must be a finite 2-D map with some pixels > 0, "
                           f"got shape {arr.shape}")
    return arr


#: the largest share of the pixels a shuffle map may mark as negatives for shuffled AUC to mean something:
#: above it the negatives are nearly uniform, so sAUC becomes AUC-Borji and rewards the centre bias it is meant
#: to discount (the report drops sAUC then, :func:`salkd.results.dropped`)
SHUFFLE_MAP_MAX_COVERAGE = 0.5


def shuffle_map_coverage(arr: np.ndarray) -> float:
    """The share of the pixels a shuffle map marks as negatives (value > 0)."""
    a = np.asarray(arr)
    return float((a > 0).mean()) if a.size else 0.0


def _other_fixations(dataset: Any, cache: Any, video: str, use_cache: bool, seed: int,
                     n: int = 16) -> np.ndarray | None:
    """Pooled fixation maps of up to ``n`` frames of other videos (for shuffled AUC).

    Segments of the same source video (a split in time) do not count as other videos: their
    fixations sit where this video's do, which would drive shuffled AUC to 0.5. With no other
    source video, shuffled AUC is undefined (``None``).
    """
    from salkd.data.layouts import source_video

    others = [v for v in cache.videos if source_video(v) != source_video(video)]
    if not others:
        return None
    rng = np.random.default_rng([seed, sum(map(ord, video))])
    pool = None
    for _ in range(n):
        v = others[int(rng.integers(len(others)))]
        if use_cache:
            arr = cache.video(v)
            ts = np.flatnonzero(arr["has_fixation"]) if "has_fixation" in arr else []
            if len(ts) == 0:
                continue
            fx = np.asarray(arr["fixation"][int(ts[rng.integers(len(ts))])]).astype(np.float32)
        else:
            vid = dataset[v]
            ts = vid.labeled("fixation")
            if not ts:
                continue
            fx = vid.read_fixation(int(ts[rng.integers(len(ts))])).astype(np.float32)
        if pool is not None and fx.shape != pool.shape:
            import cv2

            fx = cv2.resize(fx, pool.shape[::-1], interpolation=cv2.INTER_NEAREST)
        pool = fx if pool is None else pool + fx
    return None if pool is None else (pool > 0).astype(np.float32)


def evaluate(model_or_run: nn.Module | str | os.PathLike, dataset: Any, res: int | Sequence[int], *,
             device: str = "auto", batch_size: int = 64, output: str | None = None,
             labels: str = "full", max_frames_per_video: int | None = None, cache_root: str | os.PathLike | None = None,
             progress: bool = True, seed: int = 0, task: str | None = None,
             shuffle_map: np.ndarray | None = None, maps: Mapping[str, np.ndarray] | None = None,
             metric_batch: int = 16) -> pd.DataFrame:
    """Per-video and overall metrics (a DataFrame, last row ``"overall"``) of a model on a dataset.

    ``model_or_run``: a model or a run folder (rebuilt with :func:`salkd.models.from_run`, best
    weights, test-time network). ``dataset``: a :class:`salkd.data.VideoDataset` or a path.
    ``res``: the model's input size (an int for square inputs). ``output``: which output of a
    multi-output model (``uva_student``: "spatial" or "temporal"). ``shuffle_map``: a dataset-wide
    map of other fixations for shuffled AUC (e.g. DHF1K's aggregate map, :func:`load_shuffle_map`),
    used instead of pooling other videos' fixations. ``maps``: precomputed predictions instead of a
    model (``{video: (T, h, w)}``, uint8 0-255 or float in [0, 1], any size; e.g. a published teacher's
    maps or a fixed baseline), scored with the same protocol; ``model_or_run`` is then ignored (None).
    ``metric_batch``: frames per call of the metric evaluators (memory vs speed; results do not depend
    on it). See the module docstring for the protocol.
    ``df.attrs`` holds the task, resolution and metric conventions.
    """
    from tqdm.auto import tqdm

    from salkd import paths
    from salkd.data import cache_lowres, open_dataset
    from salkd.device import resolve_device
    from salkd.metrics import FixationEvaluator, SODEvaluator, metrics_table

    if labels not in ("full", "cache"):
        raise ValueError(f"labels must be 'full' or 'cache', got {labels!r}")
    ds = open_dataset(dataset) if isinstance(dataset, (str, os.PathLike)) else dataset
    size = as_size(res)
    dev = resolve_device(device)
    task = task or ds.task
    if task not in ("vsod", "sod", "fixation"):
        raise ValueError(f"dataset {ds.root} has task {task!r}: no labels to evaluate against")
    if maps is None:
        _check_run(model_or_run, task, ds.root)
    model = _resolve_model(model_or_run).to(dev).eval() if maps is None else None
    cache = cache_lowres(ds, size, cache_root or paths.cache_dir() / "lowres", progress=False)
    label = _frame_label(cache, task, ds.root)
    per_video: dict[str, Any] = {}
    bar = tqdm(cache.videos, desc=f"evaluate {size[0]}x{size[1]}", disable=not progress, unit="video")
    for v in bar:
        arr = cache.video(v)
        ts = [int(t) for t in np.flatnonzero(arr[f"has_{label}"])]
        if max_frames_per_video is not None and len(ts) > max_frames_per_video:
            pick = np.linspace(0, len(ts) - 1, max_frames_per_video).round().astype(int)
            ts = [ts[i] for i in pick]
        if not ts:
            continue
        if maps is None:
            pred = predict_cache(model, arr["frames"], device=dev, batch_size=batch_size, output=output, indices=ts)
        else:
            pred = np.stack([unit_map(maps[v][t]) for t in ts])
        if task in ("vsod", "sod"):
            ev: Any = SODEvaluator()
            for b in video_batches(ds, arr, v, ts, pred, task, labels, metric_batch):
                ev.update(saved_map(b["pred"]), b["mask"])
        else:
            ev = FixationEvaluator(seed=seed)
            other = (shuffle_map if shuffle_map is not None
                     else _other_fixations(ds, cache, v, labels == "cache", seed))
            for b in video_batches(ds, arr, v, ts, pred, task, labels, metric_batch):
                ev.update(b["pred"], b["fixation"], density=b["density"],
                          other_fixations=None if other is None else _fit_other(other, b["fixation"].shape[1:]))
        per_video[v] = ev
    if not per_video:
        raise ValueError(f"no labelled frames of kind {label!r} in {ds.root}")
    df = metrics_table(per_video)
    df.attrs.update({"task": task, "res": list(size), "labels": labels, "dataset": str(ds.root),
                     "protocol": PROTOCOL,
                     "conventions": "salkd.metrics (PySODMetrics / MIT benchmark conventions)"})
    return df


def _frame_label(cache: Any, task: str, root: Any) -> str:
    """The label whose frames are scored: ``mask``; ``fixation``, or ``density`` (with a warning) for a
    fixation dataset without fixation maps. Raises a clear error when the dataset has neither."""
    import warnings

    have = set(getattr(cache, "labels", ()))
    if task in ("vsod", "sod"):
        if "mask" not in have:
            raise ValueError(f"{root} has no object masks to score {task} predictions against")
        return "mask"
    if "fixation" in have:
        return "fixation"
    if "density" in have:
        warnings.warn(f"{root} has density maps but no fixation maps: scoring CC, SIM, KLD and nss_marat on the "
                      f"density maps; NSS and the AUCs are undefined", stacklevel=3)
        return "density"
    raise ValueError(f"{root} has neither fixation nor density maps to score fixation predictions against")


def saved_map(pred: np.ndarray) -> np.ndarray:
    """The 8-bit map a user would save from predictions in [0, 1]: ``floor(255·p + 0.5)`` clipped to
    0..255 as uint8, the rounding of ``torchvision.utils.save_image`` (float32 arithmetic)."""
    p = np.asarray(pred, dtype=np.float32)
    return np.clip(np.floor(p * np.float32(255.0) + np.float32(0.5)), 0, 255).astype(np.uint8)


def _fit_other(other: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The shuffled-AUC negatives map at the fixation maps' ``(H, W)`` (nearest, binary)."""
    if other.shape == tuple(shape):
        return other
    import cv2

    return (cv2.resize(other, tuple(shape)[::-1], interpolation=cv2.INTER_NEAREST) > 0).astype(np.float32)


def _frame_labels(ds: Any, arr: Mapping[str, np.ndarray], v: str, t: int, task: str,
                  labels: str) -> dict[str, np.ndarray | None]:
    """The labels of frame ``t``: ``mask``, or ``fixation`` and ``density`` (None when the frame has none;
    an absent fixation map is all zeros, so the fixation-based metrics are undefined)."""
    if task in ("vsod", "sod"):
        return {"mask": np.asarray(arr["mask"][t]) if labels == "cache" else ds[v].read_mask(t)}
    has = lambda k: k in arr and bool(arr[f"has_{k}"][t])  # noqa: E731
    if labels == "cache":
        dens = np.asarray(arr["density"][t]).astype(np.float32) / 255.0 if has("density") else None
        fx = np.asarray(arr["fixation"][t]) if has("fixation") else None
    else:
        vid = ds[v]
        dens = vid.read_density(t) if has("density") else None
        fx = vid.read_fixation(t) if has("fixation") else None
    if fx is None:
        if dens is None:
            raise ValueError(f"video {v!r} frame {t}: no fixation or density map")
        fx = np.zeros(dens.shape[:2], np.uint8)
    elif dens is not None and dens.shape[:2] != fx.shape[:2]:
        from salkd.data import DatasetError

        where = ds[v].label_paths("density")[t] if labels != "cache" else f"video {v!r} frame {t}"
        raise DatasetError(f"density map {where} is {dens.shape[1]}x{dens.shape[0]} but the fixation map of its "
                           f"frame is {fx.shape[1]}x{fx.shape[0]}; expected one size (re-export the density map "
                           f"at the fixation map's size)")
    return {"fixation": fx, "density": dens}


def video_batches(ds: Any, arr: Mapping[str, np.ndarray], v: str, ts: Sequence[int], pred: np.ndarray, task: str,
                  labels: str = "full", size: int = 16) -> Iterator[dict[str, Any]]:
    """The frames ``ts`` of video ``v`` in batches for the metric evaluators, in order.

    ``pred`` holds the predictions of ``ts`` (``(len(ts), h, w)`` floats in [0, 1]). Each batch is a dict
    ``ts``, ``pred`` (upsampled bilinear to the labels' size, float32) and the stacked labels of
    :func:`_frame_labels` (``density`` None for the whole batch or for none of it). A batch holds up to
    ``size`` consecutive frames of one label size and one density presence.
    """
    size = max(1, int(size))
    group: list[tuple[int, int, dict[str, np.ndarray | None]]] = []

    def flush() -> dict[str, Any]:
        first = group[0][2]
        out: dict[str, Any] = {"ts": [t for t, _, _ in group]}
        for k, val in first.items():
            out[k] = None if val is None else np.stack([lab[k] for _, _, lab in group])
        ref = first["mask"] if "mask" in first else first["fixation"]
        out["pred"] = _resize_batch(pred[[i for _, i, _ in group]], ref.shape[:2])
        group.clear()
        return out

    for i, t in enumerate(ts):
        lab = _frame_labels(ds, arr, v, t, task, labels)
        if group:
            prev = group[-1][2]
            same = all((prev[k] is None) == (lab[k] is None) and
                       (lab[k] is None or prev[k].shape == lab[k].shape) for k in lab)
            if not same or len(group) >= size:
                yield flush()
        group.append((t, i, lab))
    if group:
        yield flush()


def unit_map(m: np.ndarray) -> np.ndarray:
    """A map as float32 in [0, 1] (uint8 maps are divided by 255)."""
    m = np.asarray(m)
    return m.astype(np.float32) / 255.0 if m.dtype == np.uint8 else m.astype(np.float32)


def _resize(pred: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Bilinear upsampling of a [0,1] map to the label's (H, W), as the benchmarks do."""
    return _resize_batch(pred[None], shape)[0]


def _resize_batch(pred: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Bilinear upsampling (``align_corners=False``) of ``(N, h, w)`` [0, 1] maps to the labels' (H, W)."""
    pred = np.asarray(pred, dtype=np.float32)
    if pred.shape[1:] == tuple(shape[:2]):
        return pred
    t = torch.from_numpy(np.ascontiguousarray(pred))[:, None]
    out = F.interpolate(t, size=tuple(shape[:2]), mode="bilinear", align_corners=False)
    return out[:, 0].clamp_(0, 1).numpy()
