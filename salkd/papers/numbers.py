"""Every figure quoted from the three papers, each with its table, figure or section.

The report, the claims, the benchmark and the notebooks read this module; no paper number is typed
anywhere else.

* skd: J. Li, K. Fu, S. Zhao, S. Ge, *Spatiotemporal Knowledge Distillation for Efficient Estimation
  of Aerial Video Saliency*, IEEE TIP 2019.
* uvanet: K. Fu, P. Shi, Y. Song, S. Ge, X. Lu, J. Li, *Ultrafast Video Attention Prediction with
  Coupled Knowledge Distillation*, AAAI 2020.
* fastvsod: Y. Tang, X. Li, *Fast Video Salient Object Detection via Spatiotemporal Knowledge
  Distillation*.

Fixation rows are dicts over ``auc_judd, sauc, nss, sim, cc`` (the papers' AUC, sAUC, NSS, SIM, CC);
SOD rows are ``(max F, MAE)`` tuples.
"""
from __future__ import annotations

from typing import Any

__all__ = ["PAPER", "SPEED", "SETTINGS", "FASTVSOD_DATASETS", "FIX_KEYS", "NI_MARGINS"]

#: the metric keys of a fixation row, in the papers' column order
FIX_KEYS = ("auc_judd", "sauc", "nss", "sim", "cc")


def _fx(*v: float) -> dict[str, float]:
    return dict(zip(FIX_KEYS, v))


