"""Named profiles: how big each step of the pipeline is.

A profile is a nested dictionary of plain values (so it serializes into every run's
``config.json``). Four are built in:

``smoke``     tiny synthetic data, a few steps; every notebook in well under a minute (CI, tests).
``quick``     synthetic data sized so the whole pipeline runs in about 30 minutes on a 2-core CPU
              (the default of ``make reproduce``).
``real-cpu``  the real sample data in ``../shared/data`` (DAVIS-2016 train -> val for fastvsod, the
              DHF1K sample for skd / uvanet) at CPU-sized resolutions and backbones.
``paper``     the papers' own settings (resolutions, batch sizes, learning rates, ResNet-50), for GPUs
              and the real datasets at user-given paths.

Values quoted from the papers carry their source in a comment. Select with
``get_profile(name)``; override single keys with ``get_profile(name, {"skd.mu": 0.3})`` or
``salkd train ... --set skd.mu=0.3``.
"""
from __future__ import annotations

import copy
import json
import os
from typing import Any, Mapping

__all__ = ["PROFILES", "get_profile", "profile_names", "default_profile", "apply_overrides", "parse_value",
           "check_value"]

_SMOKE: dict[str, Any] = {
    "name": "smoke",
    "seed": 0,
    # training seeds of every compared configuration of the ablation tables and sweeps (a claim's noise
    # includes their spread; with one seed a verdict is at most "consistent")
    "seeds": 1,
    # worker processes (one thread each) that train independent runs side by side: the seeds of an ablation,
    # the teachers of a table (salkd.workers); 1: everything in the notebook's process
    "workers": 1,
    "device": "auto",
    "precision": "fp32",
    # train in channels-last memory layout (NHWC): the same arithmetic in another order, 1.1-1.5x faster
    # training steps of the students on a CPU (salkd.train); bits differ from contiguous (NCHW) training.
    # Off here: the smoke runs' few steps on tiny data are tested for a falling loss, which new bits may break
    "channels_last": False,
    "data": {
        # synthetic datasets: (kind, n_videos, n_frames, size, style); split by video
        "fixation": {"source": "synthetic", "n_videos": 6, "n_frames": 8, "size": [64, 64], "style": "aerial"},
        "vsod": {"source": "synthetic", "n_videos": 6, "n_frames": 8, "size": [64, 64], "style": "ground"},
        "split": {"train": 0.67, "val": 0.33},
    },
    "teacher": {"res": [64, 64], "width": 0.25, "epochs": 2, "batch": 8, "lr": 1e-3,
                "spatial": ["dva"], "temporal": "tsnet",
                # arch -> a salkd run folder or a state-dict file of that teacher: distil from it, no training
                "checkpoints": {}},
    # "unlabeled": video only the teacher labels, added to the students' training frames with mu = 1 (their
    # hard term off; issue 16): a list of sources as data.<task>.source takes (salkd.data.sources); [] = none
    # "main_resolutions": more Table III resolutions for the first teacher only (its ladder above 64)
    "skd": {"res": 32, "resolutions": [32], "main_resolutions": [], "epochs": 4, "st_epochs": 4, "batch": 8,
            "lr": 1e-3,
            "mu": 0.5, "mu_sweep": [0.0, 0.5], "teachers": ["dva"], "unlabeled": [], "unlabeled_control": False},
    "uvanet": {"res": 32, "resolutions": [32], "epochs": 4, "st_epochs": 4, "batch": 8, "lr": 5e-4,
               "mu": 0.5, "teachers": ["dva"], "blocks": ["cares", "mb"], "unlabeled": [], "unlabeled_control": False},
    "fastvsod": {"res": 64, "backbone": "resnet18", "width": 0.25, "stage1_epochs": 2, "stage2_epochs": 1,
                 "batch": 4, "lr1": 1e-3, "lr2": 1e-4, "alpha": 0.7, "alpha_sweep": [0.7],
                 "fusions": ["attention", "add"], "max_offset": 3,
                 # extra rows with a published backbone (["csnet"]: CSNet's weights, frozen) at its own size
                 "pretrained_backbones": [], "pretrained_res": 64, "pretrained_stage1_epochs": 1,
                 # the head's channel width on a published backbone (None: ``width``)
                 "pretrained_width": None,
                 # CSNet's last stages fine-tuned (0: all frozen; BatchNorm always frozen), at this multiple of
                 # the stage's learning rate
                 "pretrained_train_stages": 0, "pretrained_lr_scale": 0.1,
                 # the head refines CSNet's own logits (every output = CSNet's map + a residual that starts at
                 # zero), so a [csnet] row starts exactly where CSNet is (issue 26)
                 "pretrained_prior": False,
                 # the frozen CSNet stages run once per frame and cached on disk (salkd.data.features), as
                 # float16 or float32; augmentation then is a horizontal flip (cached too: twice the one-time
                 # CSNet passes, ~3.5 frames/s on 2 cores at 224) or none
                 "feature_cache": True, "feature_cache_dtype": "float16", "feature_cache_flip": False,
                 # a torchvision-layout ImageNet state_dict for the ResNet backbone (None: from scratch)
                 "pretrained": None,
                 # iteration budgets (optimizer steps, poly schedule over them) replacing the epochs of a
                 # stage when set (fastvsod Sec. 4.1: stage 1 is 40,000 iterations); None: epochs
                 "stage1_max_iters": None, "stage2_max_iters": None},
    # the distillation test (salkd.distill, notebook 07): students learn from the teacher's maps of other video
    # (the corpus) and are scored on every frame of a gaze-labelled video none of them saw; "profile" = the
    # profile's own fixation splits (corpus = train videos, fidelity = val videos, test = test videos)
    "distill": {"teacher": "dva", "teacher_note": "Trained here on the training videos.", "teacher_saw_test": False,
                "student": "skd_st",
                "res": 32, "scarcity_res": 32, "iters": 6, "scarcity_iters": 6, "batch": 8, "lr": 1e-3, "mu": 0.5,
                "seeds": 1, "corpus": "profile", "fidelity": "profile", "test": "profile", "clip": 4, "block": 1,
                "scarcity": {"train": 0.5, "gap": 0}, "k": [0, 2], "ceiling_splits": 2,
                # goals of the test (issue 26): a k = 0 student keeps this share of its teacher's NSS / CC, and
                # its maps reach this CC to the teacher's on held-out video
                "keep_goal": 0.85, "fidelity_goal": 0.85,
                # the VSOD side (salkd.distill.vsod): a fastvsod student on k masked training sequences and the
                # teacher's maps of the rest ("all": every sequence masked, no teacher); "masks" rows: the k alone
                "vsod": {"teacher": "dva", "train": "profile", "test": "profile", "res": 32, "iters": 4, "batch": 4,
                         "optimizer": "adam", "lr": 1e-3, "k": [0, 1, "all"], "arms": ["teacher", "masks"]}},
    "eval": {"max_frames_per_video": 4},
    # smoke checks the benchmark's path, not the machine: eager and ONNX Runtime only (no int8 calibration)
    "bench": {"quick": True, "res": [32, 64], "batch": [1, 16], "models": ["skd_st", "uva_st"], "per_core": False,
              "runtimes": ["eager", "onnx"]},
    # reference rows scored beside the students: published teachers (salkd.models.pretrained) and fixed
    # baselines ("center_prior"), per task
    "references": {"fixation": [], "vsod": []},
}

