"""The Context every stage and experiment works in, and the evaluation of a run folder.

A :class:`Context` holds the profile (its config), the data paths, the runs root, the seed and the
device; it opens the datasets (:func:`salkd.data.splits.split_dataset`), their low-resolution caches,
and decides whether a stage's run folder can be reused. :func:`evaluate_run` scores a run's best
weights on a split, cached beside the run.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd
import torch

from salkd import paths
from salkd.atomic import write_json
from salkd.config import get_profile
from salkd.data.splits import split_dataset
from salkd.declarations import task_of_stage
from salkd.locks import locked
from salkd.runs import (comparable, data_fingerprint, data_ref, data_sha256, is_complete, read_json, run_from_ref, run_ref,
                        upstream_fingerprints)
from salkd.sizes import as_size
from salkd.train import TrainSettings
from salkd.train_state import json_roundtrip

__all__ = ["Context", "profile_path", "evaluate_run", "eval_file", "val_fn", "TASK_LABEL", "VAL_METRIC"]

TASK_LABEL = {"fixation": "density", "vsod": "mask"}
VAL_METRIC = {"fixation": "nss", "vsod": "max_f"}


@dataclass
class Context:
    """Everything a stage needs besides its upstream runs.

    ``profile``: a profile name (``smoke``, ``quick``, ``real-cpu``, ``paper``); ``data``: dataset
    paths per task (``{"fixation": path, "vsod": path}``) overriding the profile's sources;
    ``runs``: the runs root (default :func:`salkd.paths.runs_dir`); ``overrides``: dotted config
    keys (``{"skd.mu": 0.3}``); ``force``: retrain complete runs. ``seed`` seeds training (weights,
    augmentation, batch order); ``data_seed`` (default: ``seed``) the synthetic data and the evaluation.
    :meth:`with_seed` gives the Context of another training seed on the same data: its run folders are
    named ``<name>-seed<k>``.
    """

    profile: str = "quick"
    data: Mapping[str, str | os.PathLike] | None = None
    runs: str | os.PathLike | None = None
    overrides: Mapping[str, Any] | None = None
    seed: int | None = None
    device: str | None = None
    force: bool = False
    progress: bool = True
    data_seed: int | None = None
    cfg: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.cfg = get_profile(self.profile, self.overrides)
        if self.seed is None:
            self.seed = int(self.cfg["seed"])
        if self.data_seed is None:
            self.data_seed = int(self.seed)
        if self.device is None:
            self.device = str(self.cfg.get("device", "auto"))
        self._datasets: dict[tuple[str, str], Any] = {}
        self._fingerprints: dict[str, str] = {}
        self._content: dict[str, str] = {}

    # ---- folders --------------------------------------------------------------------------
    @property
    def runs_root(self) -> Path:
        return Path(self.runs) if self.runs is not None else paths.runs_dir()

    def figures_dir(self) -> Path:
        """Where the report writes: ``<runs root>/<profile>/figures`` when a runs root was given (``--out``,
        ``OUT``: everything a run writes stays under it), else :func:`salkd.paths.figures_dir` (the
        committed ``figures/`` for ``quick``, ``runs/<profile>/figures`` for the others)."""
        if self.runs is not None:
            return self.runs_root / self.profile / "figures"
        return paths.figures_dir(self.profile)

    def run_dir(self, stage: str, name: str) -> Path:
        """``<runs>/<profile>/<stage>/<name>`` (``<name>-seed<k>`` for another training seed)."""
        suffix = "" if self.seed == self.data_seed else f"-seed{self.seed}"
        return self.runs_root / self.profile / stage / f"{name}{suffix}"

    def run_ref(self, run: str | os.PathLike | None) -> str | None:
        """How a stage's config names an upstream run: relative to the runs root (which can then move)."""
        return run_ref(run, self.runs_root)

    def provenance(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` with the content fingerprint of every upstream run it names (``"upstream_sha256"``:
        the weights a teacher or student gives, :func:`salkd.runs.weights_fingerprint`), so that a run
        trained against other weights of the same upstream folder is not reused."""
        ups = upstream_fingerprints(config, self.runs_root)
        return {**config, "upstream_sha256": ups} if ups else dict(config)

    def upstream(self, ref: str | os.PathLike) -> Path:
        """The upstream run folder a config names (:meth:`run_ref`; older configs: an absolute path)."""
        return run_from_ref(ref, self.runs_root)

    def with_seed(self, seed: int) -> "Context":
        """This Context with training seed ``seed`` on the same data (datasets and caches shared)."""
        other = dataclasses.replace(self, seed=int(seed), data_seed=self.data_seed)
        other._datasets = self._datasets
        other._fingerprints = self._fingerprints
        other._content = self._content
        return other

    def base(self) -> "Context":
        """The Context of the data seed (the one upstream runs shared by every seed are trained with)."""
        return self if self.seed == self.data_seed else self.with_seed(int(self.data_seed))

    def seeds(self, section: str | None = None) -> list["Context"]:
        """One Context per training seed (the first is this one): ``<section>.seeds`` if the profile sets it
        (e.g. ``skd.seeds``), else the profile's ``seeds``."""
        n = int((self.cfg.get(section) or {}).get("seeds", self.cfg.get("seeds", 1)))
        return [self if k == 0 else self.with_seed(int(self.seed) + k) for k in range(n)]

    # ---- data -----------------------------------------------------------------------------
    def sources(self, task: str) -> list[Any] | None:
        """The training sources of ``task`` when the profile lists several (``data.<task>.source`` a list,
        :mod:`salkd.data.sources`); None for one dataset or the user's ``--data``."""
        from salkd.data.sources import is_multi, parse_sources

        src = self.cfg["data"][task].get("source")
        if self.user_data(task) or not is_multi(src):
            return None
        return parse_sources(src, f"data.{task}.source")

    def dataset_roots(self, task: str) -> list[Path]:
        """The folder of each training source of ``task`` (one for a single dataset); a missing source
        raises ``FileNotFoundError`` naming it and its expected layout."""
        from salkd.data.sources import resolve_roots

        if self.teacher_labelled(task):
            from salkd.distill.labelled import roots

            return roots(self)
        sources = self.sources(task)
        return [self.dataset_root(task)] if sources is None else resolve_roots(task, sources, profile_path)

    def dataset_root(self, task: str) -> Path:
        """The dataset folder of ``task`` (generating synthetic data on first use); for several sources the
        root of their combined dataset (``<common parent>/<name>+<name>``, not a folder)."""
        sources = self.sources(task)
        if sources is not None or self.teacher_labelled(task):
            return self.dataset(task, "train").root
        if self.user_data(task):
            p = Path(self.data[task]).expanduser()
            if not p.exists():
                raise FileNotFoundError(f"{task} dataset path {p} does not exist")
            return p
        spec = self.cfg["data"][task]
        src = spec.get("source")
        if src == "synthetic":
            return _synthetic(task, spec, int(self.data_seed), self.progress)
        if isinstance(src, str) and src.startswith("shared:"):
            p = profile_path(src)
            if not p.exists():
                raise FileNotFoundError(f"profile {self.profile!r} reads {p} (the real sample data), which is not "
                                        f"here; set SALKD_SHARED or pass the dataset path")
            return p
        raise ValueError(f"profile {self.profile!r} has no {task} dataset: pass Context(data={{{task!r}: PATH}}) "
                         f"(CLI: --data {task}=PATH)")

    def teacher_labelled(self, task: str) -> bool:
        """True when ``task``'s splits are the teacher-labelled corpus and test video of the distillation test
        (``data.<task>.source = "teacher-labelled"``, :mod:`salkd.distill.labelled`)."""
        from salkd.distill.labelled import is_teacher_labelled

        return not self.user_data(task) and is_teacher_labelled(self.cfg, task)

    def user_data(self, task: str) -> bool:
        """True if the user passed their own dataset for ``task`` (profile data settings do not apply)."""
        return bool(self.data and self.data.get(task))

    def dataset(self, task: str, split: str) -> Any:
        """The ``split`` ("train" | "val" | "test") of the ``task`` dataset."""
        key = (task, split)
        if key not in self._datasets and self.teacher_labelled(task):
            from salkd.distill.labelled import teacher_labelled

            self._datasets[key] = teacher_labelled(self, split)
        if key not in self._datasets and self.sources(task) is not None:
            from salkd.data.sources import open_sources

            self._datasets[key] = open_sources(task, self.sources(task), split, profile_path,
                                               default_split=self.cfg["data"].get("split"))
        if key not in self._datasets:
            spec = self.cfg["data"].get(task, {})
            vs = profile_path(spec["val_source"]) if spec.get("val_source") and not self.user_data(task) else None
            self._datasets[key] = split_dataset(self.dataset_root(task), split, spec,
                                                default_split=self.cfg["data"].get("split"), val_source=vs)
        return self._datasets[key]

    def opened(self, key: Any, open_fn: Any) -> Any:
        """A dataset opened once per Context (shared with :meth:`with_seed`): ``open_fn()`` the first time
        ``key`` is asked for, the same object after."""
        if key not in self._datasets:
            self._datasets[key] = open_fn()
        return self._datasets[key]

    def unlabeled(self, section: str) -> Any | None:
        """The video only the teacher labels for ``section``'s students (``<section>.unlabeled``, a list of
        sources as in :mod:`salkd.data.sources`; :func:`salkd.data.sources.open_unlabeled`), or None when the
        profile lists none. Opened once per Context (shared with :meth:`with_seed`)."""
        from salkd.data.sources import open_unlabeled, parse_sources

        listed = (self.cfg.get(section) or {}).get("unlabeled") or []
        if not listed:
            return None
        key = ("unlabeled", section)
        if key not in self._datasets:
            self._datasets[key] = open_unlabeled(parse_sources(listed, f"{section}.unlabeled"), profile_path,
                                                 default_split=self.cfg["data"].get("split"))
        return self._datasets[key]

    def data_key(self, task: str) -> dict[str, Any]:
        """What a stage's config records of its training data: the dataset folder (:func:`salkd.runs.data_ref`),
        its fingerprints (names and sizes; contents, :func:`salkd.runs.data_sha256`: a dataset moved elsewhere
        still matches, an edited file does not) and which videos train (a changed split makes a complete run stale)."""
        import hashlib

        names = sorted(v.name for v in self.dataset(task, "train").videos)
        several = self.sources(task) is not None or self.teacher_labelled(task)
        roots = [data_ref(r) for r in self.dataset_roots(task)] if several else None
        return {"dataset": roots or data_ref(self.dataset_root(task)), "data_fingerprint": self.data_fingerprint(task),
                "data_sha256": self.data_sha256(task),
                "train_videos": hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]}

    def data_fingerprint(self, task: str) -> str:
        """:func:`salkd.runs.data_fingerprint` of the ``task`` dataset(s), computed once per Context."""
        if task not in self._fingerprints:
            fp = data_fingerprint(self.dataset_roots(task))
            if self.teacher_labelled(task):  # the labels are the teacher's maps: its identity is part of the data
                from salkd.distill.labelled import identity

                fp = hashlib.sha256(f"{fp}|{identity(self)}".encode()).hexdigest()[:16]
            self._fingerprints[task] = fp
        return self._fingerprints[task]

    def data_sha256(self, task: str) -> str:
        """:func:`salkd.runs.data_sha256` (file contents) of the ``task`` dataset(s), computed once per Context."""
        if task not in self._content:
            self._content[task] = data_sha256(self.dataset_roots(task))
        return self._content[task]

    def cache(self, task: str, split: str, res: int | Sequence[int]) -> Any:
        from salkd.data import cache_lowres

        return cache_lowres(self.dataset(task, split), as_size(res), paths.cache_dir() / "lowres", progress=self.progress)

    def settings(self, section: str | None = None, **kw: Any) -> TrainSettings:
        """The training settings of a stage: the profile's seed, device, precision and memory layout
        (``<section>.channels_last`` overrides the profile's ``channels_last`` for that paper's stages)."""
        layout = (self.cfg.get(section) or {}).get("channels_last") if section else None
        base = dict(seed=int(self.seed), device=str(self.device), progress=self.progress,
                    precision=str(self.cfg.get("precision", "fp32")),
                    channels_last=bool(self.cfg.get("channels_last", False) if layout is None else layout))
        base.update(kw)
        return TrainSettings(**base)


    def reusable(self, run: Path, config: Mapping[str, Any], model_spec: Mapping[str, Any],
                 settings: TrainSettings) -> bool:
        """True when ``run`` is complete with this stage config, model and training settings (and
        ``force`` is off): the stage then returns it before building data, flow or models.

        :func:`salkd.train.fit` makes the full check (including the effective batch) when the stage
        does go on."""
        if self.force or not is_complete(run) or not (run / "config.json").is_file():
            return False
        have, want = comparable(read_json(run / "config.json"), json_roundtrip({**config, "model": dict(model_spec)}),
                                self.runs_root)
        train = {k: v for k, v in have.get("train", {}).items() if k not in ("effective_batch", "progress")}
        want_train = {k: v for k, v in json_roundtrip(settings.to_dict()).items() if k != "progress"}
        return all(have.get(k) == v for k, v in want.items()) and train == want_train

    def build(self, name: str, **kw: Any) -> torch.nn.Module:
        """:func:`salkd.models.build` with weights seeded from ``seed`` (see :meth:`seed_weights`)."""
        from salkd.models import build

        self.seed_weights()
        return build(name, **kw)

    def seed_weights(self) -> None:
        """Seed the global torch RNG so that the next model's initial weights come from ``seed``,
        whatever ran before in this process (a stage's weights must not depend on the call history)."""
        torch.manual_seed(int(self.seed))

def profile_path(src: str | os.PathLike) -> Path:
    """A path named in a profile: ``shared:<rel>`` is under the shared sample-data folder,
    ``datasets:<rel>`` under :func:`salkd.paths.datasets_dir`, anything else a file-system path."""
    s = str(src)
    if s.startswith("datasets:"):  # the user's copies of the papers' datasets ($SALKD_DATASETS)
        return paths.datasets_dir() / s.split(":", 1)[1]
    return paths.shared_data() / s.split(":", 1)[1] if s.startswith("shared:") else Path(s).expanduser()


def _synthetic(task: str, spec: Mapping[str, Any], seed: int, progress: bool) -> Path:
    from salkd.data.synthetic import make_dataset

    h, w = spec["size"]
    name = f"synthetic-{task}-{spec['style']}-{spec['n_videos']}x{spec['n_frames']}-{h}x{w}-seed{seed}"
    root = paths.data_dir() / name
    if (root / "salkd_synthetic.json").is_file():
        return root
    with locked(root, wait=True, what="dataset"):  # a second process waits, then finds it made
        if (root / "salkd_synthetic.json").is_file():
            return root
        return make_dataset(root, kind=task, n_videos=int(spec["n_videos"]), n_frames=int(spec["n_frames"]),
                            size=(int(h), int(w)), style=str(spec["style"]), seed=seed, progress=progress)


def val_fn(ctx: Context, task: str, res: Any, output: str | None = None) -> Callable[[torch.nn.Module], dict[str, float]]:
    """The validation function of a stage: the val split's score (NSS or max-F as ``metric``) at ``res``,
    on at most ``eval.max_frames_per_video`` frames per video; picks ``best.pt``."""
    from salkd.evaluate import evaluate

    limit = ctx.cfg["eval"].get("max_frames_per_video") or 16
    ds = ctx.dataset(task, "val")
    metric = VAL_METRIC[task]
    _check_val_labels(ds, task)
    if task == "fixation" and ds.n_labeled("fixation") == 0 and ds.n_labeled("density") > 0:
        metric = "cc"  # density labels only (e.g. the teacher's maps): no fixations to compute NSS on

    def fn(model: torch.nn.Module) -> dict[str, float]:
        import warnings

        m = model.deploy() if getattr(model, "input_kind", "") != "pair" else model
        with warnings.catch_warnings():
            if metric == "cc":  # density-only scoring is expected here; its warning would repeat every epoch
                warnings.filterwarnings("ignore", message=".*density maps but no fixation maps.*")
            df = evaluate(m, ds, res, device=str(ctx.device), labels="cache", max_frames_per_video=limit,
                          progress=False, seed=int(ctx.data_seed), output=output)
        row = df.loc["overall"]
        keys = ["nss", "cc", "sim", "auc_judd"] if task == "fixation" else ["max_f", "mae", "s_measure"]
        return {k: float(row[k]) for k in keys if k in row} | {"metric": float(row[metric])}

    return fn


def _check_val_labels(ds: Any, task: str) -> None:
    """Refuse a validation split without labels to pick ``best.pt`` on, before any training: fixation or
    density maps (fixation task; density only: CC picks it), masks (VSOD)."""
    from salkd.data import DatasetError

    kinds = ("fixation", "density") if task == "fixation" else ("mask",)
    if ds.videos and all(v.label_paths(k) is None for v in ds.videos for k in kinds):
        raise DatasetError(f"the validation videos of {ds.root} ({', '.join(v.name for v in ds.videos[:3])}"
                           f"{' ...' if len(ds.videos) > 3 else ''}) have no {' or '.join(kinds)} maps (missing or "
                           f"empty label folders), so no validation score can pick best.pt; add their labels")


def evaluate_run(ctx: Context, run: str | os.PathLike, split: str = "test", *, output: str | None = None,
                 task: str | None = None) -> pd.DataFrame:
    """Evaluate a run's best weights on a split at the run's resolution; cached as
    ``<run>/eval_<split>[_<output>].csv`` and recomputed when the checkpoint is newer or the
    evaluation settings (dataset, frame limit, seed, shuffle map, the scoring protocol
    :data:`salkd.evaluate.PROTOCOL`; kept in ``eval_<split>.json``) changed."""
    from salkd.atomic import write_text
    from salkd.evaluate import PROTOCOL, evaluate, load_shuffle_map
    from salkd.map_sources import run_maps

    run = Path(run)
    cfg = read_json(run / "config.json")
    task = task or cfg.get("task") or task_of_stage(str(cfg.get("stage", ""))) or "fixation"
    out = run / eval_file(split, output).name
    ck = run / "checkpoint.pt" if (run / "checkpoint.pt").is_file() else run / "config.json"
    ds = ctx.dataset(task, split)
    limit = ctx.cfg["eval"].get("max_frames_per_video")
    smap_path = _shuffle_map_path(ctx) if task == "fixation" else None
    settings = {"data": str(ds.root), "videos": len(ds.videos), "max_frames_per_video": limit,
                "seed": int(ctx.data_seed), "split": split, "protocol": PROTOCOL,
                "shuffle_map": None if smap_path is None else
                [str(smap_path), smap_path.stat().st_mtime_ns if smap_path.is_file() else None]}
    key_file = out.with_suffix(".json")
    if (out.is_file() and ck.is_file() and out.stat().st_mtime_ns >= ck.stat().st_mtime_ns and not ctx.force
            and key_file.is_file() and read_json(key_file) == settings):
        return pd.read_csv(out, index_col=0)
    smap = load_shuffle_map(smap_path) if smap_path is not None else None
    maps = run_maps(ctx, run, cfg, split)  # a published teacher or a fixed baseline: its maps, no model
    df = evaluate(None if maps is not None else run, ds, cfg["res"], device=str(ctx.device), output=output,
                  max_frames_per_video=limit, progress=ctx.progress, seed=int(ctx.data_seed), shuffle_map=smap, maps=maps)
    write_text(out, df.to_csv())
    write_json(key_file, settings)
    return df


def _shuffle_map_path(ctx: Context) -> Path | None:
    """``eval.shuffle_map`` of the profile as a path (``shared:`` = under the shared data folder); None
    when unset or when the user gave their own fixation dataset (the map belongs to the profile's)."""
    src = ctx.cfg["eval"].get("shuffle_map")
    if not src or ctx.user_data("fixation"):
        return None
    return profile_path(src)


def eval_file(split: str, output: str | None = None) -> Path:
    """The name of a run's evaluation file for ``split`` (and one output of a two-output model)."""
    return Path(f"eval_{split}{'_' + output if output else ''}.csv")