PAPER: dict[str, Any] = {
    # skd Table I (AVS1K): metrics + params (M), memory (MB), GPU FPS, CPU FPS
    "skd_table1": {
        "DVA*": {**_fx(0.864, 0.761, 2.044, 0.544, 0.658), "params_m": 25.07, "mem_mb": 59.01, "gpu_fps": 49, "cpu_fps": 2.5},
        "SalNet*": {**_fx(0.797, 0.769, 1.835, 0.410, 0.593), "params_m": 25.81, "mem_mb": 43.22, "gpu_fps": 28, "cpu_fps": 1.5},
        "STS*": {**_fx(0.804, 0.732, 1.821, 0.472, 0.578), "params_m": 41.25, "mem_mb": 86.94, "gpu_fps": 17, "cpu_fps": 0.9},
        "SKD-DVA-32": {**_fx(0.859, 0.760, 2.040, 0.527, 0.657), "params_m": 0.30, "mem_mb": 0.14, "gpu_fps": 28738, "cpu_fps": 1490.5},
        "SKD-DVA-64": {**_fx(0.867, 0.770, 2.100, 0.534, 0.674), "params_m": 0.30, "mem_mb": 0.58, "gpu_fps": 8522, "cpu_fps": 411.7},
    },
    # skd Table II (SKD-DVA-64 per AVS1K category)
    "skd_table2": {
        "AVS1K-B": _fx(0.858, 0.762, 1.901, 0.535, 0.663), "AVS1K-H": _fx(0.903, 0.795, 2.465, 0.551, 0.719),
        "AVS1K-V": _fx(0.883, 0.804, 2.396, 0.551, 0.728), "AVS1K-O": _fx(0.849, 0.804, 1.934, 0.519, 0.637),
    },
    # skd Table III: (teacher, res) -> metrics
    "skd_table3": {
        ("dva", 256): _fx(0.800, 0.708, 1.624, 0.391, 0.514), ("dva", 128): _fx(0.844, 0.735, 1.860, 0.455, 0.593),
        ("dva", 64): _fx(0.867, 0.770, 2.100, 0.534, 0.674), ("dva", 32): _fx(0.859, 0.760, 2.040, 0.527, 0.657),
        ("salnet", 256): _fx(0.806, 0.713, 1.664, 0.397, 0.527), ("salnet", 128): _fx(0.840, 0.739, 1.899, 0.461, 0.604),
        ("salnet", 64): _fx(0.868, 0.774, 2.108, 0.533, 0.676), ("salnet", 32): _fx(0.859, 0.756, 2.022, 0.524, 0.651),
        ("ssnet", 256): _fx(0.807, 0.712, 1.650, 0.403, 0.523), ("ssnet", 128): _fx(0.839, 0.738, 1.845, 0.454, 0.588),
        ("ssnet", 64): _fx(0.867, 0.774, 2.100, 0.536, 0.674), ("ssnet", 32): _fx(0.858, 0.753, 2.010, 0.528, 0.647),
    },
    # skd Table IV
    "skd_table4": {
        "full": _fx(0.867, 0.770, 2.100, 0.534, 0.674), "Ablation-S": _fx(0.865, 0.769, 2.085, 0.536, 0.669),
        "Ablation-T": _fx(0.866, 0.762, 2.007, 0.506, 0.647), "Ablation-O": _fx(0.845, 0.751, 1.943, 0.489, 0.621),
    },
    # skd Table V: res -> GPU ms, GPU FPS, CPU ms, CPU FPS, memory MB
    "skd_table5": {256: (1.414, 707, 37.828, 26.4, 9.24), 128: (0.381, 2626, 9.675, 103.4, 2.31),
                   64: (0.117, 8522, 2.429, 411.7, 0.58), 32: (0.035, 28738, 0.671, 1490.5, 0.14)},
    # skd Fig. 8: only the text's numbers: NSS 2.100 at mu = 0.5 (> 2.08 for mu in [0, 0.6])
    "skd_mu": {0.5: 2.100},
    # skd Fig. 8, the text around it: "the average NSS is relatively high (greater than 2.08) when mu falls
    # between [0.0, 0.6] ... when mu continues to grow, the performance drops sharply"
    "skd_mu_text": {"flat_range": (0.0, 0.6), "nss_above": 2.08},
    # uvanet Table 1 (AVS1K)
    "uva_table1": {
        "DVA*": {**_fx(0.864, 0.761, 2.044, 0.544, 0.658), "params_m": 25.07, "mem_mb": 59.01, "gpu_fps": 49, "cpu_fps": 2.5},
        "SalNet*": {**_fx(0.797, 0.769, 1.835, 0.410, 0.593), "params_m": 25.81, "mem_mb": 43.22, "gpu_fps": 28, "cpu_fps": 1.5},
        "TSNet*": {**_fx(0.843, 0.719, 1.754, 0.479, 0.561), "params_m": 25.81, "mem_mb": 43.22, "gpu_fps": None, "cpu_fps": None},
        "STS*": {**_fx(0.804, 0.732, 1.821, 0.472, 0.578), "params_m": 41.25, "mem_mb": 86.94, "gpu_fps": 17, "cpu_fps": 0.9},
        "UVA-DVA-32": {**_fx(0.850, 0.740, 1.905, 0.522, 0.615), "params_m": 0.16, "mem_mb": 0.68, "gpu_fps": 10106, "cpu_fps": 404.3},
        "UVA-DVA-64": {**_fx(0.856, 0.748, 1.981, 0.540, 0.635), "params_m": 0.16, "mem_mb": 2.73, "gpu_fps": 2588, "cpu_fps": 101.7},
    },
    # uvanet Table 2 (DHF1K validation set)
    "uva_table2": {
        "OM-CNN": {**_fx(0.856, 0.583, 1.911, 0.256, 0.344), "fps": 30},
        "Two-stream": {**_fx(0.834, 0.581, 1.632, 0.197, 0.325), "fps": 17},
        "ACL": {**_fx(0.890, 0.601, 2.354, 0.315, 0.434), "fps": 40},
        "UVA-Net (paper)": {**_fx(0.833, 0.582, 1.536, 0.241, 0.307), "fps": 2588},
    },
    # uvanet Table 3
    "uva_table3": {
        ("dva", 256): _fx(0.786, 0.680, 1.447, 0.397, 0.454), ("dva", 128): _fx(0.810, 0.698, 1.566, 0.438, 0.498),
        ("dva", 96): _fx(0.827, 0.726, 1.765, 0.483, 0.560), ("dva", 64): _fx(0.856, 0.748, 1.981, 0.540, 0.635),
        ("dva", 32): _fx(0.850, 0.740, 1.905, 0.522, 0.615),
        ("salnet", 256): _fx(0.775, 0.676, 1.423, 0.394, 0.451), ("salnet", 128): _fx(0.807, 0.698, 1.623, 0.451, 0.511),
        ("salnet", 96): _fx(0.843, 0.717, 1.746, 0.484, 0.551), ("salnet", 64): _fx(0.859, 0.751, 1.955, 0.529, 0.626),
        ("salnet", 32): _fx(0.852, 0.739, 1.892, 0.519, 0.611),
        ("ssnet", 256): _fx(0.786, 0.687, 1.485, 0.404, 0.467), ("ssnet", 128): _fx(0.807, 0.703, 1.641, 0.455, 0.517),
        ("ssnet", 96): _fx(0.834, 0.721, 1.788, 0.493, 0.564), ("ssnet", 64): _fx(0.852, 0.744, 1.971, 0.535, 0.627),
        ("ssnet", 32): _fx(0.845, 0.736, 1.894, 0.522, 0.610),
    },
    # uvanet Table 4: res -> GPU ms, GPU FPS, CPU ms, CPU FPS (memory: Fig. 7, only 32 and 64 quoted)
    "uva_table4": {256: (6.602, 151, 134.230, 7.4, None), 128: (1.586, 631, 40.928, 24.4, None),
                   96: (None, 1115, None, 44.5, None), 64: (None, 2588, None, 101.7, 2.73),
                   32: (None, 10106, None, 404.3, 0.68)},
    # uvanet Fig. 6: NSS quoted in the text (the MB+SE+dis value is read from "2.0 % gain ... 1.943")
    # The single branches are listed as "CA-Res+spa+scratch" / "+tmp+scratch" in the paper's list of variants
    # but discussed as "CA-Res+spa+dis" / "CA-Res+tem+dis" (the distilled student's branches, "without
    # spatiotemporal joint optimization"): salkd evaluates the distilled student's branches.
    "uva_fig6": {"MB+scratch": 1.906, "MB+dis": 1.943, "MB+SE+dis": 1.943, "CA-Res+scratch": 1.921,
                 "CA-Res+spa+dis": 1.864, "CA-Res+tmp+dis": 1.783, "CA-Res+dis": 1.981},
    # fastvsod Table 1: dataset -> (F, MAE) for a few methods
    "fastvsod_table1": {
        "SSAV": {"FBMS-T": (0.865, 0.040), "DAVIS-T": (0.861, 0.028), "SegTrack-V2": (0.801, 0.023),
                 "ViSal": (0.939, 0.020), "VOS-T": (0.742, 0.073), "DAVSOD": (0.603, 0.098)},
        "MGA": {"FBMS-T": (0.910, 0.027), "DAVIS-T": (0.902, 0.022), "SegTrack-V2": (0.868, 0.018),
                "ViSal": (0.947, 0.015), "VOS-T": (0.762, 0.066), "DAVSOD": (0.646, 0.073)},
        "PDB": {"FBMS-T": (0.821, 0.064), "DAVIS-T": (0.855, 0.028), "SegTrack-V2": (0.800, 0.024),
                "ViSal": (0.888, 0.032), "VOS-T": (0.742, 0.078), "DAVSOD": (0.572, 0.116)},
        "Ours (paper)": {"FBMS-T": (0.831, 0.055), "DAVIS-T": (0.883, 0.022), "SegTrack-V2": (0.847, 0.025),
                         "ViSal": (0.943, 0.018), "VOS-T": (0.752, 0.071), "DAVSOD": (0.612, 0.084)},
    },
    "fastvsod_table2": {"Ours (paper)": 0.01, "MGA": 0.04, "SSAV": 0.05, "PDB": 0.05, "MBNM": 2.63, "FGRN": 0.09,
                        "DLVS": 0.47, "SCNN": 2.53, "SCOM": 38.8, "MSTM": 0.02, "MB": 0.02},
    "fastvsod_table3": {"BS": (0.842, 0.044), "+SD": (0.861, 0.030), "+SD+TD": (0.869, 0.026),
                        "+SD+FE_o": (0.872, 0.024), "+SD+TD+FE_t": (0.881, 0.024), "full": (0.883, 0.022)},
    # fastvsod Fig. 6: only multiply and attention are quoted in the text
    "fastvsod_fig6": {"multiply": (0.882, 0.023), "attention": (0.883, 0.022)},
    # fastvsod Fig. 7: only alpha = 0.7 is quoted (the final model)
    "fastvsod_fig7": {0.7: (0.883, 0.022)},
}
_T1, _U1, _F3 = PAPER["skd_table1"], PAPER["uva_table1"], PAPER["fastvsod_table3"]
#: fastvsod Table 3: the pairs the paper reads as improvements (A over B)
_F3_GAINS = [("+SD", "BS"), ("+SD+TD", "+SD"), ("+SD+FE_o", "+SD"), ("full", "+SD+TD")]