_QUICK: dict[str, Any] = {
    "name": "quick",
    "seed": 0,
    # 3 training seeds of every configuration the ablation tables and sweeps compare (skd Table IV and Fig. 8,
    # uvanet Tables 2-3 ablations, fastvsod Table 3 and Figs. 6-7): a claim's noise includes their spread
    "seeds": 3,
    # two 1-thread processes do ~2x the work of one 2-thread process on these small nets (salkd.workers)
    "workers": 2,
    "device": "auto",
    # fp32 on purpose, not "auto": bf16 training changes the weights and the scores, and "auto" resolves per
    # machine (bf16 only where oneDNN has native bf16), so the committed figures/ and the real-cpu claims
    # (which inherit this) would depend on the CPU that ran them. "auto" is the paper profile's default;
    # opt in elsewhere with --set precision=auto (env.json records what was used).
    "precision": "fp32",
    # fp32 training steps in channels-last layout, measured on an AMD EPYC (2 threads, batch 32, 64x64):
    # skd_spatial 1.18x, skd_st 1.36x, uva_student 1.38x, uva_st 1.47x, teacher_dva (96x96) 1.32x
    "channels_last": True,
    "data": {
        "fixation": {"source": "synthetic", "n_videos": 40, "n_frames": 18, "size": [128, 128], "style": "aerial"},
        "vsod": {"source": "synthetic", "n_videos": 40, "n_frames": 18, "size": [128, 128], "style": "ground"},
        "split": {"train": 0.7, "val": 0.3},
    },
    # width 0.5 at 96x96: 25-40 s an epoch (DVA, SalNet) and ~11 s (SSNet, TSNet) on 2 cores for 672 frames;
    # the teachers reach test NSS 2.8-4.0 in 3 epochs. width None (each teacher's CPU default) is faster.
    "teacher": {"res": [96, 96], "width": 0.5, "epochs": 3, "batch": 16, "lr": 1e-3,
                "spatial": ["dva", "salnet", "ssnet"], "temporal": "tsnet", "checkpoints": {}},
    # skd: Adam, lr 1e-3, batch 128 (skd Sec. IV-A); mu = 0.5 (skd Sec. IV-C)
    # Sizes below are set from training speeds measured on a 2-core CPU (64x64, fp32):
    # skd_spatial 194, skd_temporal 160, skd_st 102, uva_student 17, uva_st 30 frames/s.
    # Batch 32 instead of 128: 672 training frames at batch 128 are 5 steps an epoch, too few to learn.
    # The ablations (Table IV, mu sweep) run at skd.res = 32 to fit the time budget. Table III's ladder runs
    # 32 and 64 for every teacher and 128 (the synthetic frames' own size: 256 would only upsample them) for DVA,
    # one seed: the 128 runs of all three teachers took 8 of the 13 minutes of 02 on 2 cores.
    "skd": {"res": 32, "resolutions": [32, 64], "main_resolutions": [128], "epochs": 6, "st_epochs": 6, "batch": 32,
            "lr": 1e-3,
            "mu": 0.5, "mu_sweep": [0.0, 0.5, 1.0], "teachers": ["dva", "salnet", "ssnet"], "unlabeled": [],
            "unlabeled_control": False},
    # uvanet: Adam, lr 5e-4, batch 96, from scratch (uvanet Sec. 4.1)
    # batch 32 instead of 96, for the same reason as skd
    "uvanet": {"res": 32, "resolutions": [32, 64], "epochs": 4, "st_epochs": 4, "batch": 32, "lr": 5e-4,
               "mu": 0.5, "teachers": ["dva"], "blocks": ["cares", "mb", "mbse"], "unlabeled": [],
               "unlabeled_control": False},
    # fastvsod: SGD lr 1e-3 / 1e-4, momentum 0.9 / 0.95, poly (1 - iter/max)^0.9, wd 5e-4, batch 8, alpha 0.7
    # lr2 = lr1 here: the backbone is trained from scratch (no ImageNet weights on a CPU run), and one
    # stage-2 epoch at the paper's 1e-4 left the model where stage 1 ended (max-F 0.452 vs 0.502 at 1e-3).
    "fastvsod": {"res": 64, "backbone": "resnet18", "width": 0.5, "stage1_epochs": 4, "stage2_epochs": 1,
                 "batch": 8, "lr1": 1e-3, "lr2": 1e-3, "alpha": 0.7, "alpha_sweep": [0.1, 0.5, 0.7, 0.9],
                 "fusions": ["attention", "add", "concat", "multiply"], "max_offset": 3,
                 "pretrained_backbones": [], "pretrained_res": 224, "pretrained_stage1_epochs": 2,
                 "pretrained_width": None,
                 "pretrained_train_stages": 0, "pretrained_lr_scale": 0.1, "pretrained_prior": False,
                 "feature_cache": True, "feature_cache_dtype": "float16", "feature_cache_flip": False,
                 "pretrained": None, "stage1_max_iters": None, "stage2_max_iters": None},
    # the distillation test on the synthetic videos (salkd.distill): 3 seeds, every budget small
    "distill": {"teacher": "dva", "teacher_note": "Trained here on the training videos.", "teacher_saw_test": False,
                "student": "skd_st",
                "res": 64, "scarcity_res": 32, "iters": 150, "scarcity_iters": 100, "batch": 32, "lr": 1e-3,
                "mu": 0.5, "seeds": 3, "corpus": "profile", "fidelity": "profile", "test": "profile", "clip": 6,
                "block": 1, "scarcity": {"train": 0.7, "gap": 0}, "k": [0, 3, 13], "ceiling_splits": 2,
                "keep_goal": 0.85, "fidelity_goal": 0.85,
                "vsod": {"teacher": "dva", "train": "profile", "test": "profile", "res": 64, "iters": 150, "batch": 8,
                         "optimizer": "adam", "lr": 1e-3, "k": [0, 2, "all"], "arms": ["teacher", "masks"]}},
    "eval": {"max_frames_per_video": None},
    # 32 and 64: the input sizes of the papers' speed claims (skd Table I / V, uvanet Table 1 / 4); with the
    # 128 rung 07 took 270 s on 2 cores, without it 144 s (the paper profile times 32-256)
    "bench": {"quick": True, "res": [32, 64], "batch": [1, 64],
              "models": ["skd_st", "uva_st", "fastvsod[backbone=resnet18]"]},
    # the baselines every table shows: a centred Gaussian and the mean label map of the training frames
    "references": {"fixation": ["center_prior", "train_mean"], "vsod": ["center_prior"]},
}

