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
import salkd.papers.common as common
from salkd.papers.numbers import FASTVSOD_DATASETS, NI_MARGINS, PAPER
from salkd.papers.teachers import run_references
from salkd.runs import read_json
from salkd.train import fit

__all__ = ["fastvsod_stage1", "fastvsod_stage2", "run", "run_ablations", "TABLES", "figures", "claims"]


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


#: fastvsod Table 3 comparisons: (A, B, the claim, "A as good as B" rather than "A beats B")
TABLE3_CLAIMS = [("+SD", "BS", "spatial self-distillation improves the baseline", False),
                 ("full", "BS", "full model (SD+TD+FE_o) beats the baseline", False),
                 ("+SD+TD", "+SD", "temporal distillation improves on SD", False),
                 ("+SD+FE_o", "+SD", "inter-frame encoder improves on SD (+SD+FE_o vs +SD)", False),
                 ("full", "+SD+TD", "inter-frame encoder helps in training (FE_o vs none)", False),
                 ("full", "+SD+TD+FE_t", "inter-frame encoder not needed at test (FE_o as good as FE_t)", True)]
#: fastvsod Fig. 6: the paper's four inter-frame encoders (ADD, Concat + 1x1 conv, Multiply, mutual attention)
FIG6_ENCODERS = ["add", "concat", "multiply", "attention"]
#: fastvsod Fig. 6 comparisons between encoders: (A, B, the claim, "A as good as B")
FUSION_CLAIMS = [("multiply", "add", "Multiply beats ADD", False), ("multiply", "concat", "Multiply beats Concat", False),
                 ("attention", "add", "mutual attention beats ADD", False),
                 ("attention", "concat", "mutual attention beats Concat", False),
                 ("multiply", "attention", "Multiply about as good as mutual attention", True)]
#: fastvsod Fig. 7: the alphas the paper says are worse than its 0.7 ("should not be too small (0.1) and too
#: big (0.9) ... the median (0.5) is also not the best")
ALPHA_WORSE = [0.1, 0.5, 0.9]


def _pv(p: tuple[float, float] | None, q: tuple[float, float] | None, i: int) -> float | None:
    return None if p is None or q is None else p[i]


def _f_and_mae(ctx: Context, ref: str, text: str, df: pd.DataFrame | None, a: dict[str, Any], b: dict[str, Any],
               pa: tuple[float, float] | None, pb: tuple[float, float] | None, experiment: str,
               not_worse: bool = False, paper_value: str | None = None) -> list[dict[str, Any]]:
    """A max-F claim and the same claim on MAE beside it (the paper reports both for every comparison).
    ``pa`` / ``pb``: the paper's (max F, MAE) of each side when it quotes them; ``paper_value`` replaces the
    max-F row's paper value when it does not."""
    from salkd.claims import better_claim

    rows = [better_claim(ctx, "fastvsod", ref, text, df, m, a, b, _pv(pa, pb, i), _pv(pb, pa, i), "vsod", experiment,
                         not_worse=not_worse, ni_margin=NI_MARGINS["fastvsod_as_good"][m] if not_worse else None)
            for i, m in enumerate(("max_f", "mae"))]
    rows[1]["claim"] = text + " (MAE)"
    if paper_value is not None and rows[0]["paper_value"] is None:
        rows[0]["paper_value"] = paper_value
    return rows


