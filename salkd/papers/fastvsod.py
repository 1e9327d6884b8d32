"""fastvsod: Y. Tang, X. Li, *Fast Video Salient Object Detection via Spatiotemporal Knowledge Distillation*.

Its stages (stage 1 on single frames; stage 2 with spatial self-distillation, eq. 3, temporal
distillation, eq. 4 / 6, and the inter-frame encoder, eq. 5), its experiments (Table 3 components,
Fig. 6 fusions, Fig. 7 alpha), the specs of its tables and figures, and its claims.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from salkd import results, workers
from salkd.context import Context, val_fn
from salkd.declarations import Paper, declare
import salkd.papers.common as common
from salkd.papers.numbers import FASTVSOD_DATASETS, PAPER
from salkd.papers.teachers import run_references
from salkd.runs import read_json
from salkd.train import fit

__all__ = ["fastvsod_stage1", "fastvsod_stage2", "run", "run_ablations", "TABLES", "figures", "claims", "TABLE3_CLAIMS",
           "FIG6_ENCODERS", "FUSION_CLAIMS", "ALPHA_WORSE"]

declare(Paper("fastvsod", "vsod", stages=("fastvsod_stage1", "fastvsod_stage2"),
              models=("fastvsod", "pretrained:csnet")))


def fastvsod_stage1(ctx: Context, name: str | None = None, backbone: str | None = None) -> Path:
    """fastvsod stage 1: the network on single frames, deep supervision sum_i BCE(P_i, G), SGD lr 1e-3,
    momentum 0.9, weight decay 5e-4, poly policy (fastvsod Sec. 4.1). The encoder is not used. It trains on
    every vsod source, still images (DUTS) as one-frame videos; ``fastvsod.stage1_max_iters`` sizes it in
    iterations (the paper's 40,000), else ``fastvsod.stage1_epochs``.

    ``backbone``: the profile's (``fastvsod.backbone``, trained from scratch) by default; ``"csnet"``
    starts from CSNet's released weights, frozen, at ``fastvsod.pretrained_res`` for
    ``fastvsod.pretrained_stage1_epochs`` epochs, with a head of width ``fastvsod.pretrained_width`` (:mod:`salkd.models.csnet_backbone`), its last
    ``fastvsod.pretrained_train_stages`` stages fine-tuned at ``fastvsod.pretrained_lr_scale`` x the
    learning rate (BatchNorm frozen). ``fastvsod.pretrained_prior``: the head refines CSNet's own map (it
    starts equal to CSNet's, :class:`salkd.models.fastvsod.FastVSOD` ``csnet_prior``). With ``fastvsod.feature_cache`` the frozen stages run once per frame
    (:mod:`salkd.data.features`, stored as ``fastvsod.feature_cache_dtype``) and the epochs train the rest;
    augmentation is then a horizontal flip (``fastvsod.feature_cache_flip``, the mirrored frames' features
    cached too) or none, never crops or rotations (they cannot be applied in feature space)."""
    from salkd.data import FrameDataset
    from salkd.losses import bce

    fc = ctx.cfg["fastvsod"]
    backbone = str(backbone or fc["backbone"])
    published = backbone == "csnet"
    res = int(fc["pretrained_res"] if published else fc["res"])
    epochs = int(fc["pretrained_stage1_epochs"] if published else fc["stage1_epochs"])
    stages = int(fc.get("pretrained_train_stages", 0)) if published else 0
    use_cache = published and bool(fc.get("feature_cache", False))
    width = fc.get("pretrained_width") if published else None
    width = float(fc["width"] if width is None else width)
    prior = published and bool(fc.get("pretrained_prior", False))
    suffix = ((f"-w{width:g}" if width != float(fc["width"]) else "") + (f"-ft{stages}" if stages else "")
              + ("-prior" if prior else "") + ("" if use_cache or not published else "-nocache"))
    run = ctx.run_dir("fastvsod_stage1", name or f"{backbone}-{res}{suffix}")
    # the paper's stage 1 is 40,000 iterations, poly over them (``fastvsod.stage1_max_iters``; None: epochs)
    iters = None if published else fc.get("stage1_max_iters")
    settings = ctx.settings(epochs=epochs, batch_size=int(fc["batch"]), lr=float(fc["lr1"]),
                            optimizer="sgd", momentum=0.9, weight_decay=5e-4, lr_policy="poly",
                            select_metric="metric", max_iters=None if iters is None else int(iters),
                            param_lr={"backbone.": float(fc["pretrained_lr_scale"])} if stages else None)
    config = {"stage": "fastvsod_stage1", "res": res, **ctx.data_key("vsod"), "profile": ctx.profile}
    if use_cache:  # what the training frames are: cached features (dtype) and the one augmentation left
        config["feature_cache"] = {"dtype": str(fc["feature_cache_dtype"]), "flip": bool(fc["feature_cache_flip"])}
    kw = {"backbone": backbone, "width": width, "fusion": "attention"}
    if published:
        kw["freeze_backbone"] = True
        if stages:
            kw["backbone_train_stages"] = stages
        if prior:  # the head refines CSNet's own map and starts equal to it (FastVSOD csnet_prior)
            kw["csnet_prior"] = True
    elif fc.get("pretrained"):  # an ImageNet ResNet in torchvision's layout (the paper fine-tunes one)
        from salkd.context import profile_path

        path = profile_path(fc["pretrained"])
        if not path.is_file():
            raise FileNotFoundError(f"fastvsod.pretrained = {fc['pretrained']!r}: {path} does not exist; save "
                                    f"torchvision's resnet50(weights='IMAGENET1K_V2').state_dict() there")
        kw["pretrained_path"] = str(path)
    if ctx.reusable(run, config, {"name": "fastvsod", "kwargs": kw}, settings):
        return run
    model = ctx.build("fastvsod", **kw)
    lowres = ctx.cache("vsod", "train", res)
    ds: Any = FrameDataset(lowres, label="mask", augment=not use_cache, seed=int(ctx.seed))
    if use_cache:
        from salkd import paths
        from salkd.data.features import CachedFrameDataset, cache_features

        flip = bool(fc["feature_cache_flip"])
        feats = cache_features(lowres, model, paths.cache_dir() / "features", dtype=str(fc["feature_cache_dtype"]),
                               flip=flip, progress=ctx.progress)
        ds = CachedFrameDataset(ds, feats, flip=flip, seed=int(ctx.seed))

    def loss_fn(net: Any, b: dict[str, Any]):
        from salkd.data.features import cached_inputs

        cached = cached_inputs(b)
        out = net.forward_train(b["frame"], cached=cached) if cached else net.forward_train(b["frame"])
        return sum(bce(out[f"P{i}"].float(), b["label"]) for i in range(3)), {}

    fit(model, loss_fn, ds, run, settings, val_fn=val_fn(ctx, "vsod", res), config=config, force=ctx.force,
        desc="fastvsod stage 1")
    return run


def _tag(sd: bool, td: bool, fe: str | None) -> str:
    """The Table 3 name of a component set: "+"-joined SD, TD, FE_o / FE_t, or "BS"."""
    parts = [p for p, on in (("SD", sd), ("TD", td)) if on] + ([f"FE_{'o' if fe == 'train' else 't'}"] if fe else [])
    return "+".join(parts) or "BS"


def fastvsod_stage2(ctx: Context, stage1_run: str | os.PathLike, *, sd: bool = True, td: bool = True,
                    fe: str | None = "train", fusion: str = "attention", alpha: float | None = None,
                    name: str | None = None) -> Path:
    """fastvsod stage 2: fine-tune from stage 1 with any of spatial self-distillation (SD, eq. 3),
    temporal distillation (TD, eq. 4 / 6) and the inter-frame encoder (FE, eq. 5).

    ``fe``: None (no encoder), "train" (FE_o: used in training, removed at test — the paper's final
    model) or "test" (FE_t: kept at test time). ``fusion``: "attention" (mutual attention), "add",
    "concat", "multiply" (Fig. 6). ``alpha`` weighs the distillation terms (0.7 in the paper, Fig. 7).
    Without SD the spatial loss is sum_i BCE(P_i, G); without TD the next-frame predictions (and P3)
    are supervised by G only. SGD lr 1e-4, momentum 0.95, weight decay 5e-4, poly policy; on the video
    sources only (:func:`salkd.data.sources.video_names`), for ``fastvsod.stage2_max_iters`` iterations or
    ``fastvsod.stage2_epochs`` epochs. On a frozen CSNet with ``fastvsod.feature_cache`` both frames of a
    pair come from stage 1's feature cache (augmentation: the cached flip or none, as in stage 1).
    """
    from salkd.data import FrameDataset, FramePairDataset
    from salkd.data.sources import video_names
    from salkd.losses import fastvsod_spatial_loss, fastvsod_temporal_loss
    from salkd.models import read_state_dict

    if fe not in (None, "train", "test"):
        raise ValueError(f"fe must be None, 'train' or 'test', got {fe!r}")
    fc = ctx.cfg["fastvsod"]
    alpha = float(fc["alpha"] if alpha is None else alpha)
    s1 = read_json(Path(stage1_run) / "config.json")
    res = int(s1["res"])
    kw = dict(s1["model"]["kwargs"])
    kw.update({"fusion": fusion, "encoder": fe is not None, "keep_encoder_at_test": fe == "test"})
    tag = _tag(sd, td, fe)
    prefix = "" if kw.get("backbone") == fc["backbone"] else f"{kw.get('backbone')}-"
    if float(kw.get("width", fc["width"])) != float(fc["width"]):   # a head of another width (pretrained_width)
        prefix += f"w{float(kw['width']):g}-"
    if kw.get("backbone_train_stages"):
        prefix += f"ft{kw['backbone_train_stages']}-"
    if kw.get("csnet_prior"):
        prefix += "prior-"
    run = ctx.run_dir("fastvsod_stage2", name or f"{prefix}{tag}-{fusion}-a{alpha:g}")
    iters = fc.get("stage2_max_iters")  # an iteration budget (None: ``fastvsod.stage2_epochs``)
    # CSNet stages fine-tuned in stage 1 go on at their lower learning rate
    scale = {"backbone.": float(fc["pretrained_lr_scale"])} if kw.get("backbone_train_stages") else None
    settings = ctx.settings(epochs=int(fc["stage2_epochs"]), batch_size=int(fc["batch"]), lr=float(fc["lr2"]),
                            optimizer="sgd", momentum=0.95, weight_decay=5e-4, lr_policy="poly",
                            select_metric="metric", max_iters=None if iters is None else int(iters),
                            param_lr=scale)
    config = ctx.provenance({"stage": "fastvsod_stage2", "stage1": ctx.run_ref(stage1_run), "sd": sd, "td": td,
                             "fe": fe, "fusion": fusion, "alpha": alpha, "res": res, **ctx.data_key("vsod"),
                             "profile": ctx.profile})
    # a frozen CSNet backbone (stage 1's) runs once per frame here too: both frames of a pair come from the
    # feature cache that stage 1 built (flip the one augmentation left, as in stage 1)
    use_cache = kw.get("backbone") == "csnet" and bool(kw.get("freeze_backbone")) and bool(fc.get("feature_cache"))
    if use_cache:
        config["feature_cache"] = {"dtype": str(fc["feature_cache_dtype"]), "flip": bool(fc["feature_cache_flip"])}
    if ctx.reusable(run, config, {"name": "fastvsod", "kwargs": kw}, settings):
        return run
    model = ctx.build("fastvsod", **kw)
    state = read_state_dict(Path(stage1_run) / "checkpoint.pt")
    own = model.state_dict()
    loadable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape
                and not k.startswith(("encoder.", "unit3."))}
    model.load_state_dict(loadable, strict=False)
    cache = ctx.cache("vsod", "train", res)
    # stage 2 fine-tunes on videos only: still-image sources (DUTS) served stage 1 (fastvsod Sec. 4.1)
    videos = video_names(ctx.dataset("vsod", "train"))
    if not videos:
        raise ValueError(f"fastvsod stage 2 trains on frame pairs of videos, and the vsod training set "
                         f"{ctx.dataset('vsod', 'train').root} holds still images only; add a video source")
    pairs = td or fe is not None
    if pairs:
        ds: Any = FramePairDataset(cache, label="mask", max_offset=int(fc["max_offset"]), videos=videos,
                                   augment=not use_cache, seed=int(ctx.seed))
    else:
        ds = FrameDataset(cache, label="mask", videos=videos, augment=not use_cache, seed=int(ctx.seed))
    if use_cache:
        from salkd import paths
        from salkd.data.features import CachedFrameDataset, cache_features

        flip = bool(fc["feature_cache_flip"])
        feats = cache_features(cache, model, paths.cache_dir() / "features", dtype=str(fc["feature_cache_dtype"]),
                               flip=flip, progress=ctx.progress)
        ds = CachedFrameDataset(ds, feats, flip=flip, seed=int(ctx.seed))

    def loss_fn(net: Any, b: dict[str, Any]):
        from salkd.data.features import cached_inputs

        cached, cached_next = cached_inputs(b), cached_inputs(b, "next")
        if pairs:
            out = net.forward_train(b["frame"], b["next"], cached=cached, cached_next=cached_next)
        else:
            out = net.forward_train(b["frame"], cached=cached)
        out = {k: v.float() for k, v in out.items()}
        loss = fastvsod_spatial_loss(out, b["label"], alpha=alpha if sd else 0.0)
        if pairs:
            loss = loss + fastvsod_temporal_loss(out, b["label_next"], alpha=alpha if td else 0.0)
        return loss, {}

    fit(model, loss_fn, ds, run, settings, val_fn=val_fn(ctx, "vsod", res), config=config, force=ctx.force,
        desc=f"fastvsod stage 2 {tag}")
    return run


# ---- experiments -------------------------------------------------------------------------------
def run(ctx: Context) -> pd.DataFrame:
    """fastvsod: stage 1 (the baseline BS) and the full model (SD + TD + FE_o, mutual attention); on each
    published backbone (``fastvsod.pretrained_backbones``) for every training seed of the profile."""
    s1 = fastvsod_stage1(ctx)
    full = fastvsod_stage2(ctx, s1)
    run_references(ctx, "vsod")
    rows = [results.row(ctx, "fastvsod_main", "BS (stage 1)", "fastvsod", s1, task="vsod"),
            results.row(ctx, "fastvsod_main", "full", "fastvsod", full, task="vsod")]
    for b in ctx.cfg["fastvsod"].get("pretrained_backbones") or []:  # e.g. CSNet's released weights
        # every training seed of the profile: "full [csnet] beats CSNet alone" is read with the seed noise
        for c in ctx.seeds("fastvsod"):
            s1b = fastvsod_stage1(c, backbone=b)
            fullb = fastvsod_stage2(c, s1b)
            rows += [results.row(c, "fastvsod_main", f"BS (stage 1) [{b}]", "fastvsod", s1b, task="vsod", backbone=b),
                     results.row(c, "fastvsod_main", f"full [{b}]", "fastvsod", fullb, task="vsod", backbone=b)]
    return results.save(ctx, "fastvsod_main", pd.DataFrame(rows))


#: fastvsod Table 3 rows: name -> stage-2 components
TABLE3_VARIANTS = {"BS": dict(sd=False, td=False, fe=None), "+SD": dict(sd=True, td=False, fe=None),
                   "+SD+TD": dict(sd=True, td=True, fe=None), "+SD+FE_o": dict(sd=True, td=False, fe="train"),
                   "+SD+TD+FE_t": dict(sd=True, td=True, fe="test"), "full": dict(sd=True, td=True, fe="train")}


def run_ablations(ctx: Context) -> dict[str, pd.DataFrame]:
    """fastvsod Table 3 (components), Fig. 6 (fusion kinds) and Fig. 7 (alpha): stage-2 runs from the one
    stage-1 checkpoint that the BS row reports, for each of the profile's training seeds (``seeds``)."""
    fastvsod_stage1(ctx.base())   # shared by every seed: made here before any worker starts
    t3, fusion, alpha = [], [], []
    n = ctx.cfg["fastvsod"].get("ablation_seeds")  # fewer seeds for the ablations than for the main rows
    seeds = ctx.seeds("fastvsod")[: int(n)] if n else ctx.seeds("fastvsod")
    workers.train_side_by_side(_ablation_seed, [(c, ()) for c in seeds])  # the profile's ``workers``
    for c in seeds:
        a, b, d = _ablation_seed(c)
        t3, fusion, alpha = t3 + a, fusion + b, alpha + d
    return {"table3": results.save(ctx, "fastvsod_table3", pd.DataFrame(t3)),
            "fusion": results.save(ctx, "fastvsod_fig6", pd.DataFrame(fusion)),
            "alpha": results.save(ctx, "fastvsod_fig7", pd.DataFrame(alpha))}


def _ablation_seed(c: Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """One training seed's Table 3, Fig. 6 and Fig. 7 rows (training the stage-2 runs not complete yet)."""
    fc = c.cfg["fastvsod"]
    s1 = fastvsod_stage1(c.base())
    t3 = [results.row(c, "fastvsod_table3", v, "fastvsod", fastvsod_stage2(c, s1, **kw), task="vsod", seed=c.seed)
          for v, kw in TABLE3_VARIANTS.items()]
    fusion = [results.row(c, "fastvsod_fig6", f, "fastvsod", fastvsod_stage2(c, s1, fusion=f), task="vsod",
                          seed=c.seed) for f in fc["fusions"]]
    alpha = [results.row(c, "fastvsod_fig7", f"alpha={float(a):g}", "fastvsod", fastvsod_stage2(c, s1, alpha=float(a)),
                         task="vsod", alpha=float(a), seed=c.seed) for a in fc["alpha_sweep"]]
    return t3, fusion, alpha


# ---- tables, figures, claims -------------------------------------------------------------------
def _table1(ctx: Any) -> pd.DataFrame | None:
    df = results.load_or_none(ctx, "fastvsod_main")
    if df is None:
        return None
    ours_ds = next((d for d in FASTVSOD_DATASETS if results.is_real(ctx, "vsod", d.split("-")[0])), None)
    rows = []
    for name, per in PAPER["fastvsod_table1"].items():
        r: dict[str, Any] = {"method": name, "source": "paper"}
        for d in FASTVSOD_DATASETS:
            r[f"{d} F"], r[f"{d} MAE"] = per[d]
        r["ours data F"] = r["ours data MAE"] = None
        rows.append(r)
    for v in list(dict.fromkeys(results.overall(df)["variant"].astype(str))):
        r = {"method": f"{v} (ours)", "source": "ours"}
        f = results.summarize(ctx, df, "max_f", variant=v)
        mae = results.summarize(ctx, df, "mae", variant=v)
        for d in FASTVSOD_DATASETS:
            if d == ours_ds:
                r[f"{d} F"], r[f"{d} MAE"] = (f.value if f else None), (mae.value if mae else None)
            else:
                r[f"{d} F"] = r[f"{d} MAE"] = f"n/a ({d} not available)"
        r["ours data F"], r["ours data MAE"] = (f.value if f else None), (mae.value if mae else None)
        rows.append(r)
    out = pd.DataFrame(rows)
    out.attrs["note"] = f"ours data = {results.data_desc(ctx, 'vsod')}; F = max F-measure (beta^2 = 0.3)"
    return out


def _table2(ctx: Any) -> pd.DataFrame | None:
    speed = results.load_or_none(ctx, "speed")
    if speed is None:
        return None
    rows = [{"method": k, "source": "paper (GPU)", "res": 473, "time (s/frame)": v, "FPS": 1.0 / v}
            for k, v in PAPER["fastvsod_table2"].items()]
    for model in [m for m in dict.fromkeys(speed["model"].astype(str)) if m.startswith("fastvsod")]:
        for res in sorted(set(speed.loc[speed["model"].astype(str) == model, "res"].map(results.res_int))):
            sp = results.speed_at(speed, model, res) or {}
            if sp.get("fps"):
                rows.append({"method": f"{model} (ours, deployed)", "source": "ours (CPU)", "res": res,
                             "time (s/frame)": 1.0 / sp["fps"], "FPS": sp["fps"]})
    return pd.DataFrame(rows)


#: stem -> (paper reference, builder ``ctx -> DataFrame | None``, caption)
TABLES = {
    "fastvsod_table1": ("fastvsod Table 1", _table1, "fastvsod Table 1: comparison per dataset"),
    "fastvsod_table2": ("fastvsod Table 2", _table2, "fastvsod Table 2: runtime per frame"),
    "fastvsod_table3": ("fastvsod Table 3", lambda c: common.table_ablation(c, "fastvsod_table3", PAPER["fastvsod_table3"],
                        "vsod", order=list(PAPER["fastvsod_table3"])), "fastvsod Table 3: ablation"),
    "fastvsod_fig6": ("fastvsod Fig. 6", lambda c: common.table_ablation(c, "fastvsod_fig6", PAPER["fastvsod_fig6"], "vsod",
                      order=["add", "concat", "multiply", "attention"]), "fastvsod Fig. 6: inter-frame encoders"),
    "fastvsod_fig7_alpha": ("fastvsod Fig. 7", lambda c: common.table_sweep(c, "fastvsod_fig7", "alpha",
                            PAPER["fastvsod_fig7"], "vsod"), "fastvsod Fig. 7: alpha sweep"),
}


def figures(ctx: Context, tables: dict[str, pd.DataFrame | None]) -> dict[str, Any]:
    """stem -> a function making the figure (None when its table is missing)."""
    from salkd import plots

    def alpha() -> Any:
        t = tables.get("fastvsod_fig7_alpha")
        if t is None:
            return None
        a = _paper_alpha()
        return plots.sweep(t["alpha"], pd.to_numeric(t["maxF"], errors="coerce"),
                           err=pd.to_numeric(t["maxF" + common.ERR], errors="coerce").fillna(0),
                           paper_x=[a], paper_y=[PAPER["fastvsod_fig7"][a][0]], xlabel="alpha", ylabel="max F",
                           mark=a, second=pd.to_numeric(t["MAE"], errors="coerce"), second_label="MAE", bars=True,
                           title="fastvsod Fig. 7: alpha")

    return {
        "fastvsod_fig6": lambda: common.fig_bars(ctx, tables.get("fastvsod_fig6"), "maxF", PAPER["fastvsod_fig6"],
                                                 "fastvsod Fig. 6: inter-frame encoders", second="MAE", ylabel="max F"),
        "fastvsod_table3_bars": lambda: common.fig_bars(ctx, tables.get("fastvsod_table3"), "maxF", PAPER["fastvsod_table3"],
                                                        "fastvsod Table 3: ablation", second="MAE", ylabel="max F"),
        "fastvsod_fig7_alpha": alpha,
    }


def _paper_alpha() -> float:
    """The alpha of the paper's final model (the one Fig. 7 quotes)."""
    return max(PAPER["fastvsod_fig7"], key=lambda k: PAPER["fastvsod_fig7"][k][0])


def prediction_figures(ctx: Context) -> list[tuple[str, str, dict[str, Path], str]]:
    """(stem, task, {label: run}, title) of the figures made from predictions."""
    return [("fastvsod_fig5_qualitative", "vsod",
             results.runs_of(ctx, "fastvsod_main", [{"label": "BS (stage 1)", "variant": "BS (stage 1)"},
                                            {"label": "full", "variant": "full"}]), "fastvsod Fig. 5: saliency maps")]


# the claims live in salkd.papers.fastvsod_claims (re-exported: their old home)
from salkd.papers.fastvsod_claims import ALPHA_WORSE, FIG6_ENCODERS, FUSION_CLAIMS, TABLE3_CLAIMS, claims  # noqa: E402