_REAL_CPU: dict[str, Any] = copy.deepcopy(_QUICK)
# 3 training seeds for every ablation and sweep (fastvsod's: eleven stage-2 runs a seed on the DAVIS frames,
# ~1 min each on 2 cores, two seeds side by side in the workers)
_REAL_CPU.update({"name": "real-cpu", "seeds": 3})
# contiguous (NCHW) training: the runs behind figures/real-cpu were trained so and are reused by a rerun;
# --set channels_last=true trains 1.1-1.5x faster (new runs, slightly different bits)
_REAL_CPU["channels_last"] = False
# shuffled AUC on DHF1K uses the dataset's aggregate "other fixations" map (as TinyHD's metadata ships
# it): the sample is one video, so there are no other videos to pool fixations from
_REAL_CPU["eval"] = {"max_frames_per_video": None,
                     "shuffle_map": "shared:reference/shuffle_maps/dhf1k_shuffledmap.npy"}
_REAL_CPU["data"] = {
    # the fixation papers' rows learn from a teacher-labelled corpus of other video and are scored on all 783
    # frames of DHF1K 002, which none of them trains on (issue 26; salkd.distill.labelled): the splits are the
    # distillation test's (distill.corpus -> train, distill.fidelity -> val, distill.test -> test, in clips of
    # distill.clip x distill.block = 64 frames). The old layout (002 split in time: train on its first 70 %, test
    # on its last 15 %) rewarded memorising that one nearly static video: select it again with
    # --set 'data.fixation={"source": "shared:dhf1k_sample", "split": {"by": "time", "train": 0.7, "gap": 15, "clip": 30}}'
    "fixation": {"source": "teacher-labelled"},
    # DAVIS-2016 (its train/ and val/ folders: val is the test set, validation carved from train by sequence)
    # and the DUTS-TR sample (499 still images, one-frame videos: fastvsod's stage 1 only, fastvsod Sec. 4.1)
    "vsod": {"source": [{"name": "DAVIS", "path": "shared:davis2016"},
                        {"name": "DUTS", "path": "shared:duts_tr_part000", "splits": ["train"]}]},
    "split": {"train": 0.7, "val": 0.3},
}
# Real teachers (issue 16): TinyHD-M (Hu et al., WACV 2023; released weights, trained on DHF1K) is both the
# spatial and the temporal teacher of skd and uvanet: a spatiotemporal net that sees 16-frame clips, its map
# of every frame made once and cached. The students distil it with the papers' losses.
_REAL_CPU["teacher"] = {**_REAL_CPU["teacher"], "spatial": ["tinyhd_m"], "temporal": "tinyhd_m"}
# The KD promise of learning from unlabeled video (issue 16), as its own rows (skd_unlabeled, uva_unlabeled): the
# students also see real clips without gaze data (an aerial vehicle clip, likely AVS1K, and the two TASED-Net
# examples: 320 frames, see its MANIFEST), labelled by TinyHD-M alone (mu = 1 on them). Add a DHF1K training part
# with e.g. --set 'skd.unlabeled=["shared:unlabeled_video", {"name": "DHF1K", "path": "datasets:DHF1K",
# "splits": ["train"]}]' (its labels are then ignored).
_UNLABELED_CLIPS = [{"name": "unlabeled_video", "path": "shared:unlabeled_video",
                     "layout": "<clip>/frames/*.jpg (frames only, no ground truth)"}]