def _fusion_claims(ctx: Context, f6: pd.DataFrame | None, f3: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Fig. 6: mutual attention is the best inter-frame encoder (max F and MAE); "all of these operations are
    able to improve the performance" (each encoder, i.e. +SD+TD+FE_o with that fusion, beats +SD+TD of Table
    3, the same model without an encoder, from the same stage 1); Multiply and attention beat ADD and
    Concat, and are about as good as each other."""
    from salkd.claims import best_of_claim, missing_claim, variants

    p6, p3 = PAPER["fastvsod_fig6"], PAPER["fastvsod_table3"]
    rows = []
    for i, m in enumerate(("max_f", "mae")):
        text = "mutual attention is the best inter-frame encoder" + (" (MAE)" if m == "mae" else "")
        pv = f"attention {p6['attention'][i]:.3f}, multiply {p6['multiply'][i]:.3f}"
        if f6 is None or "variant" not in f6.columns:
            rows.append(missing_claim("fastvsod", "Fig. 6", text, m, pv,
                                      f"experiment 'fastvsod_fig6' not run ({results.MAKER['fastvsod_fig6']})"))
            continue
        sums = {v: results.summarize(ctx, f6, m, variant=v) for v in variants(f6)}
        # the paper quotes multiply (one of the rivals) only: its margin over the best rival is at most this gap
        gap = (p6["attention"][i] - p6["multiply"][i]) * (1 if m == "max_f" else -1)
        rows.append(best_of_claim(ctx, "fastvsod", "Fig. 6", text, sums, "attention", m, "vsod", pv, what="encoder",
                                  paper_effect=gap if "multiply" in sums else None))
    both = None
    if f6 is not None and f3 is not None:
        none = results.overall(f3)
        both = pd.concat([results.overall(f6), none[none["variant"].astype(str) == "+SD+TD"]], ignore_index=True)
    for f in list(dict.fromkeys([*FIG6_ENCODERS, *variants(f6)])):
        rows += _f_and_mae(ctx, "Fig. 6", f"the {f} encoder improves on no encoder (+SD+TD)", both, {"variant": f},
                           {"variant": "+SD+TD"}, p6.get(f), p3["+SD+TD"],
                           "fastvsod_table3" if f6 is not None and f3 is None else "fastvsod_fig6",
                           paper_value=f"{f} above +SD+TD ({p3['+SD+TD'][0]:.3f}; {f}'s value not quoted)")
    for a, b, text, nw in FUSION_CLAIMS:
        rows += _f_and_mae(ctx, "Fig. 6", text, f6, {"variant": a}, {"variant": b}, p6.get(a), p6.get(b), "fastvsod_fig6",
                           not_worse=nw, paper_value=f"{a} > {b} (only multiply and attention are quoted)")
    return rows


def _alpha_claims(ctx: Context, f7: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Fig. 7: alpha = 0.7 is the best (max F, MAE), and 0.1, 0.5, 0.9 are each worse than 0.7."""
    from salkd.claims import best_claim

    a = _paper_alpha()
    pf, pmae = PAPER["fastvsod_fig7"][a]
    rows = [best_claim(ctx, "fastvsod", "Fig. 7", f"alpha = {a:g} is the best alpha", f7, "alpha", a, "max_f", "vsod",
                       "fastvsod_fig7", f"best at {a:g} (F {pf:.3f})"),
            best_claim(ctx, "fastvsod", "Fig. 7", f"alpha = {a:g} is the best alpha (MAE)", f7, "alpha", a, "mae", "vsod",
                       "fastvsod_fig7", f"best at {a:g} (MAE {pmae:.3f})")]
    for w in ALPHA_WORSE:
        rows += _f_and_mae(ctx, "Fig. 7", f"alpha = {a:g} beats alpha = {w:g}", f7, {"alpha": a}, {"alpha": w}, None, None,
                           "fastvsod_fig7", paper_value=f"{a:g} ({pf:.3f}) > {w:g} (not quoted)")
    return rows