#: non-inferiority margins of the papers' "keeps / comparable / as good as" claims
#: (:func:`salkd.verdicts.verdict_not_worse`): claim key -> metric -> (margin, kind, source). ``kind``
#: "relative": a fraction of B's score (ours); "absolute": in the metric's units. Each margin is a loss the
#: paper itself calls comparable, or the smallest gain it calls an improvement.
NI_MARGINS: dict[str, dict[str, tuple[float, str, str]]] = {
    "skd_keeps": {"nss": (
        1 - _T1["SKD-DVA-32"]["sim"] / _T1["DVA*"]["sim"], "relative",
        f"skd Sec. IV-B: SKD-DVA-32 'is comparable to' the state of the art; its largest gap to DVA* in Table I "
        f"is SIM {_T1['SKD-DVA-32']['sim']:.3f} vs {_T1['DVA*']['sim']:.3f} "
        f"({_T1['SKD-DVA-32']['sim'] / _T1['DVA*']['sim'] - 1:+.1%})")},
    "uvanet_keeps": {"nss": (
        1 - _U1["UVA-DVA-64"]["nss"] / _U1["DVA*"]["nss"], "relative",
        f"uvanet Sec. 4, comparison with the state of the art: UVA-DVA-64 is 'comparable to the 11 state-of-the-art models' at NSS "
        f"{_U1['UVA-DVA-64']['nss']:.3f} vs DVA* {_U1['DVA*']['nss']:.3f} in Table 1 "
        f"({_U1['UVA-DVA-64']['nss'] / _U1['DVA*']['nss'] - 1:+.1%})")},
    "fastvsod_as_good": {m: (
        min(abs(_F3[a][i] - _F3[b][i]) for a, b in _F3_GAINS), "absolute",
        f"fastvsod Table 3: the smallest {name} gain the paper counts as an improvement "
        f"({min(abs(_F3[a][i] - _F3[b][i]) for a, b in _F3_GAINS):.3f})")
        for i, (m, name) in enumerate((("max_f", "max-F"), ("mae", "MAE")))},
}