# "unlabeled_control": also the labelled frames alone for as many optimizer steps as the students with the
# unlabeled video take (the unlabeled frames add ~58 % more steps at the same epochs): "more data" vs "more training"
# Table III's ladder at 32, 64 and 128 (one seed; 256 would take ~4x the 128 runs' 2-core time and is left out)
# Table IV and the mu sweep (Fig. 8) at the paper's 64x64 (skd.res): on the 548 DHF1K training frames an skd
# student trains in 12-35 s at 64x64 on 2 cores, so the 3 seeds of the ablations fit the time budget here
_REAL_CPU["skd"] = {**_REAL_CPU["skd"], "res": 64, "resolutions": [32, 64], "main_resolutions": [128],
                    "teachers": ["tinyhd_m"], "seeds": 3,
                    "unlabeled": _UNLABELED_CLIPS, "unlabeled_control": True}
# On the teacher-labelled corpus (data.fixation above) every training label is the teacher's map: mu = 1 (teacher
# only; the hard term would be the same map), no mu sweep (it changes nothing there: the label-scarcity rows of
# the distillation test are where labels and teacher mix), no separate unlabeled-video rows (the clips are in the
# corpus). 2 epochs of the corpus's 2,399 frames (150 optimizer steps at batch 32 a stage; the old rows took 103
# steps a stage on 548 frames), channels-last (new runs anyway; 1.36x faster skd_st steps on the AMD EPYC).
_REAL_CPU["skd"].update({"mu": 1.0, "mu_sweep": [], "unlabeled": [], "unlabeled_control": False, "epochs": 2,
                         "st_epochs": 2, "channels_last": True})