def claims(ctx: Context) -> list[dict[str, Any]]:
    """fastvsod's claims, each on max F with the same claim on MAE beside it: Table 3 components, full vs
    stage 1, Fig. 7 (alpha), Fig. 6 (encoders), the pretrained-backbone rows, Tables 1-2."""
    from salkd.claims import claim_row
    from salkd.verdicts import NOT_MEASURED

    vs = "vsod"
    fm, f3 = results.load_or_none(ctx, "fastvsod_main", quiet=True), results.load_or_none(ctx, "fastvsod_table3", quiet=True)
    f6, f7 = results.load_or_none(ctx, "fastvsod_fig6", quiet=True), results.load_or_none(ctx, "fastvsod_fig7", quiet=True)
    speed = results.load_or_none(ctx, "speed", quiet=True)
    t3p = PAPER["fastvsod_table3"]
    rows = []
    for a, b, text, nw in TABLE3_CLAIMS:
        pair = _f_and_mae(ctx, "Table 3", text, f3, {"variant": a}, {"variant": b}, t3p[a], t3p[b], "fastvsod_table3",
                          not_worse=nw)
        pair[0]["central"] = (a, b) == ("full", "BS")
        rows += pair
    rows += _f_and_mae(ctx, "Table 1", "full model beats stage 1 (BS)", fm, {"variant": "full"},
                       {"variant": "BS (stage 1)"}, t3p["full"], t3p["BS"], "fastvsod_main")
    rows += _alpha_claims(ctx, f7)
    rows += _fusion_claims(ctx, f6, f3)
    ff = results.summarize(ctx, fm, "max_f", variant="full") if fm is not None else None
    fmae = results.summarize(ctx, fm, "mae", variant="full") if fm is not None else None
    davis = results.is_real(ctx, vs, "davis")
    pf, pmae = PAPER["fastvsod_table1"]["Ours (paper)"]["DAVIS-T"]
    for m, pvl, s in (("max_f", pf, ff), ("mae", pmae, fmae)):
        rows.append(claim_row("fastvsod", "Table 1", f"DAVIS-T MAE {pmae:.3f}" if m == "mae" else f"DAVIS-T max F {pf:.3f}",
                              m, pvl, None if s is None else round(s.value, 3),
                              None if (s is None or not davis) else s.value - pvl, None,
                              results.data_desc(ctx, vs) if s else "—", NOT_MEASURED,
                              "our data is a DAVIS-2016 sample at CPU scale, not the paper's setting" if davis else
                              "DAVIS-T not used here: our number is on other data and not comparable"))
    rows += _pretrained_backbone_claims(ctx, fm)
    fv = None
    if speed is not None:
        for m in ("fastvsod", "fastvsod[backbone=resnet18]"):
            for r in (473, 224, 128):
                fv = fv or (results.speed_at(speed, m, r) or {}).get("fps") and (m, r, results.speed_at(speed, m, r)["fps"])
    t = PAPER["fastvsod_table2"]["Ours (paper)"]
    rows.append(claim_row("fastvsod", "Table 2", f"{t:g} s per frame on a GPU", "s/frame", t,
                          None if not fv else round(1.0 / fv[2], 4), None, None,
                          f"this CPU: {fv[0]} at {fv[1]}" if fv else "—", NOT_MEASURED, "no GPU on this machine; our CPU "
                          "time shown for reference"))
    return rows


def _pretrained_backbone_claims(ctx: Context, fm: pd.DataFrame | None) -> list[dict[str, Any]]:
    """With a published backbone (``[csnet]`` rows): the full model beats its stage 1 (SD + TD + FE help a
    model that has learned saliency) and beats CSNet alone (temporal cues and distillation help a spatial
    model), on the same test frames; each on max F and on MAE."""
    rows = []
    refs = results.load_or_none(ctx, "references_vsod", quiet=True)
    t3p = PAPER["fastvsod_table3"]
    for b in ctx.cfg["fastvsod"].get("pretrained_backbones") or []:
        rows += _f_and_mae(ctx, "Table 3", f"full model beats its stage 1, from a pretrained backbone ({b})", fm,
                           {"variant": f"full [{b}]"}, {"variant": f"BS (stage 1) [{b}]"}, t3p["full"], t3p["BS"],
                           "fastvsod_main")
        ref = f"{b}_x2" if b == "csnet" else b
        both = None
        if fm is not None and refs is not None:
            both = pd.concat([results.overall(fm), results.overall(refs)], ignore_index=True)
        pair = _f_and_mae(ctx, "Sec. 1", f"full model [{b}] beats the published {ref} alone", both,
                          {"variant": f"full [{b}]"}, {"variant": ref}, None, None, "fastvsod_main")
        for r in pair:
            r["paper_value"] = "temporal cues and distillation improve on a spatial model"
        pair[0]["central"] = True
        rows += pair
    return rows