FASTVSOD_DATASETS = ["FBMS-T", "DAVIS-T", "SegTrack-V2", "ViSal", "VOS-T", "DAVSOD"]

#: the papers' own deployment figures: (model, res) -> dict. CPU = one core (skd: Table V; uvanet: Table 4,
#: "Intel 3.4GHz"); GPU = 1080Ti (uvanet) / unnamed GPU (skd); memory footprint in MB; fastvsod: 0.01 s/frame
#: on a GPU at its 473x473 input (Table 2).
SPEED: dict[tuple[str, int], dict[str, Any]] = {
    ("skd_st", 256): {"params_m": 0.30, "mem_mb": 9.24, "gpu_fps": 707, "cpu_fps": 26.4},
    ("skd_st", 128): {"params_m": 0.30, "mem_mb": 2.31, "gpu_fps": 2626, "cpu_fps": 103.4},
    ("skd_st", 64): {"params_m": 0.30, "mem_mb": 0.58, "gpu_fps": 8522, "cpu_fps": 411.7},
    ("skd_st", 32): {"params_m": 0.30, "mem_mb": 0.14, "gpu_fps": 28738, "cpu_fps": 1490.5},
    ("uva_st", 256): {"params_m": 0.16, "mem_mb": None, "gpu_fps": 151, "cpu_fps": 7.4},
    ("uva_st", 128): {"params_m": 0.16, "mem_mb": None, "gpu_fps": 631, "cpu_fps": 24.4},
    ("uva_st", 96): {"params_m": 0.16, "mem_mb": None, "gpu_fps": 1115, "cpu_fps": 44.5},
    ("uva_st", 64): {"params_m": 0.16, "mem_mb": 2.73, "gpu_fps": 2588, "cpu_fps": 101.7},
    ("uva_st", 32): {"params_m": 0.16, "mem_mb": 0.68, "gpu_fps": 10106, "cpu_fps": 404.3},
    ("fastvsod", 473): {"params_m": None, "mem_mb": None, "gpu_fps": 100, "cpu_fps": None},
}