# uvanet's Fig. 6 ablations (and its unlabeled-video rows) at the paper's 64x64 (uvanet.res) as well: its
# student trains at ~3x its 32x32 time there (44 s for 4 epochs of the 548 frames on 2 cores)
_REAL_CPU["uvanet"] = {**_REAL_CPU["uvanet"], "res": 64, "teachers": ["tinyhd_m"], "seeds": 3, "unlabeled_control": True,
                       "unlabeled": copy.deepcopy(_UNLABELED_CLIPS)}
# on the teacher-labelled corpus as skd above: mu = 1, the clips inside the corpus; one epoch of its 2,399 frames
# (75 steps a stage at batch 32, the old rows' 69 on 548 frames): the student trains at ~23 frames/s at 64x64 on
# 2 cores, so Fig. 6's 5 variants x 3 seeds take ~20 min with the 2 workers
_REAL_CPU["uvanet"].update({"mu": 1.0, "unlabeled": [], "unlabeled_control": False, "epochs": 1, "st_epochs": 1,
                            "channels_last": True})
# the rows every student is read against: a fixed centred Gaussian, and CSNet (Gao et al., ECCV 2020,
# trained on DUTS-TR) as the published static SOD model every fastvsod variant must beat
_REAL_CPU["references"] = {"fixation": ["center_prior", "train_mean"], "vsod": ["center_prior", "csnet_x2"]}
# fastvsod also starts from CSNet's released weights (frozen; its own 224x224 input): rows "[csnet]"
# Its head at width 0.25: at 224x224 the width-0.5 head is 1.59 GMACs a frame against CSNet's 0.41 (and trained at
# 7.5 frames/s on 2 cores even with CSNet's features cached); width 0.25 is 0.46 GMACs, 326 k trainable parameters.
# Its head refines CSNet's own map (pretrained_prior): at initialisation its maps are CSNet's, so stage 1 and the
# full model can only be measured as what they add to CSNet (issue 26; the head alone ended below CSNet).
_REAL_CPU["fastvsod"] = {**_REAL_CPU["fastvsod"], "pretrained_backbones": ["csnet"], "pretrained_width": 0.25,
                         "pretrained_prior": True}
# Table 3 / Fig. 6 / Fig. 7 ablate the ResNet-18 model trained from scratch, which stays at the centred Gaussian's
# level on DAVIS val (0.40-0.43 max-F against 0.37): one training seed for them (33 stage-2 runs with 3 seeds took
# ~1 h on 2 cores); their verdicts are then at most "consistent". The [csnet] rows keep the profile's 3 seeds.
_REAL_CPU["fastvsod"]["ablation_seeds"] = 1

# The distillation test (issue 26; salkd.distill, notebook 07): TinyHD-M labels a corpus of other real video (the
# 30 DAVIS-2016 train sequences and the unlabeled clips: 2,399 frames, no gaze), skd's S_st learns from those maps
# alone and is scored on all 783 frames of DHF1K 002 (49 clips of 16 frames; noise blocks of 4 clips = 64 frames).
# The 6 DAVIS val sequences are held out for fidelity. The DUTS still images are left out of this corpus: TinyHD-M
# sees 16-frame clips, so a still costs a whole clip (499 images ~ 8,000 frames of teacher time) and is a repeated
# frame it never saw in training. Label scarcity: k gaze-labelled frames of 002's first 70 %, scored on its last
# 30 % after a 15-frame gap, at 32x32 to fit the CPU budget (the transfer rows run at the papers' 64x64).
# 600 steps at 64x64: 2400 steps (measured, 3 seeds, AMD EPYC) lowered the train loss by half but *lowered* NSS on
# 002 (2.24 vs 2.99) and left the fidelity on held-out DAVIS where it was (CC 0.733 vs 0.739): the student overfits
# the 33-video corpus, so the longer budget buys nothing at 4x the time.
_REAL_CPU["distill"] = {
    "teacher": "tinyhd_m",
    "teacher_note": "Published weights (Hu et al., WACV 2023), trained on DHF1K, which includes the test video 002: "
                    "its score there is optimistic.",
    # the teacher's training set includes the test video: its row says so
    "teacher_saw_test": True,
    "student": "skd_st", "res": 64, "scarcity_res": 32, "iters": 600, "scarcity_iters": 300, "batch": 32,
    "lr": 1e-3, "mu": 0.5, "seeds": 3,
    # channels-last training (1.36x faster skd_st steps on the AMD EPYC; the old real-cpu rows stay contiguous)
    "channels_last": True,
    "corpus": [{"name": "DAVIS", "path": "shared:davis2016/train"}, {"name": "clips", "path": "shared:unlabeled_video"}],
    "fidelity": [{"name": "DAVIS-val", "path": "shared:davis2016/val"}],
    "test": "shared:dhf1k_sample", "clip": 16, "block": 4,
    "scarcity": {"train": 0.7, "gap": 15}, "k": [0, 30, 100, 300, 548], "ceiling_splits": 5,
    "keep_goal": 0.85, "fidelity_goal": 0.85}
# The VSOD side (issue 26 item 5; salkd.distill.vsod): CSNet (x2, released weights, trained on DUTS-TR, never on
# DAVIS) labels the 30 DAVIS-2016 train sequences; a fastvsod student (the profile's ResNet-18 stage-1 network,
# from scratch at 64x64) learns from k of their masks and CSNet's maps of the rest, k in {0, 3, 10, 30}, and is
# scored on the 6 DAVIS val sequences by sequence. Adam (fastvsod's SGD at lr 1e-3 barely leaves the centred
# Gaussian in this budget); the same steps in every row.
_REAL_CPU["distill"]["vsod"] = {"teacher": "csnet_x2", "teacher_note": "published weights (Gao et al., ECCV 2020), "
                                "trained on DUTS-TR: never on DAVIS",
                                "train": "shared:davis2016/train", "test": "shared:davis2016/val",
                                "res": 64, "iters": 250, "batch": 8, "optimizer": "adam", "lr": 1e-3,
                                "k": [0, 3, 10, "all"], "arms": ["teacher", "masks"]}