#: the papers' training settings per stage, as each training notebook prints them beside the run's
#: (:func:`salkd.nbtools.settings_table`); "not stated" where the paper does not say. skd: Sec. III-C / IV-A
#: ("learning rate and batch size ... 1e-3 and 128", Adam; S_st's first eight layers from the students,
#: fusion subnet truncated normal); uvanet: Sec. 4.1 (S "trained from scratch", lr 5e-4, batch 96, Adam);
#: fastvsod: Sec. 4.1 (ResNet-50 pre-trained on ImageNet, SGD 1e-3 / 1e-4, momentum 0.9 / 0.95, poly
#: (1 - iter/40000)^0.9, weight decay 5e-4, batch 8, random 473x473 crops; trained on DUT, DAVIS, DAVSOD).
SETTINGS: dict[str, dict[str, str]] = {
    "teachers": {"model": "DVA, SalNet, SSNet (spatial); TSNet (temporal)",
                 "pretrained": "yes: published models, fine-tuned on AVS1K", "data": "AVS1K train",
                 "resolution": "not stated (full frames)", "batch": "not stated", "optimizer, lr": "not stated",
                 "epochs": "not stated"},
    "skd_students": {"model": "S_s / S_t: 13-layer SalNet-style students", "pretrained": "no", "data": "AVS1K train",
                     "resolution": "64x64 (Table III: 256, 128, 64, 32)", "batch": "128", "optimizer, lr": "Adam, 1e-3",
                     "epochs": "not stated", "mu": "0.5", "teachers": "DVA (spatial) + TSNet (temporal)"},
    "skd_st": {"model": "S_st: first 8 layers of S_s and S_t + fusion subnet",
               "pretrained": "streams from S_s / S_t, fusion subnet random", "data": "AVS1K train",
               "resolution": "64x64", "batch": "128", "optimizer, lr": "Adam, 1e-3", "epochs": "not stated",
               "loss": "hard loss only (eq. 5)", "seeds": "not stated (Fig. 8: the mean of three tests)"},
    "uva_student": {"model": "S: two-branch CA-Res student", "pretrained": "no (from scratch)", "data": "AVS1K train",
                    "resolution": "64x64 (Table 3: 256, 128, 96, 64, 32)", "batch": "96", "optimizer, lr": "Adam, 5e-4",
                    "epochs": "not stated", "mu": "0.5", "teachers": "DVA (spatial) + TSNet (temporal)"},
    "uva_st": {"model": "S_sp: first 6 blocks of S + fusion subnet", "pretrained": "from S", "data": "AVS1K train",
               "resolution": "64x64", "batch": "not stated", "optimizer, lr": "not stated", "epochs": "not stated",
               "loss": "hard loss only (eq. 8)"},
    "fastvsod_stage1": {"model": "ResNet-50 + ASPP + 2 embedding units", "pretrained": "yes: ImageNet ResNet-50",
                        "data": "DUT + DAVIS + DAVSOD train", "resolution": "473x473 random crops", "batch": "8",
                        "optimizer, lr": "SGD, 1e-3, momentum 0.9, wd 5e-4, poly",
                        "epochs": "poly over 40,000 iterations"},
    "fastvsod_stage2": {"model": "stage 1 + SD + TD + inter-frame encoder (training only)", "pretrained": "stage 1",
                        "data": "DUT + DAVIS + DAVSOD train", "resolution": "473x473 random crops", "batch": "8",
                        "optimizer, lr": "SGD, 1e-4, momentum 0.95, wd 5e-4, poly",
                        "epochs": "poly over 40,000 iterations", "alpha": "0.7"},
}