_PAPER: dict[str, Any] = copy.deepcopy(_QUICK)
# one training seed per configuration (the GPU plan of README is sized for it); --set seeds=3 gives the claims
# their seed noise at three times the ablations' cost
_PAPER.update({"name": "paper", "precision": "auto", "seeds": 1, "workers": 1})
# The papers' training sets at user paths (``datasets:<folder>`` is under $SALKD_DATASETS, default ~/datasets);
# a missing one stops with its name and expected layout. Each source is split by its own rule
# (salkd.data.sources): official folders / lists first; "splits" says which parts of it are used.
_PAPER["data"] = {
    # skd Sec. IV-A, uvanet Sec. 4: AVS1K's own training / validation / test sets
    "fixation": {"source": [
        {"name": "AVS1K", "path": "datasets:AVS1K",
         "layout": "trainSet/, validSet/, testSet/, each Frame/<video>/*.png + Ground/<video>/*.png"}]},
    # fastvsod Sec. 4.1: "The training set of DUT, DAVIS, DAVSOD are used for network training"; DAVIS-T
    # (the 20 val sequences of DAVIS-2016) is the test set, validation is carved from DAVIS train by
    # sequence and joined by DAVSOD's validation set. DUTS images are one-frame videos: stage 1 only.
    "vsod": {"source": [
        {"name": "DUTS-TR", "path": "datasets:DUTS-TR", "splits": ["train"],
         "layout": "DUTS-TR-Image/*.jpg + DUTS-TR-Mask/*.png (or images/ + masks/)"},
        {"name": "DAVIS", "path": "datasets:DAVIS", "splits": ["train", "val", "test"],
         "layout": "DAVIS-2016, JPEGImages/480p/<seq>/*.jpg, Annotations/480p/<seq>/*.png, "
                   "ImageSets/480p/train.txt + val.txt"},
        {"name": "DAVSOD", "path": "datasets:DAVSOD", "splits": ["train", "val"],
         "layout": "'Training Set'/, 'Validation Set'/, 'Test Set'/, each <video>/Imgs/*.png + "
                   "GT_object/*.png"}]},
    "split": {"train": 0.8, "val": 0.2},
}
_PAPER["teacher"].update({"res": [256, 256], "width": 1.0, "epochs": 20, "batch": 32})
_PAPER["skd"].update({"res": 64, "batch": 128, "resolutions": [32, 64, 128, 256], "main_resolutions": [], "epochs": 30,
                      "st_epochs": 30,
                      "mu_sweep": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]})
_PAPER["uvanet"].update({"res": 64, "batch": 96, "resolutions": [32, 64, 96, 128, 256], "epochs": 30, "st_epochs": 30,
                         "teachers": ["dva", "salnet", "ssnet"]})
_PAPER["skd"].update({"mu_sweep": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]})
_PAPER["fastvsod"].update({"stage2_epochs": 10, "alpha_sweep": [0.1, 0.3, 0.5, 0.7, 0.9]})
_PAPER["bench"] = {"quick": False, "res": [32, 64, 96, 128, 256], "batch": [1, 64], "models": None}
_PAPER["fastvsod"].update({"res": 473, "backbone": "resnet50", "width": 1.0, "lr2": 1e-4, "stage1_epochs": 20,
                           "stage2_epochs": 10})
# fastvsod Sec. 4.1: poly (1 - iter/40000)^0.9 at batch 8: stage 1 is 40,000 iterations (stage1_epochs is
# then unused). The sentence follows both stages' learning rates; we read it as stage 1's length and keep
# stage 2 at 10 epochs (--set fastvsod.stage2_max_iters=40000 reads it as both).
_PAPER["fastvsod"].update({"stage1_max_iters": 40000})

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": _SMOKE,
    "quick": _QUICK,
    "real-cpu": _REAL_CPU,
    "paper": _PAPER,
}


def profile_names() -> list[str]:
    """Names of the built-in profiles."""
    return list(PROFILES)


def default_profile() -> str:
    """``$SALKD_PROFILE`` if set (the tests set ``smoke``), else ``quick``."""
    return os.environ.get("SALKD_PROFILE", "quick")


def parse_value(text: str) -> Any:
    """Parse a ``--set`` value: JSON if it parses (numbers, lists, true/false/null), else the string."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text


def apply_overrides(cfg: dict[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a copy of ``cfg`` with dotted keys set, e.g. ``{"skd.mu": 0.3}``.

    An unknown key is an error (a typo must not silently do nothing), except below ``data.*``
    where user datasets may add keys.
    """
    out = copy.deepcopy(cfg)
    for key, value in (overrides or {}).items():
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            if p not in node or not isinstance(node[p], dict):
                raise KeyError(f"unknown config key {key!r}: {p!r} is not a section "
                               f"(sections: {sorted(k for k, v in node.items() if isinstance(v, dict))})")
            node = node[p]
        if parts[-1] not in node and parts[0] != "data":
            raise KeyError(f"unknown config key {key!r}; known keys here: {sorted(node)}")
        new = parse_value(value) if isinstance(value, str) else value
        if parts[0] != "data":
            check_value(key, new, node.get(parts[-1]))
        if parts[-1] == "unlabeled" and new:
            from salkd.data.sources import parse_sources

            parse_sources(new, key)  # a malformed list of unlabeled sources fails here, before any work
        elif parts[-1] == "source" and isinstance(new, (list, dict)):
            from salkd.data.sources import parse_sources

            parse_sources(new, key)  # a malformed source list fails here, before any work
        node[parts[-1]] = new
    return out


#: ranges of keys whose values have a meaning (checked on every override, before any work)
_RANGES: dict[str, tuple[float, float]] = {"mu": (0.0, 1.0), "alpha": (0.0, 1.0), "lr": (0.0, 10.0),
                                           "lr1": (0.0, 10.0), "lr2": (0.0, 10.0), "pretrained_train_stages": (0, 5),
                                           "pretrained_lr_scale": (0.0, 10.0),
                                           "width": (0.0, 4.0), "pretrained_width": (0.0, 4.0)}
_POSITIVE_INTS = {"epochs", "st_epochs", "stage1_epochs", "stage2_epochs", "pretrained_stage1_epochs", "batch",
                  "seeds", "workers", "max_offset", "pretrained_res", "res"}
#: keys naming data sources: a string (path, ``shared:...``, ``"profile"``, ``"teacher-labelled"``), a list of
#: sources or one source dict, interchangeably
_SOURCE_KEYS = {"source", "corpus", "fidelity", "test"}
#: iteration budgets: a positive int (optimizer steps) or null (the stage's epochs)
_ITER_BUDGETS = {"max_iters", "stage1_max_iters", "stage2_max_iters"}


def check_value(key: str, value: Any, current: Any) -> None:
    """Refuse an override whose type differs from the profile's value, or that is out of range (``mu``
    and ``alpha`` in [0, 1], learning rates > 0, epochs / batch / seeds >= 1, iteration budgets a positive
    int or null), naming the key."""
    name = key.split(".")[-1]
    # accepted types per the profile's type (bool is an int in Python, so types are compared exactly)
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,), list: (list,), dict: (dict,)}
    if name in _SOURCE_KEYS and isinstance(current, (str, list, dict)) and isinstance(value, (str, list, dict)):
        pass  # a data source: a path / keyword string, a list of sources or one source dict (salkd.data.sources)
    elif (current is not None and name not in _ITER_BUDGETS and type(current) in kinds
            and type(value) not in kinds[type(current)]):
        raise ValueError(f"--set {key}={value!r}: expected {type(current).__name__} like the profile's "
                         f"{current!r}, got {type(value).__name__}")
    if name in _RANGES and isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = _RANGES[name]
        if not (lo <= value <= hi) or (name.startswith("lr") and value <= 0):
            raise ValueError(f"--set {key}={value!r}: must be in {'(' if name.startswith('lr') else '['}{lo:g}, "
                             f"{hi:g}]")
    if name in _POSITIVE_INTS and isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise ValueError(f"--set {key}={value!r}: must be at least 1")
    if name in _ITER_BUDGETS and value is not None and (type(value) is not int or value < 1):
        raise ValueError(f"--set {key}={value!r}: an iteration budget is a positive int (optimizer steps) "
                         f"or null (use the stage's epochs)")


def get_profile(name: str | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The profile ``name`` (default: :func:`default_profile`) with ``overrides`` applied."""
    name = name or default_profile()
    if name not in PROFILES:
        raise KeyError(f"unknown profile {name!r}; choose one of {profile_names()}")
    return apply_overrides(PROFILES[name], overrides)
